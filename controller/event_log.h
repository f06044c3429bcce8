// The last events of a search (completions, failures, state changes), for
// WatchEvents. It has its own lock, so watchers never wait on the scheduler.
//
// Thread safety: all methods may be called from any thread.
#ifndef AMOEBA_CONTROLLER_EVENT_LOG_H_
#define AMOEBA_CONTROLLER_EVENT_LOG_H_

#include <cstdint>
#include <deque>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "proto/controller.pb.h"

namespace amoeba {

class EventLog {
 public:
  // Keeps the newest `capacity` events; a watcher further behind misses the
  // older ones.
  explicit EventLog(size_t capacity = 1000) : capacity_(capacity) {}

  void Publish(v1::SearchEvent event);
  // Events numbered after *after, waiting up to `timeout` for one; sets
  // *after to the number to pass next time.
  std::vector<v1::SearchEvent> Wait(int64_t* after, absl::Duration timeout);
  int64_t Latest();

 private:
  const size_t capacity_;
  absl::Mutex mu_;
  std::deque<std::pair<int64_t, v1::SearchEvent>> events_ ABSL_GUARDED_BY(mu_);
  int64_t sequence_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace amoeba

#endif  // AMOEBA_CONTROLLER_EVENT_LOG_H_
