#pragma once
// A pool of reader threads that stream the tiles of a plan through a bounded set of recycled
// buffers: memory is (threads + capacity) tiles whatever the slide size. Tiles come out in
// completion order; each carries its Tile (id) so consumers can reorder if they must.
//
// Thread-safety: next() is for one consumer thread. Errors: the first reader error is rethrown
// by next(); cancellation (CancelToken) makes next() throw core::Cancelled.
#include <condition_variable>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "karyon/core/progress.hpp"
#include "karyon/tiling/tile_plan.hpp"

namespace karyon::tiling {

struct TileData {
  Tile tile;
  core::RgbImage image;  // tile_size x tile_size at the analysis resolution
};

struct ReaderPoolOptions {
  int threads = 2;
  int capacity = 8;  // tiles waiting for the consumer, at most
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
  void recycle(std::unique_ptr<TileData> data);

  const TilePlan& plan_;
  TileReader reader_;
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
