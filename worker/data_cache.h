// A bounded cache of loaded datasets, least recently used first out. A
// worker that serves several searches keeps the data of each settings it
// met (dataset, validation split, training cap) instead of reloading it per
// child, within a memory bound.
//
// Thread safety: all methods may be called from any thread. A load runs
// under the cache's lock, so two slots asking for the same data load it
// once.
#ifndef AMOEBA_WORKER_DATA_CACHE_H_
#define AMOEBA_WORKER_DATA_CACHE_H_

#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace amoeba {

template <typename Value>
class DataCache {
 public:
  // A loaded value and the bytes it holds.
  struct Loaded {
    std::shared_ptr<const Value> value;
    int64_t bytes = 0;
  };
  using Loader = std::function<absl::StatusOr<Loaded>()>;

  // At most `capacity_bytes` cached (a single value larger than that is
  // still cached, alone).
  explicit DataCache(int64_t capacity_bytes) : capacity_(capacity_bytes) {}

  // The value of `key`, loaded with `load` on a miss (an error is returned
  // and nothing cached). Least recently used values leave until the new
  // one fits; one still in use by a caller lives on until released.
  absl::StatusOr<std::shared_ptr<const Value>> GetOrLoad(
      const std::string& key, const Loader& load) {
    absl::MutexLock lock(&mu_);
    for (auto it = entries_.begin(); it != entries_.end(); ++it) {
      if (it->key != key) continue;
      entries_.splice(entries_.begin(), entries_, it);  // most recent
      ++hits_;
      return entries_.front().loaded.value;
    }
    absl::StatusOr<Loaded> loaded = load();
    if (!loaded.ok()) return loaded.status();
    while (!entries_.empty() && bytes_ + loaded->bytes > capacity_) {
      bytes_ -= entries_.back().loaded.bytes;
      evicted_.push_back(entries_.back().key);
      entries_.pop_back();
    }
    bytes_ += loaded->bytes;
    entries_.push_front(Entry{key, *loaded});
    return loaded->value;
  }

  // Keys cached now, most recently used first.
  std::vector<std::string> Keys() {
    absl::MutexLock lock(&mu_);
    std::vector<std::string> keys;
    for (const Entry& e : entries_) keys.push_back(e.key);
    return keys;
  }
  int64_t bytes() {
    absl::MutexLock lock(&mu_);
    return bytes_;
  }
  int64_t hits() {
    absl::MutexLock lock(&mu_);
    return hits_;
  }
  // Keys evicted so far, in order (for logs and tests).
  std::vector<std::string> Evicted() {
    absl::MutexLock lock(&mu_);
    return evicted_;
  }

 private:
  struct Entry {
    std::string key;
    Loaded loaded;
  };

  const int64_t capacity_;
  absl::Mutex mu_;
  std::list<Entry> entries_ ABSL_GUARDED_BY(mu_);  // most recent first
  int64_t bytes_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t hits_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<std::string> evicted_ ABSL_GUARDED_BY(mu_);
};

}  // namespace amoeba

#endif  // AMOEBA_WORKER_DATA_CACHE_H_
