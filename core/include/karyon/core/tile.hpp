#pragma once
// A tile of a tile plan: what the model sees (rect) and what the tile owns (core). Shared by tiling
// (which plans), postprocess (which merges across tiles) and the pipeline.
#include <cstdint>

#include "karyon/core/geometry.hpp"

namespace karyon::core {

struct Tile {
  std::int64_t id = 0;  // row * cols + col of its plan: stable for a given plan geometry
  std::int64_t col = 0;
  std::int64_t row = 0;
  AnalysisRect rect;    // what is read and given to the model (tile_size square)
  AnalysisRect core;    // what this tile owns; the cores of a plan partition its extent
};

}  // namespace karyon::core
