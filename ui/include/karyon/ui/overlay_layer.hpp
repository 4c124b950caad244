#pragma once
// EXTENSION POINT (issue 7, not implemented yet): layers drawn over the slide by SlideViewer, in
// the order they were added. Planned implementations: nuclei outlines from the results store at
// high zoom, and a nucleus-density heatmap at low zoom. No such layer exists until the whole-slide
// pipeline (issue 5) produces results; the viewer already calls every registered layer, so adding
// one needs no change to the viewer.
//
// Contract: paint() runs on the GUI thread inside the viewer's paintEvent, once per repaint, so it
// must not do I/O or long queries — prefetch on a worker and call SlideViewer::update() when the
// data for the visible area has arrived. Coordinates: visibleLevel0 is the part of the slide on
// screen in level-0 pixels (Karyon's and QuPath's frame); map with `view.toWidget()`.
#include <QPainter>
#include <QRectF>
#include <QString>

#include "karyon/ui/view_transform.hpp"

namespace karyon::ui {

class OverlayLayer {
 public:
  virtual ~OverlayLayer() = default;
  virtual QString name() const = 0;
  virtual bool isVisible() const { return true; }
  virtual void paint(QPainter& painter, const ViewTransform& view, const QRectF& visibleLevel0) = 0;
};

}  // namespace karyon::ui
