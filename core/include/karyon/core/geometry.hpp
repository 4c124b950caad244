#pragma once
// Rectangles that carry their coordinate frame in their type, so that OpenSlide's classic bug
// (level-0 origin, level-k size) cannot be written by accident:
//   Level0Rect    - full-resolution slide pixels (QuPath's and Karyon's output frame);
//   AnalysisRect  - pixels at the analysis resolution (the model's µm/px);
// Frames convert only through explicit scale factors.
#include <algorithm>
#include <cstdint>

namespace karyon::core {

template <typename Tag>
struct Rect {
  std::int64_t x = 0;
  std::int64_t y = 0;
  std::int64_t width = 0;
  std::int64_t height = 0;

  std::int64_t right() const { return x + width; }    // exclusive
  std::int64_t bottom() const { return y + height; }  // exclusive
  bool empty() const { return width <= 0 || height <= 0; }
  std::int64_t area() const { return empty() ? 0 : width * height; }
  bool contains(std::int64_t px, std::int64_t py) const {
    return px >= x && px < right() && py >= y && py < bottom();
  }
  bool contains(const Rect& o) const {
    return o.x >= x && o.y >= y && o.right() <= right() && o.bottom() <= bottom();
  }
  Rect intersect(const Rect& o) const {
    const std::int64_t nx = std::max(x, o.x), ny = std::max(y, o.y);
    const std::int64_t nr = std::min(right(), o.right()), nb = std::min(bottom(), o.bottom());
    if (nr <= nx || nb <= ny) return Rect{nx, ny, 0, 0};
    return Rect{nx, ny, nr - nx, nb - ny};
  }
  bool intersects(const Rect& o) const { return !intersect(o).empty(); }
  bool operator==(const Rect& o) const {
    return x == o.x && y == o.y && width == o.width && height == o.height;
  }
};

struct Level0Frame {};
struct AnalysisFrame {};
using Level0Rect = Rect<Level0Frame>;
using AnalysisRect = Rect<AnalysisFrame>;

}  // namespace karyon::core
