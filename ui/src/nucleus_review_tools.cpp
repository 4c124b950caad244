// NucleusOverlay's review tools: the tool in use, dragging a vertex of the selected outline,
// drawing a nucleus point by point, and the rubber band of Detect in Region; their input and what
// they draw over the slide.
#include <QPainter>

#include "karyon/ui/nucleus_hit_test.hpp"
#include "karyon/ui/nucleus_overlay.hpp"
#include "karyon/ui/review_session.hpp"
#include "karyon/ui/slide_viewer.hpp"

namespace karyon::ui {

void NucleusOverlay::setTool(Tool tool) {
  if (m_tool == tool) return;
  m_tool = tool;
  m_drawing.clear();
  m_bandStart.reset();
  m_bandEnd.reset();
  if (m_viewer) {
    m_viewer->setCursor(tool == Tool::Navigate ? Qt::ArrowCursor : Qt::CrossCursor);
    m_viewer->update();
  }
  emit toolChanged(tool);
}

void NucleusOverlay::paintTools(QPainter& p, const ViewTransform& view) {
  // In widget pixels.
  p.setRenderHint(QPainter::Antialiasing, true);
  if (m_bandStart && m_bandEnd) {
    p.setPen(QPen(QColor(255, 255, 255), 1.5, Qt::DashLine));
    p.setBrush(QColor(80, 160, 255, 50));
    p.drawRect(QRectF(*m_bandStart, *m_bandEnd).normalized());
  }
  if (!m_drawing.isEmpty()) {
    QPolygonF w;
    for (const QPointF& q : m_drawing) w << view.toWidget(q);
    p.setPen(QPen(QColor(0, 200, 255), 2));
    p.setBrush(Qt::NoBrush);
    p.drawPolyline(w);
    p.setPen(QPen(QColor(0, 200, 255), 1, Qt::DashLine));
    p.drawLine(w.last(), m_hover);
    for (const QPointF& q : w) p.fillRect(QRectF(q - QPointF(2.5, 2.5), QSizeF(5, 5)), QColor(0, 200, 255));
  }
}

bool NucleusOverlay::mousePress(QMouseEvent* event, const ViewTransform& view) {
  if (event->button() != Qt::LeftButton) return false;
  // A region for detection needs only the slide; the other tools work on results.
  if (!m_session && m_tool != Tool::Region) return false;
  const QPointF pos = event->position();
  switch (m_tool) {
    case Tool::Navigate: {
      if (!showsOutlines()) return false;
      const NucleusShape* sel = m_outlines.find(m_selected);
      const int v = sel ? vertexAt(sel->outer, pos, view) : -1;
      if (v < 0) return false;
      m_dragVertex = v;
      m_dragPolygon = sel->outer;
      return true;
    }
    case Tool::Region:
      m_bandStart = pos;
      m_bandEnd = pos;
      return true;
    case Tool::Draw:
      m_drawing << view.toLevel0(pos);
      m_hover = pos;
      if (m_viewer) m_viewer->update();
      return true;
  }
  return false;
}

void NucleusOverlay::mouseMove(QMouseEvent* event, const ViewTransform& view) {
  const QPointF pos = event->position();
  if (m_dragVertex >= 0 && m_dragVertex < m_dragPolygon.size()) {
    m_dragPolygon[m_dragVertex] = view.toLevel0(pos);
  } else if (m_bandStart) {
    m_bandEnd = pos;
  } else if (m_tool == Tool::Draw && !m_drawing.isEmpty()) {
    m_hover = pos;
  } else {
    return;
  }
  if (m_viewer) m_viewer->update();
}

void NucleusOverlay::mouseRelease(QMouseEvent*, const ViewTransform& view) {
  if (m_dragVertex >= 0) {
    const QPolygonF edited = m_dragPolygon;
    const qint64 id = m_selected;
    m_dragVertex = -1;
    if (m_session && edited.size() >= 3) {
      core::Polygon poly;
      for (const QPointF& q : edited) poly.outer.push_back({q.x(), q.y()});
      // Keep the holes of the original (vertex drags edit the outer ring only).
      if (const auto n = m_session->nucleus(id)) poly.holes = n->polygon.holes;
      m_session->setPolygon(id, poly);
    }
  } else if (m_bandStart && m_bandEnd) {
    const QRectF band = QRectF(*m_bandStart, *m_bandEnd).normalized();
    m_bandStart.reset();
    m_bandEnd.reset();
    if (band.width() >= 8 && band.height() >= 8 && m_viewer && m_viewer->hasSlide()) {
      const auto& m = m_viewer->source()->metadata();
      const QRect level0 = view.toLevel0(band).toAlignedRect().intersected(
          QRect(0, 0, static_cast<int>(m.width()), static_cast<int>(m.height())));
      setTool(Tool::Navigate);
      if (!level0.isEmpty()) emit regionChosen(level0);
    }
  }
  if (m_viewer) m_viewer->update();
}

bool NucleusOverlay::mouseDoubleClick(QMouseEvent* event, const ViewTransform&) {
  if (m_tool != Tool::Draw || event->button() != Qt::LeftButton) return false;
  finishDrawing();
  return true;
}

bool NucleusOverlay::keyPress(QKeyEvent* event) {
  if (m_tool == Tool::Navigate) return false;
  switch (event->key()) {
    case Qt::Key_Escape:
      setTool(Tool::Navigate);
      return true;
    case Qt::Key_Return:
    case Qt::Key_Enter:
      if (m_tool == Tool::Draw) finishDrawing();
      return true;
    case Qt::Key_Backspace:
      if (!m_drawing.isEmpty()) m_drawing.removeLast();
      if (m_viewer) m_viewer->update();
      return true;
    default:
      return false;
  }
}

void NucleusOverlay::finishDrawing() {
  // Drop a point repeated by the double click that ends the outline.
  QPolygonF pts;
  for (const QPointF& q : m_drawing)
    if (pts.isEmpty() || (q - pts.last()).manhattanLength() > 0.5) pts << q;
  m_drawing.clear();
  if (pts.size() >= 3 && m_session) {
    core::Polygon poly;
    for (const QPointF& q : pts) poly.outer.push_back({q.x(), q.y()});
    const qint64 id = m_session->drawNucleus(poly);
    setTool(Tool::Navigate);
    if (id) select(id);
  }
  if (m_viewer) m_viewer->update();
}

}  // namespace karyon::ui
