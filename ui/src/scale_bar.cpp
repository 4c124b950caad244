#include "karyon/ui/scale_bar.hpp"

#include <cmath>

namespace karyon::ui {

namespace {

// Largest 1/2/5 x 10^k not above `value` (value > 0).
double niceFloor(double value) {
  const double p = std::pow(10.0, std::floor(std::log10(value)));
  for (double m : {5.0, 2.0, 1.0})
    if (m * p <= value * (1 + 1e-9)) return m * p;
  return p;
}

QString formatNumber(double v) {
  return (v >= 1 || v == 0) ? QString::number(v, 'f', 0) : QString::number(v, 'g', 3);
}

}  // namespace

ScaleBar chooseScaleBar(std::optional<double> umPerScreenPixel, double level0PerScreenPixel, double maxPixels) {
  ScaleBar bar;
  if (!(maxPixels > 0) || !(level0PerScreenPixel > 0)) return bar;
  const bool physical = umPerScreenPixel && *umPerScreenPixel > 0;
  const double unitsPerPixel = physical ? *umPerScreenPixel : level0PerScreenPixel;
  const double length = niceFloor(maxPixels * unitsPerPixel);
  bar.lengthPixels = length / unitsPerPixel;
  if (!physical)
    bar.label = formatNumber(length) + QStringLiteral(" px");
  else if (length >= 1000)
    bar.label = formatNumber(length / 1000) + QStringLiteral(" mm");
  else
    bar.label = formatNumber(length) + QStringLiteral(" µm");
  return bar;
}

QString magnificationText(std::optional<double> objectivePower, std::optional<double> mppLevel0, double downsample) {
  if (!(downsample > 0)) return {};
  if (objectivePower && *objectivePower > 0)
    return QString::number(*objectivePower / downsample, 'f', *objectivePower / downsample < 1 ? 2 : 1) +
           QStringLiteral("x");
  if (mppLevel0 && *mppLevel0 > 0) return QString::number(*mppLevel0 * downsample, 'f', 2) + QStringLiteral(" µm/px");
  return QStringLiteral("downsample ") + QString::number(downsample, 'f', 1);
}

}  // namespace karyon::ui
