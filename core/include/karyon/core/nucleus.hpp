#pragma once
// A nucleus as Karyon stores and exports it: polygon in LEVEL-0 pixels (QuPath's convention),
// measurements in µm, the detection's score and class, and its review state.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace karyon::core {

struct Point {
  double x = 0;
  double y = 0;
  bool operator==(const Point&) const = default;
};

// Largest |x| or |y| of a polygon read from a file, level-0 px: the largest slide side Karyon opens
// (tiling::kMaxSlideDimension). Anything beyond is a damaged file, and pixel arithmetic would overflow.
inline constexpr double kMaxCoordinate = 1e7;

// Outer ring then holes; rings are open (first point not repeated), counter-clockwise order is not
// guaranteed (exporters close and orient as their format wants).
struct Polygon {
  std::vector<Point> outer;
  std::vector<std::vector<Point>> holes;
};

struct BoundingBox {  // level-0 pixels, inclusive-exclusive like Rect
  double x0 = 0, y0 = 0, x1 = 0, y1 = 0;
};

struct Measurements {
  double area_um2 = 0;
  double perimeter_um = 0;
  double circularity = 0;      // 4πA/P², 1 for a disc
  double solidity = 0;         // area / convex hull area
  double eccentricity = 0;     // of the ellipse with the same second moments, 0 for a disc
  double major_axis_um = 0;
  double minor_axis_um = 0;
  double hematoxylin_od = 0;   // mean optical density of the haematoxylin channel (colour deconvolution)
  double eosin_od = 0;
};

enum class ReviewState { Unreviewed, Accepted, Rejected, Deleted, Drawn };
const char* to_string(ReviewState s);

struct Nucleus {
  std::int64_t id = 0;         // store row id (0 until stored)
  std::string uuid;            // stable identity for GeoJSON / QuPath
  std::int64_t tile_id = -1;   // tile that produced it (-1: drawn or imported)
  Polygon polygon;
  BoundingBox bbox;
  Point centroid;              // level-0 pixels
  float score = 0;
  std::string class_name = "Nucleus";
  Measurements measurements;
  ReviewState state = ReviewState::Unreviewed;
};

inline const char* to_string(ReviewState s) {
  switch (s) {
    case ReviewState::Unreviewed: return "unreviewed";
    case ReviewState::Accepted: return "accepted";
    case ReviewState::Rejected: return "rejected";
    case ReviewState::Deleted: return "deleted";
    case ReviewState::Drawn: return "drawn";
  }
  return "unreviewed";
}

}  // namespace karyon::core
