#include "karyon/ui/nucleus_overlay.hpp"

#include <QDebug>
#include <QFutureWatcher>
#include <QLinearGradient>
#include <QtConcurrent/QtConcurrentRun>
#include <algorithm>
#include <cstring>
#include <cmath>
#include <exception>

#include "karyon/postprocess/heatmap.hpp"
#include "karyon/postprocess/review_labels.hpp"
#include "karyon/ui/review_session.hpp"
#include "karyon/ui/slide_viewer.hpp"

namespace karyon::ui {

namespace {

using core::ReviewState;

struct QueryResult {
  std::vector<NucleusShape> shapes;
  bool truncated = false;
  QRectF rect;
  QRectF visible;
  int generation = 0;
  QString error;
};

struct HeatmapResult {
  QImage image;
  QRectF rect;
  double max = 0;
  int generation = 0;
  QString error;
};

QPolygonF toQPolygon(const std::vector<core::Point>& ring) {
  QPolygonF poly;
  poly.reserve(static_cast<int>(ring.size()));
  for (const auto& p : ring) poly << QPointF(p.x, p.y);
  return poly;
}

NucleusShape toShape(const core::Nucleus& n) {
  NucleusShape s;
  s.id = n.id;
  s.outer = toQPolygon(n.polygon.outer);
  for (const auto& h : n.polygon.holes) s.holes << toQPolygon(h);
  s.bbox = toQRectF(n.bbox);
  s.score = n.score;
  s.className = QString::fromStdString(n.class_name);
  s.state = n.state;
  return s;
}

}  // namespace

NucleusOverlay::NucleusOverlay(SlideViewer* viewer, QObject* parent) : QObject(parent), m_viewer(viewer) {
  connect(viewer, &SlideViewer::viewChanged, this, &NucleusOverlay::onViewChanged);
  connect(viewer, &SlideViewer::clicked, this, [this](const QPointF& level0, Qt::KeyboardModifiers) {
    if (m_session && m_tool == Tool::Navigate) select(nucleusAt(level0));
  });
}

NucleusOverlay::~NucleusOverlay() = default;

ReviewSession* NucleusOverlay::session() const { return m_session; }

void NucleusOverlay::setSession(ReviewSession* session) {
  if (m_session == session) return;
  if (m_session) disconnect(m_session, nullptr, this, nullptr);
  m_session = session;
  ++m_generation;
  m_shapes.clear();
  m_cachedRect = QRectF();
  m_cacheStale = true;
  m_truncated = false;
  m_heatmap = QImage();
  m_heatmapMax = 0;
  m_selected = 0;
  m_dragVertex = -1;
  m_drawing.clear();
  // Results of the previous session still running are dropped by the generation check.
  m_queryRunning = m_heatmapRunning = false;
  m_queryAgain = m_heatmapAgain = false;
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

void NucleusOverlay::refresh(bool heatmap) {
  m_cacheStale = true;
  startQuery();
  if (heatmap) startHeatmap();
}

bool NucleusOverlay::showsOutlines() const {
  if (!m_session || !m_viewer) return false;
  if (m_viewer->downsample() > kOutlineMaxDownsample) return false;
  // Too many nuclei in view to draw one by one: the heatmap says more (if there is one yet).
  return !(m_truncated && !m_heatmap.isNull());
}

void NucleusOverlay::onViewChanged() {
  if (!m_session || !m_viewer) return;
  if (m_viewer->downsample() > kOutlineMaxDownsample) return;
  if (needsQuery()) startQuery();
}

bool NucleusOverlay::needsQuery() const {
  const QRectF visible = m_viewer->visibleLevel0();
  // A truncated set is only good for the viewport it was fetched for: after a zoom-in it may lack
  // nuclei that a fresh query of the smaller area returns.
  return m_cacheStale || !m_cachedRect.contains(visible) || (m_truncated && visible != m_queriedVisible);
}

void NucleusOverlay::startQuery() {
  if (!m_session || !m_viewer || !m_viewer->hasSlide()) return;
  if (m_viewer->downsample() > kOutlineMaxDownsample) return;  // onViewChanged asks again on zoom-in
  if (m_queryRunning) {
    m_queryAgain = true;
    return;
  }
  const QRectF visible = m_viewer->visibleLevel0();
  if (visible.isEmpty()) return;
  // Half a viewport of margin on every side: panning within it needs no new query. Not clipped to
  // the slide: a detection at the very edge may reach a pixel or two beyond it.
  const QRectF rect = visible.adjusted(-visible.width() / 2, -visible.height() / 2, visible.width() / 2,
                                       visible.height() / 2);
  m_queryRunning = true;
  m_queryAgain = false;
  m_cacheStale = false;
  const int generation = m_generation;
  auto reader = m_session->reader();
  auto* watcher = new QFutureWatcher<QueryResult>(this);
  connect(watcher, &QFutureWatcher<QueryResult>::finished, this, [this, watcher] {
    watcher->deleteLater();
    QueryResult r = watcher->result();
    if (r.generation != m_generation) return;
    m_queryRunning = false;
    if (r.error.isEmpty()) {
      m_shapes = std::move(r.shapes);
      m_truncated = r.truncated;
      m_cachedRect = r.rect;
      m_queriedVisible = r.visible;
      // An outline being dragged keeps its edited shape until the edit is written.
    } else {
      qWarning().noquote() << "nucleus query failed:" << r.error;
    }
    if (m_viewer) m_viewer->update();
    emit outlinesUpdated();
    if (m_viewer && m_viewer->downsample() <= kOutlineMaxDownsample && (m_queryAgain || needsQuery())) startQuery();
  });
  watcher->setFuture(QtConcurrent::run([reader, rect, visible, generation]() -> QueryResult {
    QueryResult r;
    r.rect = rect;
    r.visible = visible;
    r.generation = generation;
    try {
      std::lock_guard lock(reader->mutex);
      const core::BoundingBox box{rect.left(), rect.top(), rect.right(), rect.bottom()};
      // Removed nuclei are fetched too: rejected ones stay visible (dashed) so a reviewer can undo.
      auto nuclei = reader->store.query(box, kMaxOutlines + 1, true);
      r.truncated = nuclei.size() > kMaxOutlines;
      if (r.truncated) nuclei.resize(kMaxOutlines);
      r.shapes.reserve(nuclei.size());
      for (const auto& n : nuclei)
        if (n.state != ReviewState::Deleted) r.shapes.push_back(toShape(n));
    } catch (const std::exception& e) {
      r.error = QString::fromUtf8(e.what());
    }
    return r;
  }));
}

void NucleusOverlay::startHeatmap() {
  if (!m_session || !m_viewer || !m_viewer->hasSlide()) return;
  if (m_heatmapRunning) {
    m_heatmapAgain = true;
    return;
  }
  m_heatmapRunning = true;
  m_heatmapAgain = false;
  const auto& m = m_viewer->source()->metadata();
  const qint64 width = m.width(), height = m.height();
  // Without a known µm/px the grid is still useful as relative density; 0.5 µm/px (20x) is assumed.
  const double mx = m_session->mppX() > 0 ? m_session->mppX() : 0.5;
  const double my = m_session->mppY() > 0 ? m_session->mppY() : mx;
  // 100 µm cells (as the pipeline's heatmap.png) hold ~10 nuclei in cellular tissue, enough for a
  // density rather than a 0-or-1 checkerboard; coarser on huge slides to bound the grid (~200 cells
  // along the long side).
  const double cellUm = std::max(100.0, std::max(width * mx, height * my) / 200.0);
  const std::filesystem::path path = m_session->storePath().toStdString();
  const int generation = m_generation;
  auto* watcher = new QFutureWatcher<HeatmapResult>(this);
  connect(watcher, &QFutureWatcher<HeatmapResult>::finished, this, [this, watcher] {
    watcher->deleteLater();
    HeatmapResult r = watcher->result();
    if (r.generation != m_generation) return;
    m_heatmapRunning = false;
    if (r.error.isEmpty()) {
      m_heatmap = std::move(r.image);
      m_heatmapRect = r.rect;
      m_heatmapMax = r.max;
    } else {
      qWarning().noquote() << "heatmap failed:" << r.error;
    }
    if (m_viewer) m_viewer->update();
    emit heatmapUpdated();
    if (m_heatmapAgain) startHeatmap();
  });
  watcher->setFuture(QtConcurrent::run([=]() -> HeatmapResult {
    HeatmapResult r;
    r.generation = generation;
    try {
      // Own connection: a full scan takes a while and must not hold up viewport queries.
      postprocess::ResultStore store(path);
      const auto grid = postprocess::compute_heatmap(store, width, height, mx, my, cellUm);
      if (grid.cols <= 0 || grid.rows <= 0) return r;
      const double max = postprocess::heatmap_scale_max(grid);
      const auto rgba = postprocess::heatmap_rgba(grid, max);
      QImage image(grid.cols, grid.rows, QImage::Format_RGBA8888);
      for (int y = 0; y < grid.rows; ++y)
        std::memcpy(image.scanLine(y), rgba.data() + static_cast<std::size_t>(y) * grid.cols * 4,
                    static_cast<std::size_t>(grid.cols) * 4);
      r.image = image;
      r.rect = QRectF(0, 0, grid.cols * grid.cell_px_x, grid.rows * grid.cell_px_y);
      r.max = max;
    } catch (const std::exception& e) {
      r.error = QString::fromUtf8(e.what());
    }
    return r;
  }));
}

void NucleusOverlay::onEdited(qint64 id, const QRectF&) {
  // Edits happen on this thread: patch the cache from the GUI connection at once instead of
  // waiting for a query, so the reviewer sees the result of a key press in the same frame.
  const auto n = m_session ? m_session->nucleus(id) : std::nullopt;
  auto it = std::find_if(m_shapes.begin(), m_shapes.end(), [id](const NucleusShape& s) { return s.id == id; });
  if (!n || n->state == ReviewState::Deleted) {
    if (it != m_shapes.end()) m_shapes.erase(it);
  } else if (it != m_shapes.end()) {
    *it = toShape(*n);
  } else if (m_cachedRect.intersects(toQRectF(n->bbox))) {
    m_shapes.push_back(toShape(*n));
  }
  if (id == m_selected && (!n || n->state == ReviewState::Deleted)) {
    // The selection stays on a deleted nucleus so that undo brings it back selected; only the
    // vertex handles go.
    m_dragVertex = -1;
  }
  if (m_viewer) m_viewer->update();
}

qint64 NucleusOverlay::nucleusAt(const QPointF& p) const {
  qint64 best = 0;
  double bestArea = 0;
  for (const auto& s : m_shapes) {
    if (!isShown(s) || !s.bbox.adjusted(-0.5, -0.5, 0.5, 0.5).contains(p)) continue;
    if (!s.outer.containsPoint(p, Qt::OddEvenFill)) continue;
    bool inHole = false;
    for (const auto& h : s.holes) inHole = inHole || h.containsPoint(p, Qt::OddEvenFill);
    if (inHole) continue;
    const double area = s.bbox.width() * s.bbox.height();
    if (!best || area < bestArea) best = s.id, bestArea = area;
  }
  if (best || !m_viewer) return best;
  // A miss by a few screen pixels still picks the nearest outline: small nuclei at low zoom are
  // only a few pixels wide, and a click must not need pixel precision.
  const double slop = 4 * m_viewer->downsample();
  double bestD = slop * slop;
  for (const auto& s : m_shapes) {
    if (!isShown(s) || !s.bbox.adjusted(-slop, -slop, slop, slop).contains(p)) continue;
    for (int i = 0; i < s.outer.size(); ++i) {
      const QPointF a = s.outer[i], b = s.outer[(i + 1) % s.outer.size()];
      const QPointF ab = b - a;
      const double len2 = QPointF::dotProduct(ab, ab);
      const double t = len2 > 0 ? std::clamp(QPointF::dotProduct(p - a, ab) / len2, 0.0, 1.0) : 0.0;
      const QPointF d = p - (a + t * ab);
      const double dd = QPointF::dotProduct(d, d);
      if (dd <= bestD) best = s.id, bestD = dd;
    }
  }
  return best;
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
    const bool outlines = showsOutlines() || (m_heatmap.isNull() && m_viewer && m_viewer->downsample() <= kOutlineMaxDownsample);
    if (outlines) {
      paintOutlines(p, view, visible);
    } else if (!m_heatmap.isNull()) {
      paintHeatmap(p, view);
      paintLegend(p);
    }
  }

  // Tools, in widget pixels.
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

void NucleusOverlay::paintOutlines(QPainter& p, const ViewTransform& view, const QRectF& visible) {
  const double ds = view.downsample;
  // Level-0 polygons drawn through the view transform with cosmetic pens: no per-vertex mapping here.
  p.setTransform(QTransform(1 / ds, 0, 0, 1 / ds, -view.topLeftLevel0.x() / ds, -view.topLeftLevel0.y() / ds), true);
  // Antialiasing costs most when many outlines are on screen, where it is least visible.
  p.setRenderHint(QPainter::Antialiasing, m_shapes.size() < 5000);
  p.setBrush(Qt::NoBrush);
  const double width = ds < 1 ? 2.0 : 1.5;
  for (const auto& s : m_shapes) {
    if (s.id == m_selected || !isShown(s) || !s.bbox.intersects(visible)) continue;
    QPen pen(colorFor(s), width);
    pen.setCosmetic(true);
    if (s.state == ReviewState::Rejected) pen.setStyle(Qt::DashLine);
    p.setPen(pen);
    p.drawPolygon(s.outer);
    for (const auto& h : s.holes) p.drawPolygon(h);
  }
  // The selection on top: a dark halo under a bright outline reads on pale and dark tissue alike.
  const auto sel = std::find_if(m_shapes.begin(), m_shapes.end(), [this](const NucleusShape& s) { return s.id == m_selected; });
  if (sel != m_shapes.end()) {
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

void NucleusOverlay::paintHeatmap(QPainter& p, const ViewTransform& view) {
  p.setOpacity(m_heatmapOpacity);
  // Smooth scaling of a coarse grid would suggest a precision the cells do not have.
  p.setRenderHint(QPainter::SmoothPixmapTransform, false);
  p.drawImage(view.toWidget(m_heatmapRect), m_heatmap);
  p.setOpacity(1);
}

void NucleusOverlay::paintLegend(QPainter& p) {
  if (!m_viewer) return;
  const QFontMetrics fm = p.fontMetrics();
  const QString title = m_session && m_session->mppX() > 0 ? tr("Nuclei / mm\u00b2") : tr("Nuclei / mm\u00b2 (at 0.5 \u00b5m/px)");
  const int barW = 160, barH = 10, pad = 6;
  const int boxW = std::max(barW, fm.horizontalAdvance(title)) + 2 * pad;
  const int boxH = 2 * fm.height() + barH + 4 * pad;
  const QRect box(m_viewer->width() - boxW - 12, 12, boxW, boxH);
  p.setRenderHint(QPainter::Antialiasing, false);
  p.fillRect(box, QColor(255, 255, 255, 215));
  p.setPen(Qt::black);
  p.drawText(QRect(box.left() + pad, box.top() + pad, boxW - 2 * pad, fm.height()), Qt::AlignLeft, title);
  QLinearGradient g(box.left() + pad, 0, box.left() + pad + barW, 0);
  for (int i = 0; i <= 8; ++i) {
    const auto c = postprocess::heatmap_scale_colour(i / 8.0);
    g.setColorAt(i / 8.0, QColor(c[0], c[1], c[2]));
  }
  const QRect bar(box.left() + pad, box.top() + 2 * pad + fm.height(), barW, barH);
  p.fillRect(bar, g);
  const int ty = bar.bottom() + pad;
  p.drawText(QRect(bar.left(), ty, barW, fm.height()), Qt::AlignLeft, QStringLiteral("0"));
  p.drawText(QRect(bar.left(), ty, barW, fm.height()), Qt::AlignRight,
             QStringLiteral("\u2265 %1").arg(m_heatmapMax, 0, 'f', 0));
}

int NucleusOverlay::vertexAt(const QPointF& widgetPos, const ViewTransform& view) const {
  const auto sel = std::find_if(m_shapes.begin(), m_shapes.end(), [this](const NucleusShape& s) { return s.id == m_selected; });
  if (sel == m_shapes.end()) return -1;
  int best = -1;
  double bestD = 7 * 7;  // px², a comfortable grab radius
  for (int i = 0; i < sel->outer.size(); ++i) {
    const QPointF d = view.toWidget(sel->outer[i]) - widgetPos;
    const double dd = d.x() * d.x() + d.y() * d.y();
    if (dd <= bestD) best = i, bestD = dd;
  }
  return best;
}

bool NucleusOverlay::mousePress(QMouseEvent* event, const ViewTransform& view) {
  if (event->button() != Qt::LeftButton) return false;
  // A region for detection needs only the slide; the other tools work on results.
  if (!m_session && m_tool != Tool::Region) return false;
  const QPointF pos = event->position();
  switch (m_tool) {
    case Tool::Navigate: {
      if (!showsOutlines()) return false;
      const int v = vertexAt(pos, view);
      if (v < 0) return false;
      const auto sel = std::find_if(m_shapes.begin(), m_shapes.end(), [this](const NucleusShape& s) { return s.id == m_selected; });
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
