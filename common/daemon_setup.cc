#include "common/daemon_setup.h"

#include <fstream>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"

namespace amoeba {

void DisableMutexDeadlockDetection() {
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
}

absl::StatusOr<std::string> ReadTokenFile(const std::string& path) {
  std::ifstream in(path);
  std::string token;
  if (!in || !std::getline(in, token) || token.empty()) {
    return absl::InvalidArgumentError("cannot read a token from --token_file=" + path);
  }
  return token;
}

}  // namespace amoeba
