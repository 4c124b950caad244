#pragma once
// Review statistics of a slide's nuclei, for the app's measurement table and any script or CLI:
// the measurement columns (QuPath's names, as in the GeoJSON and CSV exports), counts per class
// and review state, and a histogram of one measurement. Plain functions on plain data; no store
// access except count_by_class_and_state(const ResultStore&), which streams it.
#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "karyon/core/nucleus.hpp"
#include "karyon/postprocess/result_store.hpp"

namespace karyon::postprocess {

inline constexpr int kReviewStateCount = 5;  // core::ReviewState values

// One measurement: its QuPath name ("Area µm^2", ...) and where it is in core::Measurements.
struct MeasurementColumn {
  const char* name;
  double core::Measurements::*member;
};
// Every measurement of a nucleus, in the order the exports write them.
const std::vector<MeasurementColumn>& measurement_columns();

using StateCounts = std::array<std::int64_t, kReviewStateCount>;  // indexed by core::ReviewState

struct ClassStateCounts {
  std::map<std::string, StateCounts> per_class;  // class name → counts per state (sorted by name)
  StateCounts per_state{};
  std::int64_t total() const;
  // Adds `delta` (±1) nuclei of `class_name` in `state`; a class whose counts reach 0 is dropped.
  void add(const std::string& class_name, core::ReviewState state, std::int64_t delta = 1);
};
// Every nucleus of the store, deleted ones included (their row says how many).
ClassStateCounts count_by_class_and_state(const ResultStore& store);

// Equal-width bins from the smallest to the largest finite value (the largest falls in the last
// bin); non-finite values are counted in `skipped`. All values equal: one unit-wide range centred
// on them. No values: `counts` all 0, lo = hi = 0.
struct Histogram {
  double lo = 0, hi = 0;
  std::vector<std::int64_t> counts;
  std::int64_t skipped = 0;
  double bin_width() const { return counts.empty() ? 0 : (hi - lo) / static_cast<double>(counts.size()); }
  std::int64_t total() const;
};
// Throws core::InvalidArgument when bins < 1.
Histogram make_histogram(const std::vector<double>& values, int bins);

// The classes a reviewer can choose from before any store adds its own (Nucleus, Tumor, Lymphocyte, ...).
const std::vector<std::string>& standard_classes();

// What a review starts from, in one pass over the store (deleted nuclei included in the counts).
struct ReviewOverview {
  StateCounts counts{};              // per core::ReviewState
  std::vector<std::int64_t> queue;   // unreviewed nuclei, least certain (lowest score) first; id breaks ties
  std::vector<std::string> classes;  // standard_classes() and every class in the store, sorted
};
ReviewOverview review_overview(const ResultStore& store);

}  // namespace karyon::postprocess
