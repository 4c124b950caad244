#pragma once
// Cross-tile merge: every nucleus once, none cut at a tile border.
//
// A nucleus belongs to the tile whose core contains its centroid. Because two tiles can estimate a
// border nucleus's centroid on either side of the border (or both outside their cores), every
// detection whose centroid lies within `border_band` of its own core is a candidate; once every tile
// overlapping a candidate is done, it is matched by mask overlap against the other tiles' candidates and
// survives only if it ranks first among its matches: inside its own core first, then farthest from
// its tile's inner edges (least likely truncated), then score, then tile id. The ranking is a total
// order over candidates, so the result does not depend on the order tiles arrive in.
//
// Frame: analysis pixels throughout. Thread-safety: none; one merger per slide, fed by one thread.
// Memory: a tile's candidates are dropped once its 3x3 neighbourhood is final.
#include <cstdint>
#include <map>
#include <unordered_map>
#include <vector>

#include "karyon/core/image.hpp"
#include "karyon/core/nucleus.hpp"
#include "karyon/core/tile.hpp"

namespace karyon::postprocess {

struct MergeOptions {
  double border_band = 12;  // analysis px around the core in which detections stay candidates
  // Two candidates are the same nucleus when their intersection covers this much of the smaller one.
  // Not IoU: a nucleus cut by a tile edge is a sliver of the whole one seen by the neighbour.
  double match_overlap = 0.5;
};

struct Candidate {
  std::int64_t tile_id = 0;
  int index = 0;              // position in the tile's detection list (stable identity)
  core::Mask mask;            // 255 inside, analysis pixels
  std::int64_t mask_x = 0;    // analysis pixel of mask(0, 0)
  std::int64_t mask_y = 0;
  double cx = 0, cy = 0;      // mask centroid, analysis pixels
  float score = 0;
  core::Nucleus nucleus;      // what is emitted if this candidate survives
};

class TileMerger {
 public:
  // `tiles`: the plan's tiles (any subset of a cols x rows grid, ids = row * cols + col).
  TileMerger(const std::vector<core::Tile>& tiles, std::int64_t cols, std::int64_t rows, MergeOptions options = {});

  // Whether a detection of `tile` centred at (cx, cy) can matter at all (else drop it early).
  bool keeps(std::int64_t tile_id, double cx, double cy) const;

  struct Output {
    std::vector<core::Nucleus> nuclei;        // decided and surviving, in candidate order
    std::vector<std::int64_t> final_tiles;    // tiles all of whose candidates are now decided
  };
  // A finished tile and its candidates (only those keeps() accepted). Each tile once.
  // `already_stored`: resume context: its candidates take part in matching but are not emitted
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
  bool ready(const Candidate& c) const;
  bool survives(const Candidate& c) const;
  bool outranks(const Candidate& a, const Candidate& b) const;
  double inner_edge_distance(const Candidate& c) const;

  std::int64_t cols_, rows_;
  MergeOptions options_;
  double band_ = 0;  // border_band, kept clear of the tile edges
  std::vector<core::Tile> tiles_;
  std::unordered_map<std::int64_t, TileState> state_;
};

// Intersection over the smaller mask's area, for two masks placed in the same pixel frame.
double mask_overlap(const core::Mask& a, std::int64_t ax, std::int64_t ay, const core::Mask& b, std::int64_t bx,
                    std::int64_t by);

}  // namespace karyon::postprocess
