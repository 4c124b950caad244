#include "karyon/postprocess/nucleus_statistics.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <set>
#include <utility>

#include "karyon/core/errors.hpp"

namespace karyon::postprocess {

const std::vector<MeasurementColumn>& measurement_columns() {
  static const std::vector<MeasurementColumn> columns = {
      {"Area µm^2", &core::Measurements::area_um2},
      {"Perimeter µm", &core::Measurements::perimeter_um},
      {"Circularity", &core::Measurements::circularity},
      {"Solidity", &core::Measurements::solidity},
      {"Eccentricity", &core::Measurements::eccentricity},
      {"Major axis µm", &core::Measurements::major_axis_um},
      {"Minor axis µm", &core::Measurements::minor_axis_um},
      {"Hematoxylin OD mean", &core::Measurements::hematoxylin_od},
      {"Eosin OD mean", &core::Measurements::eosin_od},
  };
  return columns;
}

std::int64_t ClassStateCounts::total() const { return std::accumulate(per_state.begin(), per_state.end(), std::int64_t{0}); }

void ClassStateCounts::add(const std::string& class_name, core::ReviewState state, std::int64_t delta) {
  const int s = static_cast<int>(state);
  per_state[s] = std::max<std::int64_t>(0, per_state[s] + delta);
  auto& c = per_class[class_name];
  c[s] = std::max<std::int64_t>(0, c[s] + delta);
  if (std::all_of(c.begin(), c.end(), [](std::int64_t v) { return v == 0; })) per_class.erase(class_name);
}

ClassStateCounts count_by_class_and_state(const ResultStore& store) {
  ClassStateCounts out;
  store.for_each([&](const core::Nucleus& n) { out.add(n.class_name, n.state); }, true);
  return out;
}

std::int64_t Histogram::total() const { return std::accumulate(counts.begin(), counts.end(), std::int64_t{0}); }

Histogram make_histogram(const std::vector<double>& values, int bins) {
  if (bins < 1) throw core::InvalidArgument("histogram: bins must be at least 1, got " + std::to_string(bins));
  Histogram h;
  h.counts.assign(static_cast<std::size_t>(bins), 0);
  bool any = false;
  for (const double v : values) {
    if (!std::isfinite(v)) continue;
    h.lo = any ? std::min(h.lo, v) : v;
    h.hi = any ? std::max(h.hi, v) : v;
    any = true;
  }
  if (any && h.hi == h.lo) h.lo -= 0.5, h.hi += 0.5;
  const double width = h.bin_width();
  for (const double v : values) {
    if (!std::isfinite(v)) {
      ++h.skipped;
      continue;
    }
    const auto i = static_cast<std::size_t>(std::clamp((v - h.lo) / width, 0.0, static_cast<double>(bins - 1)));
    ++h.counts[i];
  }
  return h;
}

const std::vector<std::string>& standard_classes() {
  static const std::vector<std::string> classes = {"Nucleus", "Tumor", "Lymphocyte", "Stroma", "Other"};
  return classes;
}

ReviewOverview review_overview(const ResultStore& store) {
  ReviewOverview r;
  std::vector<std::pair<float, std::int64_t>> unreviewed;
  std::set<std::string> classes(standard_classes().begin(), standard_classes().end());
  store.for_each(
      [&](const core::Nucleus& n) {
        ++r.counts[static_cast<int>(n.state)];
        classes.insert(n.class_name);
        if (n.state == core::ReviewState::Unreviewed) unreviewed.emplace_back(n.score, n.id);
      },
      true);
  std::sort(unreviewed.begin(), unreviewed.end());  // same order on every scan
  r.queue.reserve(unreviewed.size());
  for (const auto& u : unreviewed) r.queue.push_back(u.second);
  r.classes.assign(classes.begin(), classes.end());
  return r;
}

}  // namespace karyon::postprocess
