#include "karyon/ui/tile_request_queue.hpp"

namespace karyon::ui {

std::uint64_t TileRequestQueue::startGeneration(std::size_t* dropped) {
  std::lock_guard lock(m_mutex);
  ++m_generation;
  // Every queued entry is older than the generation just started.
  const std::size_t n = m_queue.size();
  m_queue.clear();
  m_index.clear();
  m_droppedTotal += n;
  if (dropped) *dropped = n;
  return m_generation;
}

std::uint64_t TileRequestQueue::generation() const {
  std::lock_guard lock(m_mutex);
  return m_generation;
}

TileRequestQueue::PushResult TileRequestQueue::push(const TileKey& key, std::uint64_t generation) {
  {
    std::lock_guard lock(m_mutex);
    if (m_closed || generation < m_generation) {
      ++m_droppedTotal;
      return PushResult::Stale;
    }
    if (m_inFlight.count(key)) return PushResult::InFlight;
    auto it = m_index.find(key);
    if (it != m_index.end()) {
      m_queue.splice(m_queue.end(), m_queue, it->second);
      it->second->generation = generation;
      return PushResult::Refreshed;
    }
    m_queue.push_back(Entry{key, generation});
    m_index.emplace(key, std::prev(m_queue.end()));
  }
  m_ready.notify_one();
  return PushResult::Queued;
}

std::optional<TileKey> TileRequestQueue::popLocked() {
  // Defensive: push() refuses older generations and startGeneration() clears the queue, both under
  // this lock, so every entry here is current. The check keeps the contract if either changes.
  while (!m_queue.empty()) {
    Entry e = m_queue.back();
    m_queue.pop_back();
    m_index.erase(e.key);
    if (e.generation < m_generation) {
      ++m_droppedTotal;
      continue;
    }
    m_inFlight.insert(e.key);
    return e.key;
  }
  return std::nullopt;
}

std::optional<TileKey> TileRequestQueue::pop() {
  std::unique_lock lock(m_mutex);
  for (;;) {
    if (m_closed) return std::nullopt;
    if (auto key = popLocked()) return key;
    m_ready.wait(lock);
  }
}

std::optional<TileKey> TileRequestQueue::tryPop() {
  std::lock_guard lock(m_mutex);
  if (m_closed) return std::nullopt;
  return popLocked();
}

void TileRequestQueue::finish(const TileKey& key) {
  std::lock_guard lock(m_mutex);
  m_inFlight.erase(key);
}

void TileRequestQueue::close() {
  {
    std::lock_guard lock(m_mutex);
    m_closed = true;
    m_droppedTotal += m_queue.size();
    m_queue.clear();
    m_index.clear();
  }
  m_ready.notify_all();
}

std::size_t TileRequestQueue::queued() const {
  std::lock_guard lock(m_mutex);
  return m_queue.size();
}

std::size_t TileRequestQueue::inFlight() const {
  std::lock_guard lock(m_mutex);
  return m_inFlight.size();
}

std::uint64_t TileRequestQueue::droppedTotal() const {
  std::lock_guard lock(m_mutex);
  return m_droppedTotal;
}

}  // namespace karyon::ui
