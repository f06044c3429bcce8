// Process setup shared by amoeba-controller, amoeba-worker and
// controller_loadgen.
#ifndef AMOEBA_COMMON_DAEMON_SETUP_H_
#define AMOEBA_COMMON_DAEMON_SETUP_H_

#include <string>

#include "absl/status/statusor.h"

namespace amoeba {

// Turns off Abseil's Mutex deadlock detection. Debian's Abseil is built
// without NDEBUG, which leaves it on: a global lock-order graph updated on
// every acquisition, visible in perf of the controller under load. The
// daemons call this first thing in main(); tests keep the detection.
void DisableMutexDeadlockDetection();

// The shared token: the first line of `path`, trailing blanks and a CR
// removed (controller and workers read it the same way). InvalidArgument
// naming the file when it cannot be read, that line is empty, or it holds
// anything but printable ASCII without spaces.
absl::StatusOr<std::string> ReadTokenFile(const std::string& path);

}  // namespace amoeba

#endif  // AMOEBA_COMMON_DAEMON_SETUP_H_
