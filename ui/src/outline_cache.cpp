#include "karyon/ui/outline_cache.hpp"

#include <QDebug>
#include <QFutureWatcher>
#include <QtConcurrent/QtConcurrentRun>
#include <algorithm>
#include <exception>
#include <mutex>

#include "karyon/ui/review_session.hpp"

namespace karyon::ui {

namespace {

struct QueryResult {
  std::vector<NucleusShape> shapes;
  bool truncated = false;
  QRectF rect;
  QRectF visible;
  int generation = 0;
  QString error;
};

QPolygonF toQPolygon(const std::vector<core::Point>& ring) {
  QPolygonF poly;
  poly.reserve(static_cast<int>(ring.size()));
  for (const auto& p : ring) poly << QPointF(p.x, p.y);
  return poly;
}

}  // namespace

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

OutlineCache::OutlineCache(QObject* parent) : QObject(parent) {}

void OutlineCache::reset() {
  ++m_generation;
  m_shapes.clear();
  m_cachedRect = QRectF();
  m_stale = true;
  m_truncated = false;
  m_running = false;
  m_again = false;
}

bool OutlineCache::needsQuery(const QRectF& visible) const {
  // A truncated set is only good for the viewport it was fetched for: after a zoom-in it may lack
  // nuclei that a fresh query of the smaller area returns.
  return m_stale || !m_cachedRect.contains(visible) || (m_truncated && visible != m_queriedVisible);
}

void OutlineCache::query(std::shared_ptr<StoreReader> reader, const QRectF& visible) {
  if (m_running) {
    m_again = true;
    return;
  }
  if (visible.isEmpty()) return;
  // Half a viewport of margin on every side: panning within it needs no new query. Not clipped to
  // the slide: a detection at the very edge may reach a pixel or two beyond it.
  const QRectF rect = visible.adjusted(-visible.width() / 2, -visible.height() / 2, visible.width() / 2,
                                       visible.height() / 2);
  m_running = true;
  m_again = false;
  m_stale = false;
  const int generation = m_generation;
  auto* watcher = new QFutureWatcher<QueryResult>(this);
  connect(watcher, &QFutureWatcher<QueryResult>::finished, this, [this, watcher] {
    watcher->deleteLater();
    QueryResult r = watcher->result();
    if (r.generation != m_generation) return;
    m_running = false;
    if (r.error.isEmpty()) {
      m_shapes = std::move(r.shapes);
      m_truncated = r.truncated;
      m_cachedRect = r.rect;
      m_queriedVisible = r.visible;
      // An outline being dragged keeps its edited shape until the edit is written.
    } else {
      qWarning().noquote() << "nucleus query failed:" << r.error;
    }
    emit updated();
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
        if (n.state != core::ReviewState::Deleted) r.shapes.push_back(toShape(n));
    } catch (const std::exception& e) {
      r.error = QString::fromUtf8(e.what());
    }
    return r;
  }));
}

const NucleusShape* OutlineCache::find(qint64 id) const {
  const auto it = std::find_if(m_shapes.begin(), m_shapes.end(), [id](const NucleusShape& s) { return s.id == id; });
  return it == m_shapes.end() ? nullptr : &*it;
}

void OutlineCache::patch(qint64 id, const std::optional<core::Nucleus>& n) {
  auto it = std::find_if(m_shapes.begin(), m_shapes.end(), [id](const NucleusShape& s) { return s.id == id; });
  if (!n || n->state == core::ReviewState::Deleted) {
    if (it != m_shapes.end()) m_shapes.erase(it);
  } else if (it != m_shapes.end()) {
    *it = toShape(*n);
  } else if (m_cachedRect.intersects(toQRectF(n->bbox))) {
    m_shapes.push_back(toShape(*n));
  }
}

}  // namespace karyon::ui
