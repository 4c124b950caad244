#include "karyon/postprocess/review_labels.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>

namespace karyon::postprocess {

namespace {
using core::ReviewState;

constexpr ReviewState kNamedStates[] = {ReviewState::Accepted, ReviewState::Rejected, ReviewState::Drawn,
                                        ReviewState::Deleted};
constexpr std::string_view kSeparator = ": ";  // QuPath's base/derived class separator

bool equals_ignoring_case(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

// HSV (h in degrees, s and v in 0..1) to 0..255 RGB.
Rgb from_hsv(int h, double s, double v) {
  const double c = v * s;
  const double hp = (h % 360) / 60.0;
  const double x = c * (1 - std::abs(std::fmod(hp, 2.0) - 1));
  double r = 0, g = 0, b = 0;
  switch (static_cast<int>(hp)) {
    case 0: r = c, g = x; break;
    case 1: r = x, g = c; break;
    case 2: g = c, b = x; break;
    case 3: g = x, b = c; break;
    case 4: r = x, b = c; break;
    default: r = c, b = x; break;
  }
  const double m = v - c;
  auto to8 = [m](double u) { return static_cast<int>(std::lround((u + m) * 255)); };
  return {to8(r), to8(g), to8(b)};
}
}  // namespace

std::uint32_t stable_hash(std::string_view text) {
  std::uint32_t h = 2166136261u;
  for (const char c : text) h = (h ^ static_cast<unsigned char>(c)) * 16777619u;
  return h;
}

Rgb class_colour(std::string_view name) {
  // Cyan for the default class: it reads on both haematoxylin purple and eosin pink.
  if (equals_ignoring_case(name, "Nucleus")) return {0, 220, 255};
  return from_hsv(static_cast<int>(stable_hash(name) % 360), 230.0 / 255, 1.0);
}

Rgb state_colour(ReviewState state) {
  switch (state) {
    case ReviewState::Unreviewed: return {0xF0, 0xE4, 0x42};  // yellow
    case ReviewState::Accepted: return {0x56, 0xB4, 0xE9};    // sky blue
    case ReviewState::Rejected: return {0xD5, 0x5E, 0x00};    // vermillion
    case ReviewState::Deleted: return {0x99, 0x99, 0x99};     // grey
    case ReviewState::Drawn: return {0x00, 0x72, 0xB2};       // blue
  }
  return {0xF0, 0xE4, 0x42};
}

std::string_view qupath_state_name(ReviewState state) {
  switch (state) {
    case ReviewState::Unreviewed: return {};
    case ReviewState::Accepted: return "Accepted";
    case ReviewState::Rejected: return "Rejected";
    case ReviewState::Deleted: return "Deleted";
    case ReviewState::Drawn: return "Drawn";
  }
  return {};
}

std::string qupath_classification(std::string_view class_name, ReviewState state) {
  std::string out(class_name);
  if (const auto sub = qupath_state_name(state); !sub.empty()) {
    out += kSeparator;
    out += sub;
  }
  return out;
}

ParsedClassification parse_qupath_classification(std::string_view name) {
  const auto at = name.rfind(kSeparator);
  if (at != std::string_view::npos && at > 0) {
    const std::string_view sub = name.substr(at + kSeparator.size());
    for (const ReviewState s : kNamedStates)
      if (sub == qupath_state_name(s)) return {std::string(name.substr(0, at)), s};
  }
  return {std::string(name), std::nullopt};
}

}  // namespace karyon::postprocess
