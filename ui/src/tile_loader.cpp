#include "karyon/ui/tile_loader.hpp"

#include <QMetaObject>
#include <algorithm>
#include <exception>

namespace karyon::ui {

TileLoader::TileLoader(std::shared_ptr<const SlideTileSource> source, int threads, QObject* parent)
    : QObject(parent), m_source(std::move(source)) {
  qRegisterMetaType<karyon::ui::TileKey>();
  // Display needs a handful of tiles at a time; beyond ~8 readers OpenSlide's per-file locks and the
  // disk, not the core count, set the pace.
  if (threads <= 0) threads = std::clamp(static_cast<int>(std::thread::hardware_concurrency()), 2, 8);
  m_workers.reserve(threads);
  for (int i = 0; i < threads; ++i) m_workers.emplace_back([this] { workerLoop(); });
}

TileLoader::~TileLoader() {
  m_queue.close();
  for (auto& t : m_workers) t.join();
  if (m_thumbnailThread.joinable()) m_thumbnailThread.join();
}

std::uint64_t TileLoader::startGeneration() {
  std::size_t dropped = 0;
  const auto gen = m_queue.startGeneration(&dropped);
  // No idle() here: the caller is about to push the new viewport's requests (and checks itself).
  m_outstanding -= static_cast<int>(dropped);
  return gen;
}

TileRequestQueue::PushResult TileLoader::request(const TileKey& key, std::uint64_t generation) {
  const auto result = m_queue.push(key, generation);
  if (result == TileRequestQueue::PushResult::Queued) ++m_outstanding;
  return result;
}

void TileLoader::requestThumbnail(int maxSide) {
  if (m_thumbnailRequested) return;
  m_thumbnailRequested = true;
  m_thumbnailThread = std::thread([this, maxSide] {
    QImage image;
    double downsample = 1;
    QString error;
    try {
      image = m_source->readThumbnail(maxSide, downsample);
    } catch (const std::exception& e) {
      error = QString::fromUtf8(e.what());
    } catch (...) {
      error = QStringLiteral("unknown error while reading the thumbnail");
    }
    // Posted to this object: discarded if the loader is destroyed first (the destructor joins this
    // thread, so `this` is alive while posting).
    QMetaObject::invokeMethod(
        this,
        [this, image = std::move(image), downsample, error] {
          m_thumbnailDone = true;
          if (error.isEmpty())
            emit thumbnailLoaded(image, downsample);
          else
            emit thumbnailFailed(error);
          if (m_outstanding == 0) emit idle();
        },
        Qt::QueuedConnection);
  });
}

void TileLoader::workerLoop() {
  while (auto key = m_queue.pop()) {
    QImage image;
    QString error;
    try {
      image = m_source->readTile(*key);
    } catch (const std::exception& e) {
      error = QString::fromUtf8(e.what());
    } catch (...) {
      error = QStringLiteral("unknown error while reading a tile");
    }
    // finish() before posting: if the viewer re-requests this key after the result arrived it must
    // not be refused as "in flight". The GUI-side count (m_outstanding) is what idle() relies on.
    m_queue.finish(*key);
    const TileKey k = *key;
    QMetaObject::invokeMethod(
        this,
        [this, k, image = std::move(image), error] {
          if (error.isEmpty())
            emit tileLoaded(k, image);
          else
            emit tileFailed(k, error);
          delivered();
        },
        Qt::QueuedConnection);
  }
}

void TileLoader::delivered() {
  --m_outstanding;
  if (m_outstanding == 0 && !thumbnailPending()) emit idle();
}

}  // namespace karyon::ui
