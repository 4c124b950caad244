#pragma once
// Loads display tiles off the GUI thread: a fixed set of worker threads pop a TileRequestQueue
// (LIFO + generations, so stale viewport requests are dropped) and hand QImages back to the GUI
// thread through queued signals. One loader per open slide; destroying it closes the queue and
// joins the workers (each finishes at most the tile it is reading), and results still in the
// event queue are discarded with the object.
//
// Thread-safety: construct, call and destroy on the GUI thread; signals are delivered there.
// No exception leaves a worker: read errors become tileFailed().
#include <QImage>
#include <QObject>
#include <QString>
#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include "karyon/ui/slide_tile_source.hpp"
#include "karyon/ui/tile_request_queue.hpp"

namespace karyon::ui {

class TileLoader : public QObject {
  Q_OBJECT
 public:
  // threads <= 0: one per core, 2 to 8 (OpenSlide reads are partly I/O bound).
  explicit TileLoader(std::shared_ptr<const SlideTileSource> source, int threads = 0, QObject* parent = nullptr);
  ~TileLoader() override;

  const SlideTileSource& source() const { return *m_source; }

  // Begins a new viewport generation: every request not yet started is dropped.
  std::uint64_t startGeneration();
  // Queues `key` under `generation` (see TileRequestQueue::push for the results).
  TileRequestQueue::PushResult request(const TileKey& key, std::uint64_t generation);
  // Requests the overview thumbnail (once; a second call is ignored).
  void requestThumbnail(int maxSide);

  // Requests queued or being read, as seen from the GUI thread: counts a request until its
  // tileLoaded/tileFailed was delivered, or until it was dropped by a new generation.
  int outstanding() const { return m_outstanding; }
  bool thumbnailPending() const { return m_thumbnailRequested && !m_thumbnailDone; }
  const TileRequestQueue& queue() const { return m_queue; }

 signals:
  void tileLoaded(karyon::ui::TileKey key, QImage image);
  void tileFailed(karyon::ui::TileKey key, QString message);
  void thumbnailLoaded(QImage image, double downsample);
  void thumbnailFailed(QString message);
  // outstanding() dropped to zero.
  void idle();

 private:
  void workerLoop();
  void delivered();

  std::shared_ptr<const SlideTileSource> m_source;
  TileRequestQueue m_queue;
  std::vector<std::thread> m_workers;
  std::thread m_thumbnailThread;
  int m_outstanding = 0;  // GUI thread only
  bool m_thumbnailRequested = false;
  bool m_thumbnailDone = false;
};

}  // namespace karyon::ui

Q_DECLARE_METATYPE(karyon::ui::TileKey)
