#pragma once
// A least-recently-used cache bounded by BYTES, not by entry count: display tiles differ in size
// (edge tiles are smaller, thumbnails larger), and what runs out on a workstation is memory.
//
// Thread-safety: none. The viewer uses it on the GUI thread only (workers hand tiles over through
// queued signals), which keeps QPixmap values legal and the cache lock-free.
#include <cstdint>
#include <list>
#include <stdexcept>
#include <unordered_map>
#include <utility>

namespace karyon::ui {

template <typename Key, typename Value, typename Hash = std::hash<Key>>
class LruCache {
 public:
  explicit LruCache(std::int64_t maxBytes) : m_maxBytes(maxBytes) {
    if (maxBytes < 0) throw std::invalid_argument("LruCache: negative byte limit");
  }

  // Inserts or replaces `key`, marks it most recently used, then evicts least recently used entries
  // until the total is within the limit. An entry larger than the whole limit is not kept (keeping
  // it would mean evicting everything else for one tile). Returns whether the entry was kept.
  bool insert(const Key& key, Value value, std::int64_t bytes) {
    remove(key);
    if (bytes > m_maxBytes) return false;
    m_entries.push_front(Entry{key, std::move(value), bytes});
    m_index.emplace(key, m_entries.begin());
    m_bytes += bytes;
    evictToFit(m_maxBytes);
    return true;
  }

  // Returns the value and marks it most recently used; nullptr when absent. The pointer stays valid
  // until the next insert/remove/clear.
  const Value* get(const Key& key) {
    auto it = m_index.find(key);
    if (it == m_index.end()) return nullptr;
    m_entries.splice(m_entries.begin(), m_entries, it->second);
    return &it->second->value;
  }

  bool contains(const Key& key) const { return m_index.count(key) != 0; }

  bool remove(const Key& key) {
    auto it = m_index.find(key);
    if (it == m_index.end()) return false;
    m_bytes -= it->second->bytes;
    m_entries.erase(it->second);
    m_index.erase(it);
    return true;
  }

  void clear() {
    m_entries.clear();
    m_index.clear();
    m_bytes = 0;
  }

  void setMaxBytes(std::int64_t maxBytes) {
    if (maxBytes < 0) throw std::invalid_argument("LruCache: negative byte limit");
    m_maxBytes = maxBytes;
    evictToFit(m_maxBytes);
  }

  std::int64_t maxBytes() const { return m_maxBytes; }
  std::int64_t bytes() const { return m_bytes; }
  std::size_t size() const { return m_index.size(); }
  std::int64_t evictions() const { return m_evictions; }

 private:
  struct Entry {
    Key key;
    Value value;
    std::int64_t bytes;
  };

  void evictToFit(std::int64_t limit) {
    while (m_bytes > limit && !m_entries.empty()) {
      const Entry& victim = m_entries.back();
      m_bytes -= victim.bytes;
      m_index.erase(victim.key);
      m_entries.pop_back();
      ++m_evictions;
    }
  }

  std::int64_t m_maxBytes;
  std::int64_t m_bytes = 0;
  std::int64_t m_evictions = 0;
  std::list<Entry> m_entries;  // front = most recently used
  std::unordered_map<Key, typename std::list<Entry>::iterator, Hash> m_index;
};

}  // namespace karyon::ui
