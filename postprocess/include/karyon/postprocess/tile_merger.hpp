#pragma once
// Cross-tile merge and overlap resolution: every nucleus once, none cut at a tile border, no two
// sharing pixels.
//
// A detection stays a candidate when its centroid lies within `border_band` of its own tile's core
// (the part of the slide the tile owns). One rule, the same inside a tile and across tile borders,
// then decides who owns a pixel claimed by several candidates: the candidate that ranks first among
// those covering it, ranking by (centroid inside its own tile's core, score, lower tile id, lower
// index). A candidate keeps the pixels it owns and survives only if that is at least
// `min_kept_fraction` of its mask; so a low-score fragment inside a nucleus, a second view of a
// nucleus from the neighbouring tile (its centroid outside that tile's core) and heavy overlaps
// disappear, and survivors never overlap. Ownership of a pixel looks at every candidate covering it,
// survivor or not, so each decision depends only on the candidates overlapping it: the result is the
// same whatever order tiles arrive in (a pixel won by a candidate that is then dropped stays with
// nobody; rare, and the price of that locality).
//
// Frames: cores and centroids (cx, cy) in analysis pixels; masks in a "mask frame" of
// `mask_scale_x/y` mask pixels per analysis pixel (the slide's level 0 in the pipeline).
// Thread-safety: none; one merger per slide, fed by one thread.
// Memory: a tile's candidates are dropped once its 3x3 neighbourhood is final.
#include <cstdint>
#include <unordered_map>
#include <vector>

#include "karyon/core/geometry.hpp"
#include "karyon/core/image.hpp"
#include "karyon/core/tile.hpp"

namespace karyon::postprocess {

struct MergeOptions {
  double border_band = 12;       // analysis px around the core in which detections stay candidates
  double min_kept_fraction = 0.5;  // a candidate left with less of its own mask than this is dropped
  double mask_scale_x = 1;       // mask-frame pixels per analysis pixel
  double mask_scale_y = 1;
};

struct Candidate {
  std::int64_t tile_id = 0;
  int index = 0;                // position in the tile's detection list (stable identity)
  core::Mask mask;              // 255 inside, mask-frame pixels
  std::int64_t mask_x = 0;      // mask-frame pixel of mask(0, 0)
  std::int64_t mask_y = 0;
  double cx = 0, cy = 0;        // centroid, analysis pixels
  float score = 0;
  int label = 0;                // model class index
  core::RgbImage pixels;        // analysis pixels under the detection (for its measurements)
  std::int64_t pixels_x = 0;    // analysis pixel of pixels(0, 0)
  std::int64_t pixels_y = 0;
  std::int64_t area = 0;        // pixels inside `mask` (set by the merger)
};

class TileMerger {
 public:
  // `tiles`: the plan's tiles (any subset of a cols x rows grid, ids = row * cols + col).
  TileMerger(const std::vector<core::Tile>& tiles, std::int64_t cols, std::int64_t rows, MergeOptions options = {});
  TileMerger(const TileMerger&) = delete;  // holds pointers into its own tile list
  TileMerger& operator=(const TileMerger&) = delete;

  // Whether a detection of `tile` centred at (cx, cy) can matter at all (else drop it early).
  bool keeps(std::int64_t tile_id, double cx, double cy) const;

  struct Output {
    std::vector<Candidate> nuclei;            // decided and surviving, masks cut to the pixels they own
    std::vector<std::int64_t> final_tiles;    // tiles all of whose candidates are now decided
  };
  // A finished tile and its candidates (only those keeps() accepted). Each tile once.
  // `already_stored`: resume context: its candidates take part in the decisions but are not emitted
  // again, and the tile is not reported final again.
  Output add_tile(std::int64_t tile_id, std::vector<Candidate> candidates, bool already_stored = false);

  std::size_t held_candidates() const;  // for tests and memory checks

 private:
  struct TileState {
    const core::Tile* tile = nullptr;
    bool done = false, final = false, context = false;
    std::vector<Candidate> candidates;
    std::vector<bool> decided;
  };
  std::vector<std::int64_t> neighbours(std::int64_t tile_id) const;  // 3x3 incl. itself, planned only
  core::Level0Rect mask_frame_rect(const core::AnalysisRect& r) const;
  bool ready(const Candidate& c) const;
  // The pixels of `c` that no higher-ranked overlapping candidate claims.
  core::Mask owned_pixels(const Candidate& c) const;
  bool outranks(const Candidate& a, const Candidate& b) const;
  bool inside_own_core(const Candidate& c) const;

  std::int64_t cols_, rows_;
  MergeOptions options_;
  double band_ = 0;  // border_band, kept clear of the tile edges
  std::vector<core::Tile> tiles_;
  std::unordered_map<std::int64_t, TileState> state_;
};

}  // namespace karyon::postprocess
