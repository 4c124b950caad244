#pragma once
// The viewer's mapping between widget pixels and LEVEL-0 slide pixels: a uniform scale and a shift.
// `downsample` is level-0 pixels per screen pixel (2 = each screen pixel shows 2x2 slide pixels).
#include <QPointF>
#include <QRectF>

namespace karyon::ui {

struct ViewTransform {
  QPointF topLeftLevel0;  // slide point shown at widget (0, 0)
  double downsample = 1;

  QPointF toWidget(const QPointF& level0) const { return (level0 - topLeftLevel0) / downsample; }
  QPointF toLevel0(const QPointF& widget) const { return topLeftLevel0 + widget * downsample; }
  QRectF toWidget(const QRectF& level0) const {
    return QRectF(toWidget(level0.topLeft()), level0.size() / downsample);
  }
  QRectF toLevel0(const QRectF& widget) const {
    return QRectF(toLevel0(widget.topLeft()), widget.size() * downsample);
  }
};

}  // namespace karyon::ui
