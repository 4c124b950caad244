#include "karyon/ui/display_adjustment.hpp"

#include <QRgb>
#include <algorithm>
#include <cmath>

namespace karyon::ui {

DisplayAdjustment DisplayAdjustment::clamped() const {
  DisplayAdjustment a;
  a.brightness = std::isfinite(brightness) ? std::clamp(brightness, -1.0, 1.0) : 0.0;
  a.contrast = std::isfinite(contrast) ? std::clamp(contrast, kMinContrast, kMaxContrast) : 1.0;
  a.gamma = std::isfinite(gamma) ? std::clamp(gamma, kMinGamma, kMaxGamma) : 1.0;
  return a;
}

std::array<std::uint8_t, 256> DisplayAdjustment::lookupTable() const {
  const DisplayAdjustment a = clamped();
  std::array<std::uint8_t, 256> lut{};
  for (int i = 0; i < 256; ++i) {
    const double v = std::clamp((i / 255.0 - 0.5) * a.contrast + 0.5 + a.brightness, 0.0, 1.0);
    lut[i] = static_cast<std::uint8_t>(std::lround(std::pow(v, 1.0 / a.gamma) * 255.0));
  }
  return lut;
}

void DisplayAdjustment::apply(QImage& image) const {
  if (isIdentity() || image.isNull()) return;
  if (image.format() != QImage::Format_RGB32 && image.format() != QImage::Format_ARGB32 &&
      image.format() != QImage::Format_ARGB32_Premultiplied)
    image.convertTo(QImage::Format_RGB32);
  const auto lut = lookupTable();
  for (int y = 0; y < image.height(); ++y) {
    auto* row = reinterpret_cast<QRgb*>(image.scanLine(y));
    for (int x = 0; x < image.width(); ++x) {
      const QRgb c = row[x];
      row[x] = qRgba(lut[qRed(c)], lut[qGreen(c)], lut[qBlue(c)], qAlpha(c));
    }
  }
}

}  // namespace karyon::ui
