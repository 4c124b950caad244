#include "karyon/ui/nucleus_overlay.hpp"

#include <QPainter>
#include <algorithm>

#include "karyon/postprocess/review_labels.hpp"
#include "karyon/ui/nucleus_hit_test.hpp"
#include "karyon/ui/review_session.hpp"
#include "karyon/ui/slide_viewer.hpp"

namespace karyon::ui {

using core::ReviewState;

NucleusOverlay::NucleusOverlay(SlideViewer* viewer, QObject* parent) : QObject(parent), m_viewer(viewer) {
  connect(viewer, &SlideViewer::viewChanged, this, &NucleusOverlay::onViewChanged);
  connect(viewer, &SlideViewer::clicked, this, [this](const QPointF& level0, Qt::KeyboardModifiers) {
    if (m_session && m_tool == Tool::Navigate) select(nucleusAt(level0));
  });
  connect(&m_outlines, &OutlineCache::updated, this, &NucleusOverlay::onOutlinesUpdated);
  connect(&m_heatmap, &HeatmapLayer::updated, this, &NucleusOverlay::onHeatmapUpdated);
}

NucleusOverlay::~NucleusOverlay() = default;

ReviewSession* NucleusOverlay::session() const { return m_session; }

void NucleusOverlay::setSession(ReviewSession* session) {
  if (m_session == session) return;
  if (m_session) disconnect(m_session, nullptr, this, nullptr);
  m_session = session;
  // Results of the previous session still running are dropped.
  m_outlines.reset();
  m_heatmap.reset();
  m_selected = 0;
  m_dragVertex = -1;
  m_drawing.clear();
  if (m_session) {
    connect(m_session, &ReviewSession::edited, this, &NucleusOverlay::onEdited);
    refresh(true);
  }
  emit selectionChanged(0);
  if (m_viewer) m_viewer->update();
}

void NucleusOverlay::setVisible(bool visible) {
  m_visible = visible;
  if (m_viewer) m_viewer->update();
}

void NucleusOverlay::setColorMode(ColorMode mode) {
  m_colorMode = mode;
  if (m_viewer) m_viewer->update();
}

void NucleusOverlay::setHeatmapOpacity(double opacity) {
  m_heatmapOpacity = std::clamp(opacity, 0.0, 1.0);
  if (m_viewer) m_viewer->update();
}

void NucleusOverlay::refresh(bool heatmap) {
  m_outlines.markStale();
  startQuery();
  if (heatmap) startHeatmap();
}

bool NucleusOverlay::showsOutlines() const {
  if (!m_session || !m_viewer) return false;
  if (m_viewer->downsample() > kOutlineMaxDownsample) return false;
  // Too many nuclei in view to draw one by one: the heatmap says more (if there is one yet).
  return !(m_outlines.truncated() && !m_heatmap.image().isNull());
}

void NucleusOverlay::onViewChanged() {
  if (!m_session || !m_viewer) return;
  if (m_viewer->downsample() > kOutlineMaxDownsample) return;
  if (m_outlines.needsQuery(m_viewer->visibleLevel0())) startQuery();
}

void NucleusOverlay::startQuery() {
  if (!m_session || !m_viewer || !m_viewer->hasSlide()) return;
  if (m_viewer->downsample() > kOutlineMaxDownsample) return;  // onViewChanged asks again on zoom-in
  m_outlines.query(m_session->reader(), m_viewer->visibleLevel0());
}

void NucleusOverlay::onOutlinesUpdated() {
  if (m_viewer) m_viewer->update();
  emit outlinesUpdated();
  if (m_viewer && m_viewer->downsample() <= kOutlineMaxDownsample &&
      (m_outlines.queryAgain() || m_outlines.needsQuery(m_viewer->visibleLevel0())))
    startQuery();
}

void NucleusOverlay::startHeatmap() {
  if (!m_session || !m_viewer || !m_viewer->hasSlide()) return;
  const auto& m = m_viewer->source()->metadata();
  m_heatmap.compute(m_session->storePath(), m.width(), m.height(), m_session->mppX(), m_session->mppY());
}

void NucleusOverlay::onHeatmapUpdated() {
  if (m_viewer) m_viewer->update();
  emit heatmapUpdated();
  if (m_heatmap.computeAgain()) startHeatmap();
}

void NucleusOverlay::onEdited(qint64 id, const QRectF&) {
  // Edits happen on this thread: patch the cache from the GUI connection at once instead of
  // waiting for a query, so the reviewer sees the result of a key press in the same frame.
  const auto n = m_session ? m_session->nucleus(id) : std::nullopt;
  m_outlines.patch(id, n);
  if (id == m_selected && (!n || n->state == ReviewState::Deleted)) {
    // The selection stays on a deleted nucleus so that undo brings it back selected; only the
    // vertex handles go.
    m_dragVertex = -1;
  }
  if (m_viewer) m_viewer->update();
}

qint64 NucleusOverlay::nucleusAt(const QPointF& p) const {
  const ShapeFilter shown = [this](const NucleusShape& s) { return isShown(s); };
  const qint64 inside = nucleusContaining(m_outlines.shapes(), p, shown);
  if (inside || !m_viewer) return inside;
  // A miss by a few screen pixels still picks the nearest outline: small nuclei at low zoom are
  // only a few pixels wide, and a click must not need pixel precision.
  return nearestOutline(m_outlines.shapes(), p, 4 * m_viewer->downsample(), shown);
}

void NucleusOverlay::select(qint64 id) {
  m_dragVertex = -1;
  if (m_selected == id) return;
  m_selected = id;
  if (m_viewer) m_viewer->update();
  emit selectionChanged(id);
}

QColor NucleusOverlay::stateColor(ReviewState state) {
  // Okabe & Ito's colour-blind-safe palette: the four states shown stay apart for protan, deutan
  // and tritan viewers (no red/green pair). One palette for the app and the exports.
  const auto c = postprocess::state_colour(state);
  return QColor(c[0], c[1], c[2]);
}

QColor NucleusOverlay::classColor(const QString& className) {
  // The engine's stable colour (FNV-1a of the UTF-8 name), the one GeoJSON exports carry.
  const auto c = postprocess::class_colour(className.toStdString());
  return QColor(c[0], c[1], c[2]);
}

QColor NucleusOverlay::colorFor(const NucleusShape& s) const {
  switch (m_colorMode) {
    case ColorMode::ReviewState:
      return stateColor(s.state);
    case ColorMode::Class:
      return classColor(s.className);
    case ColorMode::Score:
      // Red (uncertain) → green (certain) over [0.3, 1], the usual range of thresholds.
      return QColor::fromHsvF(static_cast<float>(std::clamp((s.score - 0.3) / 0.7, 0.0, 1.0) / 3.0), 0.9f, 1.0f);
  }
  return Qt::yellow;
}

void NucleusOverlay::setStateShown(ReviewState state, bool shown) {
  m_stateShown[static_cast<int>(state)] = shown;
  if (m_viewer) m_viewer->update();
}

void NucleusOverlay::setClassShown(const QString& className, bool shown) {
  if (shown)
    m_hiddenClasses.remove(className);
  else
    m_hiddenClasses.insert(className);
  if (m_viewer) m_viewer->update();
}

bool NucleusOverlay::isShown(const NucleusShape& s) const {
  return m_stateShown[static_cast<int>(s.state)] && !m_hiddenClasses.contains(s.className);
}

void NucleusOverlay::paint(QPainter& p, const ViewTransform& view, const QRectF& visible) {
  if (m_session) {
    // Outlines where they are shown, or as a stop-gap (even truncated) until a heatmap exists.
    const bool outlines =
        showsOutlines() || (m_heatmap.image().isNull() && m_viewer && m_viewer->downsample() <= kOutlineMaxDownsample);
    if (outlines) {
      paintOutlines(p, view, visible);
    } else if (!m_heatmap.image().isNull()) {
      m_heatmap.paint(p, view, m_heatmapOpacity);
      if (m_viewer) m_heatmap.paintLegend(p, m_viewer->width(), m_session->mppX() > 0);
    }
  }
  paintTools(p, view);
}

void NucleusOverlay::paintOutlines(QPainter& p, const ViewTransform& view, const QRectF& visible) {
  const double ds = view.downsample;
  const auto& shapes = m_outlines.shapes();
  // Level-0 polygons drawn through the view transform with cosmetic pens: no per-vertex mapping here.
  p.setTransform(QTransform(1 / ds, 0, 0, 1 / ds, -view.topLeftLevel0.x() / ds, -view.topLeftLevel0.y() / ds), true);
  // Antialiasing costs most when many outlines are on screen, where it is least visible.
  p.setRenderHint(QPainter::Antialiasing, shapes.size() < 5000);
  p.setBrush(Qt::NoBrush);
  const double width = ds < 1 ? 2.0 : 1.5;
  for (const auto& s : shapes) {
    if (s.id == m_selected || !isShown(s) || !s.bbox.intersects(visible)) continue;
    QPen pen(colorFor(s), width);
    pen.setCosmetic(true);
    if (s.state == ReviewState::Rejected) pen.setStyle(Qt::DashLine);
    p.setPen(pen);
    p.drawPolygon(s.outer);
    for (const auto& h : s.holes) p.drawPolygon(h);
  }
  // The selection on top: a dark halo under a bright outline reads on pale and dark tissue alike.
  if (const NucleusShape* sel = m_outlines.find(m_selected)) {
    const QPolygonF outline = m_dragVertex >= 0 ? m_dragPolygon : sel->outer;
    p.setRenderHint(QPainter::Antialiasing, true);
    QPen halo(QColor(0, 0, 0, 200), width + 3);
    halo.setCosmetic(true);
    p.setPen(halo);
    p.drawPolygon(outline);
    QPen pen(Qt::white, width + 0.5);
    pen.setCosmetic(true);
    p.setPen(pen);
    p.drawPolygon(outline);
    // Vertex handles only where they can be told apart (and grabbed): on a small outline they
    // would hide the nucleus being judged.
    const double perimeterPx = [&] {
      double sum = 0;
      for (int i = 0; i < outline.size(); ++i) sum += QLineF(outline[i], outline[(i + 1) % outline.size()]).length();
      return sum / ds;
    }();
    if (m_tool == Tool::Navigate && !outline.isEmpty() && perimeterPx / outline.size() >= 10) {
      p.resetTransform();
      p.setPen(QPen(QColor(0, 0, 0, 200), 1));
      p.setBrush(QColor(255, 255, 255, 230));
      for (const QPointF& q : outline) p.drawRect(QRectF(view.toWidget(q) - QPointF(2.5, 2.5), QSizeF(5, 5)));
    }
  }
  p.resetTransform();
}

}  // namespace karyon::ui
