#include "karyon/tiling/reader_pool.hpp"

#include "karyon/core/errors.hpp"

namespace karyon::tiling {

void ReaderPool::Handle::release() {
  if (pool_ && data_) pool_->recycle(std::move(data_));
  data_.reset();
}

ReaderPool::ReaderPool(const Slide& slide, const TilePlan& plan, ReaderPoolOptions options,
                       const core::CancelToken* cancel)
    : plan_(plan), slide_(slide), reader_(slide, plan), strict_(options.strict), cancel_(cancel) {
  const int threads = std::max(1, options.threads);
  const int buffers = threads + std::max(1, options.capacity);
  for (int i = 0; i < buffers; ++i) free_.push_back(std::make_unique<TileData>());
  for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { reader_loop(); });
}

ReaderPool::~ReaderPool() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  buffer_free_.notify_all();
  tile_ready_.notify_all();
  for (auto& t : threads_) t.join();
}

void ReaderPool::recycle(std::unique_ptr<TileData> data) {
  {
    std::lock_guard lock(mutex_);
    free_.push_back(std::move(data));
  }
  buffer_free_.notify_one();
}

void ReaderPool::reader_loop() {
  for (;;) {
    std::unique_ptr<TileData> buffer;
    std::size_t index = 0;
    {
      std::unique_lock lock(mutex_);
      buffer_free_.wait(lock, [&] { return stopping_ || !free_.empty(); });
      if (stopping_ || error_ || next_index_ >= plan_.tiles.size()) return;
      buffer = std::move(free_.back());
      free_.pop_back();
      index = next_index_++;
    }
    try {
      if (cancel_ && cancel_->cancelled()) throw core::Cancelled();
      buffer->tile = plan_.tiles[index];
      buffer->damage.reset();
      try {
        reader_.read(buffer->tile, buffer->image);
      } catch (const core::DamagedRegion& e) {
        if (strict_) throw;
        read_around_damage(*buffer, e);
      }
      {
        std::lock_guard lock(mutex_);
        ready_.push_back(std::move(buffer));
      }
    } catch (...) {
      std::lock_guard lock(mutex_);
      if (!error_) error_ = std::current_exception();  // the first error wins
      stopping_ = true;
      buffer_free_.notify_all();
    }
    tile_ready_.notify_one();
  }
}

// Clinical slides do have damaged tiles: the next coarser level that decodes stands in (blurrier, but
// nuclei are still found); else only the parts that do not decode are left out (white). Either way the
// damage is reported.
void ReaderPool::read_around_damage(TileData& buffer, const core::DamagedRegion& error) const {
  buffer.damage = TileDamage{error.what(), -1};
  const int levels = static_cast<int>(slide_.metadata().levels.size());
  for (int level = plan_.resolution.read_level + 1; level < levels; ++level) {
    try {
      reader_.read_at_level(buffer.tile, buffer.image, level);
      buffer.damage->read_level = level;
      return;
    } catch (const core::DamagedRegion&) {
    }
  }
  reader_.read_at_level(buffer.tile, buffer.image, plan_.resolution.read_level, &buffer.damage->holes);
  if (buffer.damage->holes.empty()) buffer.damage.reset();  // it decoded on a second try after all
}

void ReaderPool::cancel() {
  {
    std::lock_guard lock(mutex_);
    if (!error_) error_ = std::make_exception_ptr(core::Cancelled());
    stopping_ = true;
  }
  buffer_free_.notify_all();
  tile_ready_.notify_all();
}

ReaderPool::Handle ReaderPool::next() {
  std::unique_lock lock(mutex_);
  tile_ready_.wait(lock, [&] { return error_ || !ready_.empty() || delivered_ == plan_.tiles.size(); });
  if (error_) std::rethrow_exception(error_);
  if (ready_.empty()) return {};
  auto data = std::move(ready_.front());
  ready_.pop_front();
  ++delivered_;
  return Handle(this, std::move(data));
}

}  // namespace karyon::tiling
