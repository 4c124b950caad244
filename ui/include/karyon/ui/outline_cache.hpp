#pragma once
// NucleusOverlay's outline cache: the nuclei whose boxes meet the viewport plus half a viewport of
// margin on every side (so small pans need no query), fetched by an R*Tree query of the store on
// QtConcurrent's pool through the session's StoreReader (its own connection), one query at a time,
// at most kMaxOutlines. Kept until the view leaves the cached area or markStale(); review edits
// patch it at once (patch()).
#include <QObject>
#include <QPolygonF>
#include <QRectF>
#include <QString>
#include <QVector>
#include <cstddef>
#include <memory>
#include <optional>
#include <vector>

#include "karyon/core/nucleus.hpp"

namespace karyon::ui {

struct StoreReader;

struct NucleusShape {
  qint64 id = 0;
  QPolygonF outer;  // level-0 pixels
  QVector<QPolygonF> holes;
  QRectF bbox;
  float score = 0;
  QString className;
  core::ReviewState state = core::ReviewState::Unreviewed;
};

NucleusShape toShape(const core::Nucleus& n);

class OutlineCache : public QObject {
  Q_OBJECT
 public:
  static constexpr std::size_t kMaxOutlines = 40000;

  explicit OutlineCache(QObject* parent = nullptr);

  // Empties the cache; results of queries still running are dropped.
  void reset();
  void markStale() { m_stale = true; }
  // Whether the cache does not serve the viewport `visible` (level-0).
  bool needsQuery(const QRectF& visible) const;
  // Queries around `visible`; while one runs, only notes that another is wanted (queryAgain()).
  void query(std::shared_ptr<StoreReader> reader, const QRectF& visible);
  bool isRunning() const { return m_running; }
  bool queryAgain() const { return m_again; }

  const std::vector<NucleusShape>& shapes() const { return m_shapes; }
  bool truncated() const { return m_truncated; }
  const NucleusShape* find(qint64 id) const;
  // Nucleus `id` is now `n` (nullopt or deleted: gone).
  void patch(qint64 id, const std::optional<core::Nucleus>& n);

 signals:
  void updated();  // a query finished (a failed one is logged, the cache kept)

 private:
  std::vector<NucleusShape> m_shapes;  // nuclei whose boxes meet m_cachedRect, unless m_truncated
  QRectF m_cachedRect;  // level-0
  QRectF m_queriedVisible;  // the viewport the cached query was made for
  bool m_stale = true;
  bool m_truncated = false;
  bool m_running = false;
  bool m_again = false;
  int m_generation = 0;  // bumped by reset(): late results are dropped
};

}  // namespace karyon::ui
