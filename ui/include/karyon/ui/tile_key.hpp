#pragma once
// Identity of one display tile: a square of SlideTileSource::tileSize() pixels AT ITS PYRAMID LEVEL
// (not level-0 pixels), addressed by column and row in that level's grid.
#include <cstddef>
#include <functional>
#include <tuple>

namespace karyon::ui {

struct TileKey {
  int level = 0;
  int col = 0;
  int row = 0;

  bool operator==(const TileKey& o) const { return level == o.level && col == o.col && row == o.row; }
  bool operator<(const TileKey& o) const {
    return std::tie(level, row, col) < std::tie(o.level, o.row, o.col);
  }
};

struct TileKeyHash {
  std::size_t operator()(const TileKey& k) const noexcept {
    // Levels < 64 and grids < 2^28 tiles per side cover any slide Karyon accepts (10^7 px / 512).
    const std::size_t h = (static_cast<std::size_t>(k.level) << 58) ^
                          (static_cast<std::size_t>(static_cast<unsigned>(k.row)) << 29) ^
                          static_cast<std::size_t>(static_cast<unsigned>(k.col));
    return std::hash<std::size_t>{}(h);
  }
};

}  // namespace karyon::ui
