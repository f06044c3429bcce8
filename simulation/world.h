// The simulated world of the protocol simulation: one seeded random source,
// one simulated clock and one event queue. Every event runs at a simulated
// time, in (time, creation order) order, so a seed replays exactly.
//
// Thread safety: none; the simulation is single-threaded.
#ifndef AMOEBA_SIMULATION_WORLD_H_
#define AMOEBA_SIMULATION_WORLD_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <queue>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/rng.h"

namespace amoeba::sim {

class World {
 public:
  explicit World(uint64_t seed) : rng_(seed), start_(clock_.Now()) {}

  FakeClock& clock() { return clock_; }
  absl::Time now() { return clock_.Now(); }
  // Simulated seconds since the start, for traces.
  double seconds() { return absl::ToDoubleSeconds(clock_.Now() - start_); }

  // Random draws, all from the one seeded source.
  bool Chance(double p) { return p > 0 && rng_.UniformDouble() < p; }
  uint64_t Uniform(uint64_t n) { return rng_.Uniform(n); }
  absl::Duration Between(absl::Duration lo, absl::Duration hi) {
    return lo + (hi - lo) * rng_.UniformDouble();
  }

  // Runs `fn` after `delay` (>= 0) of simulated time.
  void After(absl::Duration delay, std::function<void()> fn) {
    events_.push(Event{clock_.Now() + std::max(delay, absl::ZeroDuration()),
                       next_order_++, std::move(fn)});
  }
  // Runs the next event, moving the clock to its time; false when none.
  bool Step() {
    if (events_.empty()) return false;
    Event event = events_.top();
    events_.pop();
    clock_.Advance(event.at - clock_.Now());
    event.fn();
    ++steps_;
    return true;
  }
  int64_t steps() const { return steps_; }

  // The last lines of the trace, printed with a violation.
  template <typename... Args>
  void Trace(const Args&... args) {
    trace_.push_back(absl::StrCat(absl::SixDigits(seconds()), "s ", args...));
    if (trace_.size() > kTraceLines) trace_.pop_front();
  }
  std::string TraceText() const {
    std::string out;
    for (const std::string& line : trace_)
      absl::StrAppend(&out, "  ", line, "\n");
    return out;
  }

 private:
  static constexpr size_t kTraceLines = 60;
  struct Event {
    absl::Time at;
    uint64_t order;
    std::function<void()> fn;
    bool operator<(const Event& o) const {  // for a min-heap
      return at != o.at ? at > o.at : order > o.order;
    }
  };

  FakeClock clock_;
  Rng rng_;
  const absl::Time start_;
  std::priority_queue<Event> events_;
  uint64_t next_order_ = 0;
  int64_t steps_ = 0;
  std::deque<std::string> trace_;
};

}  // namespace amoeba::sim

#endif  // AMOEBA_SIMULATION_WORLD_H_
