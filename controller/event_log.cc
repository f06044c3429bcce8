#include "controller/event_log.h"

namespace amoeba {

void EventLog::Publish(v1::SearchEvent event) {
  absl::MutexLock lock(&mu_);
  events_.emplace_back(++sequence_, std::move(event));
  while (events_.size() > capacity_) events_.pop_front();
}

int64_t EventLog::Latest() {
  absl::MutexLock lock(&mu_);
  return sequence_;
}

std::vector<v1::SearchEvent> EventLog::Wait(int64_t* after,
                                            absl::Duration timeout) {
  std::vector<v1::SearchEvent> out;
  const int64_t since = *after;
  absl::MutexLock lock(&mu_);
  auto has_new = [this, since]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return sequence_ > since;
  };
  mu_.AwaitWithTimeout(absl::Condition(&has_new), timeout);
  for (const auto& [seq, event] : events_) {
    if (seq > since) out.push_back(event);
  }
  *after = sequence_;
  return out;
}

}  // namespace amoeba
