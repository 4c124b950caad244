#pragma once
// Plain pixel buffers shared by every module. No library types here (no cv::Mat, no QImage,
// no torch::Tensor): modules convert at their own boundary.
#include <cstddef>
#include <cstdint>
#include <vector>

namespace karyon::core {

// 8-bit RGB, interleaved, row-major, no padding: pixel (x, y) channel c is at (y*width + x)*3 + c.
struct RgbImage {
  int width = 0;
  int height = 0;
  std::vector<std::uint8_t> pixels;

  RgbImage() = default;
  RgbImage(int w, int h) { resize(w, h); }
  // Keeps the allocation when shrinking, so recycled buffers do not reallocate.
  void resize(int w, int h) {
    width = w;
    height = h;
    pixels.resize(static_cast<std::size_t>(w) * static_cast<std::size_t>(h) * 3);
  }
  bool empty() const { return width <= 0 || height <= 0; }
  std::uint8_t* row(int y) { return pixels.data() + static_cast<std::size_t>(y) * width * 3; }
  const std::uint8_t* row(int y) const { return pixels.data() + static_cast<std::size_t>(y) * width * 3; }
};

// 8-bit single-channel mask (0 or 255), same layout as RgbImage without channels.
struct Mask {
  int width = 0;
  int height = 0;
  std::vector<std::uint8_t> pixels;

  Mask() = default;
  Mask(int w, int h, std::uint8_t fill = 0)
      : width(w), height(h), pixels(static_cast<std::size_t>(w) * static_cast<std::size_t>(h), fill) {}
  std::uint8_t at(int x, int y) const { return pixels[static_cast<std::size_t>(y) * width + x]; }
  std::uint8_t& at(int x, int y) { return pixels[static_cast<std::size_t>(y) * width + x]; }
};

}  // namespace karyon::core
