#pragma once
// Layers drawn over the slide by SlideViewer, in the order they were added (NucleusOverlay: nucleus
// outlines at high zoom, a density heatmap at low zoom, review tools).
//
// Contract: paint() runs on the GUI thread inside the viewer's paintEvent, once per repaint, so it
// must not do I/O or long queries — prefetch on a worker and call SlideViewer::update() when the
// data for the visible area has arrived. Coordinates: visibleLevel0 is the part of the slide on
// screen in level-0 pixels (Karyon's and QuPath's frame); map with `view.toWidget()`.
//
// Input: the viewer offers mouse and key events to its layers (last added first) before using them
// itself (drag = pan). A layer that returns true from mousePress receives the move and release
// events of that drag; the viewer does not pan. Positions are widget pixels.
#include <QKeyEvent>
#include <QMouseEvent>
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

  virtual bool mousePress(QMouseEvent*, const ViewTransform&) { return false; }
  virtual void mouseMove(QMouseEvent*, const ViewTransform&) {}
  virtual void mouseRelease(QMouseEvent*, const ViewTransform&) {}
  virtual bool mouseDoubleClick(QMouseEvent*, const ViewTransform&) { return false; }
  virtual bool keyPress(QKeyEvent*) { return false; }
};

}  // namespace karyon::ui
