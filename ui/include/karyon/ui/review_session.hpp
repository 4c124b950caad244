#pragma once
// The results of one slide as the review UI sees them: the slide's results store (SQLite), review
// edits with undo/redo, counts per review state and the review queue.
//
// Persistence: every edit is written to the store the moment it is made (one SQLite transaction,
// logged in the store's edit log with its previous value), so killing the app loses nothing. Undo
// and redo are edits too: undo writes the inverse edit at once, and it is logged like any other.
//
// Threads: the session lives on the GUI thread and owns the store connection used for writes. A
// SQLite connection must not be used by two threads at once, so worker-thread readers (viewport
// queries, statistics) use their own connections: openReader() hands out one guarded by a mutex.
//
// Errors: the constructor throws core::Error (e.g. OutputError for a corrupt or unreadable store).
// Edit methods never throw: they return false and emit editFailed() with the store's message.
#include <QObject>
#include <QPointer>
#include <QRect>
#include <QRectF>
#include <QString>
#include <QUndoStack>
#include <QVector>
#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>

#include "karyon/core/image.hpp"
#include "karyon/core/nucleus.hpp"
#include "karyon/postprocess/nucleus_statistics.hpp"
#include "karyon/postprocess/result_store.hpp"

namespace karyon::ui {

// A store connection for worker threads; lock `mutex` around every use.
struct StoreReader {
  explicit StoreReader(const std::filesystem::path& path) : store(path) {}
  std::mutex mutex;
  postprocess::ResultStore store;
};

class ReviewSession : public QObject {
  Q_OBJECT
 public:
  static constexpr int kStateCount = postprocess::kReviewStateCount;  // core::ReviewState values

  // mppX/mppY: µm per level-0 pixel, for the measurements of drawn and reshaped nuclei (0: unknown).
  ReviewSession(const QString& storePath, double mppX, double mppY, QObject* parent = nullptr);
  ~ReviewSession() override;

  QString storePath() const { return m_path; }
  postprocess::ResultStore& store() { return *m_store; }
  std::shared_ptr<StoreReader> reader() const { return m_reader; }
  QUndoStack* undoStack() { return &m_undo; }
  // The edit log's user: the OS account the app runs as (osUser()) unless set.
  static QString osUser();
  QString user() const { return m_user; }
  double mppX() const { return m_mppX; }
  double mppY() const { return m_mppY; }

  std::optional<core::Nucleus> nucleus(qint64 id) const;

  // Review edits, each written at once and pushed on the undo stack.
  bool setState(qint64 id, core::ReviewState state);
  // Reclassifying an unreviewed detection also accepts it (one undo step): choosing its class is
  // a review decision, so it leaves the queue.
  bool setClass(qint64 id, const QString& className);
  bool setPolygon(qint64 id, const core::Polygon& level0);
  // Adds a drawn nucleus (state "drawn"); returns its id, 0 on failure.
  qint64 drawNucleus(const core::Polygon& level0);
  // A nucleus with its outline replaced by `polygon` (level-0 px) and bbox, centroid and every
  // measurement recomputed by the engine (postprocess::measure_outline), the stain densities from
  // the pixel reader's level-0 pixels (0 without one). Throws core::InvalidArgument for an outline
  // measure_outline refuses.
  core::Nucleus withPolygon(core::Nucleus n, const core::Polygon& polygon) const;

  // Level-0 RGB pixels of the slide: image pixel (0, 0) is level-0 pixel (x, y).
  struct Level0Pixels {
    core::RgbImage image;
    std::int64_t x = 0;
    std::int64_t y = 0;
  };
  // Reads (at most) the level-0 rectangle `level0` of the slide, clipped to it; an empty image when
  // it cannot (the stain densities are then left 0). Called on the GUI thread, for one outline.
  using PixelReader = std::function<Level0Pixels(const QRect& level0)>;
  void setPixelReader(PixelReader reader) { m_pixelReader = std::move(reader); }

  // Counts per state and the review queue, computed by a scan of the store on a worker thread
  // (a million nuclei take seconds); statisticsChanged() when done. Edits keep the counts current
  // without another scan.
  void refreshStatistics();
  bool statisticsPending() const { return m_scanPending; }
  std::array<qint64, kStateCount> counts() const { return m_counts; }
  qint64 count(core::ReviewState s) const { return m_counts[static_cast<int>(s)]; }
  QStringList classNames() const { return m_classNames; }

  // Review queue: unreviewed detections, least certain (lowest score) first. next()/previous()
  // move along it, skipping nuclei reviewed since the scan; 0 when there is none.
  // queueSize(): the queue as scanned (reviewed nuclei stay in it, skipped); queueRemaining(): the
  // unreviewed detections now, kept current by every edit: the same after a restart.
  int queueSize() const { return static_cast<int>(m_queue.size()); }
  qint64 queueRemaining() const { return count(core::ReviewState::Unreviewed); }
  int queuePosition() const { return m_queuePos; }
  qint64 nextInQueue();
  qint64 previousInQueue();

  // Called by the undo commands after their write (also on undo/redo).
  void noteStateChange(qint64 id, core::ReviewState before, core::ReviewState after, const QRectF& area);
  void noteEdit(qint64 id, const QRectF& area) { emit edited(id, area); }
  void reportError(const QString& message) { emit editFailed(message); }

 signals:
  // The nucleus `id` changed; `area` (level-0) is where it was and is, for the overlay to refetch.
  void edited(qint64 id, QRectF area);
  void statisticsChanged();
  void editFailed(QString message);

 private:
  bool isUnreviewed(qint64 id) const;

  QString m_path;
  std::unique_ptr<postprocess::ResultStore> m_store;
  std::shared_ptr<StoreReader> m_reader;
  QUndoStack m_undo;
  QString m_user;
  PixelReader m_pixelReader;
  double m_mppX = 0, m_mppY = 0;
  std::array<qint64, kStateCount> m_counts{};
  QStringList m_classNames;
  std::vector<qint64> m_queue;
  int m_queuePos = -1;
  bool m_scanPending = false;
  std::shared_ptr<int> m_scanGeneration = std::make_shared<int>(0);
};

// Level-0 bounding box of a nucleus as a QRectF.
inline QRectF toQRectF(const core::BoundingBox& b) { return QRectF(b.x0, b.y0, b.x1 - b.x0, b.y1 - b.y0); }

}  // namespace karyon::ui
