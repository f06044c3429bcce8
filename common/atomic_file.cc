#include "common/atomic_file.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <random>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace amoeba {
namespace {

absl::Status Errno(const std::string& what, const std::string& path) {
  return absl::InternalError(
      absl::StrCat(what, " ", path, ": ", std::strerror(errno)));
}

std::string ParentOf(const std::string& path) {
  const std::filesystem::path p(path);
  return p.has_parent_path() ? p.parent_path().string() : std::string(".");
}

absl::Status SyncFolder(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) return Errno("cannot open", dir);
  const int rc = ::fsync(fd);
  ::close(fd);
  return rc == 0 ? absl::OkStatus() : Errno("cannot flush", dir);
}

std::string HostName() {
  char host[256] = {0};
  if (::gethostname(host, sizeof(host) - 1) != 0 || host[0] == '\0') {
    return "host";
  }
  // Only characters that are safe in a file name.
  std::string safe;
  for (const char* c = host; *c != '\0'; ++c) {
    safe.push_back(std::isalnum(static_cast<unsigned char>(*c)) || *c == '-'
                       ? *c
                       : '_');
  }
  return safe;
}

}  // namespace

std::string UniqueTemporaryName(const std::string& path) {
  // random_device per thread: no lock, and distinct seeds even in processes
  // that share a PID (containers) on one host.
  thread_local std::mt19937_64 random([] {
    std::random_device device;
    return (static_cast<uint64_t>(device()) << 32) ^ device();
  }());
  static const std::string host = HostName();
  return absl::StrFormat("%s.tmp.%s.%d.%016x", path, host,
                         static_cast<int>(::getpid()), random());
}

bool IsTemporaryName(std::string_view name) {
  return name.find(".tmp.") != std::string_view::npos;
}

bool IsAbandonedTemporary(std::string_view name) {
  // NAME.tmp.HOST.PID.HEX, HOST without dots (HostName replaces them).
  const size_t marker = name.rfind(".tmp.");
  if (marker == std::string_view::npos) return false;
  const std::string_view rest = name.substr(marker + 5);
  const size_t host_end = rest.find('.');
  if (host_end == std::string_view::npos) return false;
  const size_t pid_end = rest.find('.', host_end + 1);
  if (pid_end == std::string_view::npos) return false;
  static const std::string host = HostName();
  if (rest.substr(0, host_end) != host) return false;
  const std::string_view pid_text =
      rest.substr(host_end + 1, pid_end - host_end - 1);
  if (pid_text.empty() || pid_text.size() > 9) return false;
  int pid = 0;
  for (char c : pid_text) {
    if (c < '0' || c > '9') return false;
    pid = pid * 10 + (c - '0');
  }
  // ESRCH: no such process. EPERM means it exists (another user's).
  return pid > 0 && ::kill(pid, 0) != 0 && errno == ESRCH;
}

int RemoveAbandonedTemporaries(const std::string& dir) {
  int removed = 0;
  std::error_code error;
  std::filesystem::directory_iterator it(dir, error);
  for (; !error && it != std::filesystem::directory_iterator();
       it.increment(error)) {
    const std::string name = it->path().filename().string();
    if (!IsAbandonedTemporary(name)) continue;
    std::error_code remove_error;
    if (std::filesystem::remove(it->path(), remove_error)) ++removed;
  }
  return removed;
}

absl::StatusOr<int> CreateTemporaryFile(const std::string& path,
                                        std::string* temporary) {
  std::error_code error;
  std::filesystem::create_directories(ParentOf(path), error);
  if (error) {
    return absl::InternalError(absl::StrCat("cannot create ", ParentOf(path),
                                            ": ", error.message()));
  }
  // A collision of 64 random bits is not expected; O_EXCL makes one an
  // error instead of two writers in one file, and a second name is tried.
  for (int tries = 0; tries < 3; ++tries) {
    *temporary = UniqueTemporaryName(path);
    const int fd = ::open(temporary->c_str(),
                          O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd >= 0) return fd;
    if (errno != EEXIST) return Errno("cannot create", *temporary);
  }
  return Errno("cannot create", *temporary);
}

absl::Status WriteAll(int fd, std::string_view bytes, const std::string& name) {
  size_t written = 0;
  while (written < bytes.size()) {
    const ssize_t n =
        ::write(fd, bytes.data() + written, bytes.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Errno("cannot write", name);
    }
    written += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

absl::Status CommitTemporaryFile(int fd, const std::string& temporary,
                                 const std::string& path) {
  const bool synced = ::fsync(fd) == 0;
  const absl::Status sync_error =
      synced ? absl::OkStatus() : Errno("cannot flush", temporary);
  const bool closed = ::close(fd) == 0;
  if (!synced || !closed) {
    ::unlink(temporary.c_str());
    return synced ? Errno("cannot close", temporary) : sync_error;
  }
  if (::rename(temporary.c_str(), path.c_str()) != 0) {
    const absl::Status status = Errno("cannot rename into", path);
    ::unlink(temporary.c_str());
    return status;
  }
  return SyncFolder(ParentOf(path));
}

absl::Status WriteFileAtomically(const std::string& path,
                                 std::string_view bytes) {
  std::string temporary;
  absl::StatusOr<int> fd = CreateTemporaryFile(path, &temporary);
  if (!fd.ok()) return fd.status();
  if (absl::Status written = WriteAll(*fd, bytes, temporary); !written.ok()) {
    ::close(*fd);
    ::unlink(temporary.c_str());
    return written;
  }
  return CommitTemporaryFile(*fd, temporary, path);
}

absl::StatusOr<std::string> ReadFileUpTo(const std::string& path,
                                         int64_t max_bytes) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return absl::NotFoundError(absl::StrCat("no file ", path));
    return Errno("cannot read", path);
  }
  struct stat info;
  if (::fstat(fd, &info) != 0) {
    const absl::Status status = Errno("cannot read", path);
    ::close(fd);
    return status;
  }
  if (info.st_size > max_bytes) {
    ::close(fd);
    return absl::ResourceExhaustedError(absl::StrFormat(
        "%s has %d bytes, more than the limit of %d", path,
        static_cast<int64_t>(info.st_size), max_bytes));
  }
  std::string bytes(static_cast<size_t>(info.st_size), '\0');
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::read(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const absl::Status status =
          n < 0 ? Errno("cannot read", path)
                : absl::DataLossError(absl::StrCat(path, ": shorter than its size"));
      ::close(fd);
      return status;
    }
    done += static_cast<size_t>(n);
  }
  ::close(fd);
  return bytes;
}

}  // namespace amoeba
