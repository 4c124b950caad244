#pragma once
// The viewer's tile request queue, after ASAP: LAST-IN-FIRST-OUT, because the tiles the user asked
// for most recently are the ones on screen now; and stamped with a GENERATION, because every pan or
// zoom makes the previous viewport's requests worthless. Starting a new generation drops everything
// still queued from older ones, and a late push carrying an old generation is refused, so workers
// never spend I/O on tiles that have scrolled away.
//
// Keys are de-duplicated: pushing a key that is already queued moves it to the top under the new
// generation; pushing a key that a worker is reading right now is a no-op (its result will arrive).
//
// Thread-safety: every method may be called from any thread. pop() blocks until a request is
// available or close() is called.
#include <condition_variable>
#include <cstdint>
#include <list>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <unordered_set>

#include "karyon/ui/tile_key.hpp"

namespace karyon::ui {

class TileRequestQueue {
 public:
  enum class PushResult {
    Queued,     // new request, will be popped
    Refreshed,  // was already queued; moved to the top under the current generation
    InFlight,   // a worker is reading it now; not queued again
    Stale,      // the generation is older than the current one (or the queue is closed); dropped
  };

  // Begins a new generation and drops every queued request of older generations. Returns the new
  // generation; `dropped` (optional) receives how many requests were dropped.
  std::uint64_t startGeneration(std::size_t* dropped = nullptr);
  std::uint64_t generation() const;

  PushResult push(const TileKey& key, std::uint64_t generation);

  // Most recently pushed request of the current generation; blocks while the queue is empty.
  // Returns nullopt once close() was called. The key counts as in flight until finish(key).
  std::optional<TileKey> pop();
  // Non-blocking pop (nullopt when empty or closed).
  std::optional<TileKey> tryPop();
  void finish(const TileKey& key);

  // Wakes every blocked pop() with nullopt and refuses further pushes. Irreversible.
  void close();

  std::size_t queued() const;
  std::size_t inFlight() const;
  std::uint64_t droppedTotal() const;

 private:
  struct Entry {
    TileKey key;
    std::uint64_t generation;
  };
  std::optional<TileKey> popLocked();

  mutable std::mutex m_mutex;
  std::condition_variable m_ready;
  std::list<Entry> m_queue;  // back = most recent = next to pop
  std::unordered_map<TileKey, std::list<Entry>::iterator, TileKeyHash> m_index;
  std::unordered_set<TileKey, TileKeyHash> m_inFlight;
  std::uint64_t m_generation = 0;
  std::uint64_t m_droppedTotal = 0;
  bool m_closed = false;
};

}  // namespace karyon::ui
