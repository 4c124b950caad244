#pragma once
// How a nucleus's class and review state are named and coloured, in QuPath and in the app alike.
//
// QuPath convention used for exports (GeoJSON "classification"): a reviewed nucleus gets QuPath's
// *derived class* "<class>: <State>" (QuPath splits a class name at ": " into a base class and a
// sub-class, as in its own "Tumor: Positive"), so that QuPath's class list, its "Select objects by
// classification" and its measurement table filter accepted, rejected and drawn nuclei:
//   unreviewed detection  "Nucleus"              (what the command line writes; no review yet)
//   accepted              "Nucleus: Accepted"
//   rejected              "Nucleus: Rejected"    (exported only when asked; left out by default)
//   drawn by a reviewer   "Nucleus: Drawn"
//   reclassified          "<new class>: Accepted" (or ": Drawn", ...), with the Feature's "name"
//                         "Reclassified from <old class>" and the measurement "Reclassified" = 1
// Deleted nuclei are never exported. The derived class's colour is the state's (the app's outline
// colours), the base class's is class_colour().
//
// Colours are the same in every build and on every machine (FNV-1a of the UTF-8 name, not
// std::hash, which differs between standard libraries and may be seeded). Thread-safe, no state.
#include <array>
#include <optional>
#include <string>
#include <string_view>

#include "karyon/core/nucleus.hpp"

namespace karyon::postprocess {

using Rgb = std::array<int, 3>;  // 0..255 each

// A stable colour per class name: "Nucleus" (any case) is cyan; others get a hue from the name.
Rgb class_colour(std::string_view class_name);
// Outline colour of a review state: Okabe & Ito's colour-blind-safe palette (yellow, sky blue,
// vermillion, grey, blue for unreviewed, accepted, rejected, deleted, drawn).
Rgb state_colour(core::ReviewState state);
// 32-bit FNV-1a of the bytes of `text`.
std::uint32_t stable_hash(std::string_view text);

// "Accepted", "Rejected", "Drawn", "Deleted" for the QuPath sub-class; empty for unreviewed.
std::string_view qupath_state_name(core::ReviewState state);
// The QuPath classification name of a nucleus of class `class_name` in review state `state`.
std::string qupath_classification(std::string_view class_name, core::ReviewState state);
struct ParsedClassification {
  std::string class_name;                  // the base class ("Nucleus" for "Nucleus: Accepted")
  std::optional<core::ReviewState> state;  // set when the name ends in one of our state sub-classes
};
// Inverse of qupath_classification(); other derived classes ("Tumor: Positive") are kept whole.
ParsedClassification parse_qupath_classification(std::string_view name);

}  // namespace karyon::postprocess
