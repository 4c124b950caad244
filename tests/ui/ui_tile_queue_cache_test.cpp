// Unit tests of the viewer's building blocks that need no window: the LIFO/generation tile request
// queue, the byte-bounded LRU cache, the RGB -> QImage adapter and the scale-bar/magnification text.
#include <QtTest>
#include <atomic>
#include <mutex>
#include <tuple>
#include <chrono>
#include <set>
#include <thread>

#include "karyon/ui/lru_cache.hpp"
#include "karyon/ui/scale_bar.hpp"
#include "karyon/ui/slide_tile_source.hpp"
#include "karyon/ui/tile_request_queue.hpp"

using namespace karyon::ui;
using Push = TileRequestQueue::PushResult;

namespace {
TileKey key(int i) { return TileKey{0, i, 0}; }
}  // namespace

class TileQueueCacheTest : public QObject {
  Q_OBJECT
 private slots:
  void queue_pops_most_recent_request_first() {
    TileRequestQueue q;
    const auto g = q.startGeneration();
    for (int i = 0; i < 4; ++i) QCOMPARE(q.push(key(i), g), Push::Queued);
    for (int i = 3; i >= 0; --i) {
      const auto k = q.tryPop();
      QVERIFY(k.has_value());
      QCOMPARE(k->col, i);
    }
    QVERIFY(!q.tryPop().has_value());
  }

  void queue_drops_stale_generation_on_new_viewport() {
    TileRequestQueue q;
    const auto g1 = q.startGeneration();
    for (int i = 0; i < 5; ++i) q.push(key(i), g1);
    std::size_t dropped = 0;
    const auto g2 = q.startGeneration(&dropped);
    QVERIFY(g2 > g1);
    QCOMPARE(dropped, std::size_t(5));
    QCOMPARE(q.queued(), std::size_t(0));
    q.push(key(10), g2);
    q.push(key(11), g2);
    // A late push from the old viewport (a caller that read g1 before the bump) is refused.
    QCOMPARE(q.push(key(3), g1), Push::Stale);
    std::vector<int> popped;
    while (auto k = q.tryPop()) popped.push_back(k->col);
    QCOMPARE(popped, (std::vector<int>{11, 10}));
    QCOMPARE(q.droppedTotal(), std::uint64_t(6));
  }

  void queue_refreshes_duplicates_and_skips_tiles_in_flight() {
    TileRequestQueue q;
    const auto g = q.startGeneration();
    q.push(key(1), g);
    q.push(key(2), g);
    QCOMPARE(q.push(key(1), g), Push::Refreshed);  // moved to the top
    QCOMPARE(q.queued(), std::size_t(2));
    const auto first = q.tryPop();
    QCOMPARE(first->col, 1);
    QCOMPARE(q.inFlight(), std::size_t(1));
    QCOMPARE(q.push(key(1), g), Push::InFlight);  // its result is on the way
    q.finish(*first);
    QCOMPARE(q.inFlight(), std::size_t(0));
    QCOMPARE(q.push(key(1), g), Push::Queued);
  }

  void queue_close_wakes_blocked_workers() {
    TileRequestQueue q;
    std::atomic<int> finished{0};
    std::vector<std::thread> workers;
    for (int i = 0; i < 3; ++i)
      workers.emplace_back([&] {
        while (q.pop()) {
        }
        ++finished;
      });
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    q.close();
    for (auto& t : workers) t.join();
    QCOMPARE(finished.load(), 3);
    QCOMPARE(q.push(key(0), q.generation()), Push::Stale);
  }

  void queue_under_concurrent_workers_loses_and_duplicates_nothing() {
    // The producer starts 200 viewports of 20 tiles while two workers pop. Every request is either
    // served once or dropped (never both, never twice), and the last viewport is served in full.
    // Keys carry their generation in `level`.
    TileRequestQueue q;
    std::mutex mutex;
    std::multiset<std::tuple<int, int>> served;  // (generation, col)
    std::vector<std::thread> workers;
    for (int i = 0; i < 2; ++i)
      workers.emplace_back([&] {
        while (auto k = q.pop()) {
          {
            std::lock_guard lock(mutex);
            served.emplace(k->level, k->col);
          }
          q.finish(*k);
        }
      });
    std::uint64_t last = 0;
    for (int gen = 0; gen < 200; ++gen) {
      last = q.startGeneration();
      for (int i = 0; i < 20; ++i) q.push(TileKey{static_cast<int>(last), i, 0}, last);
    }
    for (int spin = 0; spin < 5000; ++spin) {
      // All pushes are done, so the queue only shrinks; pop() marks in-flight under the same lock.
      if (q.queued() == 0 && q.inFlight() == 0) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    q.close();
    for (auto& t : workers) t.join();
    std::set<std::tuple<int, int>> unique(served.begin(), served.end());
    QCOMPARE(unique.size(), served.size());
    for (int i = 0; i < 20; ++i) QCOMPARE(served.count({static_cast<int>(last), i}), std::size_t(1));
    QCOMPARE(q.droppedTotal() + served.size(), std::uint64_t(200 * 20));
  }

  void lru_evicts_least_recently_used_by_bytes() {
    LruCache<int, QString> cache(100);
    QVERIFY(cache.insert(1, QStringLiteral("a"), 40));
    QVERIFY(cache.insert(2, QStringLiteral("b"), 40));
    QCOMPARE(cache.bytes(), std::int64_t(80));
    QVERIFY(cache.get(1) != nullptr);  // 1 becomes most recent; 2 is now the oldest
    QVERIFY(cache.insert(3, QStringLiteral("c"), 40));
    QVERIFY(!cache.contains(2));
    QVERIFY(cache.contains(1));
    QVERIFY(cache.contains(3));
    QCOMPARE(cache.bytes(), std::int64_t(80));
    QCOMPARE(cache.evictions(), std::int64_t(1));
  }

  void lru_one_large_entry_evicts_several_small_ones() {
    LruCache<int, int> cache(100);
    for (int i = 0; i < 10; ++i) cache.insert(i, i, 10);
    QCOMPARE(cache.size(), std::size_t(10));
    cache.insert(99, 99, 35);  // needs 35 bytes: the four oldest (0..3) go
    QCOMPARE(cache.size(), std::size_t(7));
    for (int i = 0; i < 4; ++i) QVERIFY(!cache.contains(i));
    for (int i = 4; i < 10; ++i) QVERIFY(cache.contains(i));
    QVERIFY(cache.bytes() <= 100);
    QCOMPARE(cache.bytes(), std::int64_t(95));
  }

  void lru_refuses_entry_larger_than_limit_and_shrinks_on_new_limit() {
    LruCache<int, int> cache(100);
    cache.insert(1, 1, 60);
    QVERIFY(!cache.insert(2, 2, 101));
    QVERIFY(cache.contains(1));  // not flushed for an entry it could never keep
    QVERIFY(!cache.contains(2));
    cache.insert(3, 3, 30);
    cache.setMaxBytes(50);
    QVERIFY(!cache.contains(1));
    QVERIFY(cache.contains(3));
    QCOMPARE(cache.bytes(), std::int64_t(30));
    cache.insert(3, 3, 45);  // replacing updates the byte count
    QCOMPARE(cache.bytes(), std::int64_t(45));
    QCOMPARE(cache.size(), std::size_t(1));
  }

  void rgb_to_qimage_keeps_pixels_with_unaligned_rows() {
    karyon::core::RgbImage rgb(5, 3);  // 15-byte rows: QImage pads them to 16
    for (std::size_t i = 0; i < rgb.pixels.size(); ++i) rgb.pixels[i] = static_cast<std::uint8_t>(i * 7);
    const QImage img = SlideTileSource::toQImage(rgb);
    QCOMPARE(img.size(), QSize(5, 3));
    for (int y = 0; y < 3; ++y)
      for (int x = 0; x < 5; ++x) {
        const std::uint8_t* p = rgb.row(y) + x * 3;
        QCOMPARE(img.pixel(x, y), qRgb(p[0], p[1], p[2]));
      }
  }

  void scale_bar_is_a_round_length_in_micrometres() {
    // 0.5 µm per screen pixel, at most 160 px: 80 µm available -> 50 µm = 100 px.
    const ScaleBar bar = chooseScaleBar(0.5, 2.0, 160);
    QCOMPARE(bar.label, QStringLiteral("50 µm"));
    QCOMPARE(bar.lengthPixels, 100.0);
    QCOMPARE(chooseScaleBar(10.0, 40.0, 160).label, QStringLiteral("1 mm"));
    // Unknown µm/px: labelled in slide pixels (4 level-0 px per screen px -> 640 -> 500 px).
    const ScaleBar px = chooseScaleBar(std::nullopt, 4.0, 160);
    QCOMPARE(px.label, QStringLiteral("500 px"));
    QCOMPARE(px.lengthPixels, 125.0);
  }

  void magnification_is_relative_to_objective_else_micrometres_per_pixel() {
    QCOMPARE(magnificationText(20.0, 0.5, 2.0), QStringLiteral("10.0x"));
    QCOMPARE(magnificationText(40.0, 0.25, 0.5), QStringLiteral("80.0x"));
    QCOMPARE(magnificationText(std::nullopt, 0.25, 2.0), QStringLiteral("0.50 µm/px"));
    QCOMPARE(magnificationText(std::nullopt, std::nullopt, 4.0), QStringLiteral("downsample 4.0"));
  }
};

QTEST_GUILESS_MAIN(TileQueueCacheTest)
#include "ui_tile_queue_cache_test.moc"
