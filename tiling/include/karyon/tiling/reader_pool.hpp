#pragma once
// A pool of reader threads that stream the tiles of a plan through a bounded set of recycled
// buffers: memory is (threads + capacity) tiles whatever the slide size. Tiles come out in
// completion order; each carries its Tile (id) so consumers can reorder if they must.
//
// Thread-safety: next() is for one consumer thread. Errors: the first reader error is rethrown
// by next(); cancellation (CancelToken) makes next() throw core::Cancelled. A damaged area
// (core::DamagedRegion) is not an error unless `strict`: the tile is read from a coarser level or left
// out, and says so in TileData::damage.
#include <condition_variable>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "karyon/core/errors.hpp"
#include "karyon/core/progress.hpp"
#include "karyon/tiling/tile_plan.hpp"

namespace karyon::tiling {

// A tile whose area could not be decoded at the plan's level.
struct TileDamage {
  std::string problem;  // the reader's message (file, level, area, decoder error)
  int read_level = -1;  // the coarser level it was read from instead; -1: none decodes it
  std::vector<core::Level0Rect> holes;  // read_level -1: what is left out (white in the image)
  bool left_out() const { return read_level < 0; }
};

struct TileData {
  Tile tile;
  core::RgbImage image;  // tile_size x tile_size at the analysis resolution
  std::optional<TileDamage> damage;
};

struct ReaderPoolOptions {
  int threads = 2;
  int capacity = 8;  // tiles waiting for the consumer, at most
  // A damaged area (core::DamagedRegion) ends the run instead of being read from a coarser level or
  // left out.
  bool strict = false;
};

class ReaderPool {
 public:
  // Returns its buffer to the pool when destroyed. Must not outlive the pool.
  class Handle {
   public:
    Handle() = default;
    Handle(ReaderPool* pool, std::unique_ptr<TileData> data) : pool_(pool), data_(std::move(data)) {}
    Handle(Handle&&) noexcept = default;
    Handle& operator=(Handle&& o) noexcept {
      release();
      pool_ = o.pool_;
      data_ = std::move(o.data_);
      return *this;
    }
    ~Handle() { release(); }
    explicit operator bool() const { return data_ != nullptr; }
    TileData* operator->() const { return data_.get(); }
    TileData& operator*() const { return *data_; }

   private:
    void release();
    ReaderPool* pool_ = nullptr;
    std::unique_ptr<TileData> data_;
  };

  // `slide` and `plan` must outlive the pool. Starts reading at once.
  ReaderPool(const Slide& slide, const TilePlan& plan, ReaderPoolOptions options = {},
             const core::CancelToken* cancel = nullptr);
  ~ReaderPool();  // stops and joins the readers
  ReaderPool(const ReaderPool&) = delete;
  ReaderPool& operator=(const ReaderPool&) = delete;

  // Blocks for the next tile; an empty Handle once every tile has been delivered.
  Handle next();
  // Stops reading; a next() blocked or still to come throws core::Cancelled. Any thread.
  void cancel();

 private:
  void reader_loop();
  void read_around_damage(TileData& buffer, const core::DamagedRegion& error) const;
  void recycle(std::unique_ptr<TileData> data);

  const TilePlan& plan_;
  const Slide& slide_;
  TileReader reader_;
  bool strict_ = false;
  const core::CancelToken* cancel_;
  std::mutex mutex_;
  std::condition_variable buffer_free_;
  std::condition_variable tile_ready_;
  std::vector<std::unique_ptr<TileData>> free_;
  std::deque<std::unique_ptr<TileData>> ready_;
  std::size_t next_index_ = 0;
  std::size_t delivered_ = 0;
  bool stopping_ = false;
  std::exception_ptr error_;
  std::vector<std::thread> threads_;
};

}  // namespace karyon::tiling
