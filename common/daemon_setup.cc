#include "common/daemon_setup.h"

#include <fstream>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"

namespace amoeba {

void DisableMutexDeadlockDetection() {
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
}

absl::StatusOr<std::string> ReadTokenFile(const std::string& path) {
  std::ifstream in(path);
  std::string token;
  if (!in || !std::getline(in, token)) {
    return absl::InvalidArgumentError("cannot read a token from --token_file=" + path);
  }
  // Editors and `echo` leave line ends (a CRLF's \r, trailing blanks): both
  // sides trim them the same way.
  while (!token.empty() && (token.back() == '\r' || token.back() == ' ' ||
                            token.back() == '\t')) {
    token.pop_back();
  }
  if (token.empty()) {
    return absl::InvalidArgumentError("cannot read a token from --token_file=" + path);
  }
  // It travels in an HTTP/2 header, where a control character aborts the
  // sender ("Illegal header value").
  for (size_t i = 0; i < token.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(token[i]);
    if (c < 0x21 || c > 0x7e) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "the token in --token_file=%s must be printable ASCII without "
          "spaces; byte %d is 0x%02x",
          path, i + 1, c));
    }
  }
  return token;
}

}  // namespace amoeba
