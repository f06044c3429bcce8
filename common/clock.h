// Time as the controller sees it. Production code uses Clock::Real(); tests
// and the protocol simulation use a FakeClock they move by hand, so lease
// expiry and rate figures are deterministic.
//
// Thread safety: every method may be called from any thread.
#ifndef AMOEBA_COMMON_CLOCK_H_
#define AMOEBA_COMMON_CLOCK_H_

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace amoeba {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual absl::Time Now() = 0;
  // The process-wide wall clock; never deleted.
  static Clock* Real();
};

// A clock that moves only when told to.
class FakeClock : public Clock {
 public:
  explicit FakeClock(absl::Time start = absl::FromUnixSeconds(1700000000))
      : now_(start) {}
  absl::Time Now() override {
    absl::MutexLock lock(&mu_);
    return now_;
  }
  // REQUIRES: d >= 0 (time never goes back).
  void Advance(absl::Duration d) {
    absl::MutexLock lock(&mu_);
    if (d > absl::ZeroDuration()) now_ += d;
  }

 private:
  absl::Mutex mu_;
  absl::Time now_ ABSL_GUARDED_BY(mu_);
};

inline Clock* Clock::Real() {
  class RealClock : public Clock {
   public:
    absl::Time Now() override { return absl::Now(); }
  };
  static Clock* const clock = new RealClock();
  return clock;
}

}  // namespace amoeba

#endif  // AMOEBA_COMMON_CLOCK_H_
