#include "common/atomic_file_testing.h"

#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>

#include "common/atomic_file.h"

namespace amoeba {

std::string TemporaryOfExitedWriter(const std::string& path) {
  const pid_t child = fork();
  if (child == 0) {
    std::string temporary;
    absl::StatusOr<int> fd = CreateTemporaryFile(path, &temporary);
    const bool ok = fd.ok() && WriteAll(*fd, "partial", temporary).ok();
    _exit(ok ? 0 : 1);
  }
  int status = 0;
  if (child < 0 || waitpid(child, &status, 0) != child ||
      !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return "";
  }
  const std::filesystem::path target(path);
  const std::string prefix = target.filename().string() + ".tmp.";
  std::error_code error;
  for (const auto& entry :
       std::filesystem::directory_iterator(target.parent_path(), error)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind(prefix, 0) == 0) return entry.path().string();
  }
  return "";
}

}  // namespace amoeba
