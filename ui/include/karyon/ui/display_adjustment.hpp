#pragma once
// Brightness, contrast and gamma of the slide as displayed (like QuPath's Brightness & Contrast):
// a 256-entry lookup table applied to the painted pixels of the slide view only. Tiles, the
// analysis and the measurements never see it (the engine reads the slide itself).
//
// For a channel value v in [0, 1]: v' = clamp((v - 0.5) * contrast + 0.5 + brightness, 0, 1),
// shown as v'^(1 / gamma) — gamma > 1 lightens the mid-tones, < 1 darkens them.
#include <QImage>
#include <array>
#include <cstdint>

namespace karyon::ui {

struct DisplayAdjustment {
  static constexpr double kMinContrast = 0.2, kMaxContrast = 5.0;
  static constexpr double kMinGamma = 0.2, kMaxGamma = 5.0;

  double brightness = 0;  // -1..1, added
  double contrast = 1;    // kMinContrast..kMaxContrast, about mid-grey
  double gamma = 1;       // kMinGamma..kMaxGamma

  bool isIdentity() const { return brightness == 0 && contrast == 1 && gamma == 1; }
  bool operator==(const DisplayAdjustment&) const = default;
  // The same adjustment with every value brought into its range.
  DisplayAdjustment clamped() const;
  std::array<std::uint8_t, 256> lookupTable() const;
  // Applies the table to the red, green and blue of an RGB32 / ARGB32 image, in place.
  void apply(QImage& image) const;
};

}  // namespace karyon::ui
