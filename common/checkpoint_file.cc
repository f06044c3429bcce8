#include "common/checkpoint_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace amoeba {
namespace {

constexpr char kMagic[8] = {'A', 'M', 'O', 'E', 'B', 'A', 'C', '1'};
constexpr size_t kHeaderBytes = sizeof(kMagic) + 4 + 8 + 4;

void PutLittle(uint64_t value, int bytes, std::string* out) {
  for (int i = 0; i < bytes; ++i) out->push_back(static_cast<char>(value >> (8 * i)));
}

uint64_t GetLittle(std::string_view in, size_t at, int bytes) {
  uint64_t value = 0;
  for (int i = 0; i < bytes; ++i) {
    value |= static_cast<uint64_t>(static_cast<unsigned char>(in[at + i]))
             << (8 * i);
  }
  return value;
}

absl::Status Errno(const std::string& what, const std::string& path) {
  return absl::InternalError(
      absl::StrCat(what, " ", path, ": ", std::strerror(errno)));
}

absl::Status SyncPath(const std::string& path, int flags) {
  const int fd = ::open(path.c_str(), flags);
  if (fd < 0) return Errno("cannot open", path);
  const int rc = ::fsync(fd);
  ::close(fd);
  return rc == 0 ? absl::OkStatus() : Errno("cannot flush", path);
}

}  // namespace

uint32_t Crc32(std::string_view bytes) {
  uLong crc = crc32(0L, Z_NULL, 0);
  // zlib takes uInt lengths: feed large payloads in pieces.
  constexpr size_t kPiece = 1 << 30;
  for (size_t at = 0; at < bytes.size(); at += kPiece) {
    const size_t n = std::min(kPiece, bytes.size() - at);
    crc = crc32(crc, reinterpret_cast<const Bytef*>(bytes.data() + at),
                static_cast<uInt>(n));
  }
  return static_cast<uint32_t>(crc);
}

std::string EncodeCheckpoint(int epoch, std::string_view payload) {
  std::string out(kMagic, sizeof(kMagic));
  PutLittle(static_cast<uint32_t>(epoch), 4, &out);
  PutLittle(payload.size(), 8, &out);
  PutLittle(Crc32(payload), 4, &out);
  out.append(payload);
  return out;
}

absl::StatusOr<CheckpointData> DecodeCheckpoint(std::string_view bytes) {
  if (bytes.size() < kHeaderBytes ||
      bytes.substr(0, sizeof(kMagic)) !=
          std::string_view(kMagic, sizeof(kMagic))) {
    return absl::DataLossError("not an amoeba checkpoint (no header)");
  }
  CheckpointData data;
  data.epoch = static_cast<int>(GetLittle(bytes, 8, 4));
  const uint64_t size = GetLittle(bytes, 12, 8);
  const uint32_t crc = static_cast<uint32_t>(GetLittle(bytes, 20, 4));
  if (bytes.size() - kHeaderBytes != size) {
    return absl::DataLossError(absl::StrFormat(
        "checkpoint truncated or padded: %d payload bytes, the header says %d",
        bytes.size() - kHeaderBytes, size));
  }
  std::string_view payload = bytes.substr(kHeaderBytes);
  if (Crc32(payload) != crc) {
    return absl::DataLossError("checkpoint damaged: checksum mismatch");
  }
  data.payload = std::string(payload);
  return data;
}

absl::Status WriteFileAtomically(const std::string& path,
                                 std::string_view bytes) {
  const std::filesystem::path target(path);
  std::error_code error;
  if (target.has_parent_path()) {
    std::filesystem::create_directories(target.parent_path(), error);
    if (error) {
      return absl::InternalError(absl::StrCat("cannot create ",
                                              target.parent_path().string(),
                                              ": ", error.message()));
    }
  }
  const std::string temporary = absl::StrCat(path, ".tmp.", ::getpid());
  {
    const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) return Errno("cannot create", temporary);
    size_t written = 0;
    while (written < bytes.size()) {
      const ssize_t n =
          ::write(fd, bytes.data() + written, bytes.size() - written);
      if (n < 0) {
        if (errno == EINTR) continue;
        const absl::Status status = Errno("cannot write", temporary);
        ::close(fd);
        ::unlink(temporary.c_str());
        return status;
      }
      written += static_cast<size_t>(n);
    }
    const bool synced = ::fsync(fd) == 0;
    ::close(fd);
    if (!synced) {
      const absl::Status status = Errno("cannot flush", temporary);
      ::unlink(temporary.c_str());
      return status;
    }
  }
  if (::rename(temporary.c_str(), path.c_str()) != 0) {
    const absl::Status status = Errno("cannot rename into", path);
    ::unlink(temporary.c_str());
    return status;
  }
  return SyncPath(target.has_parent_path() ? target.parent_path().string()
                                           : std::string("."),
                  O_RDONLY | O_DIRECTORY);
}

absl::StatusOr<std::string> ReadFileUpTo(const std::string& path,
                                          int64_t max_bytes) {
  std::error_code error;
  const auto size = std::filesystem::file_size(path, error);
  if (error) {
    if (error == std::errc::no_such_file_or_directory) {
      return absl::NotFoundError(absl::StrCat("no file ", path));
    }
    return absl::InternalError(
        absl::StrCat("cannot read ", path, ": ", error.message()));
  }
  if (static_cast<int64_t>(size) > max_bytes) {
    return absl::DataLossError(absl::StrFormat(
        "%s has %d bytes, more than the limit of %d", path, size, max_bytes));
  }
  std::ifstream in(path, std::ios::binary);
  std::string bytes(size, '\0');
  if (!in.read(bytes.data(), static_cast<std::streamsize>(size))) {
    return absl::InternalError(absl::StrCat("cannot read ", path));
  }
  return bytes;
}

absl::StatusOr<int> ReadCheckpointEpoch(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("no file ", path));
  std::string header(kHeaderBytes, '\0');
  in.read(header.data(), static_cast<std::streamsize>(kHeaderBytes));
  if (in.gcount() != static_cast<std::streamsize>(kHeaderBytes) ||
      header.compare(0, sizeof(kMagic), kMagic, sizeof(kMagic)) != 0) {
    return absl::DataLossError(
        absl::StrCat(path, ": not an amoeba checkpoint (no header)"));
  }
  return static_cast<int>(GetLittle(header, 8, 4));
}

absl::StatusOr<CheckpointData> ReadCheckpointFile(const std::string& path,
                                                  int64_t max_bytes) {
  absl::StatusOr<std::string> bytes = ReadFileUpTo(path, max_bytes);
  if (!bytes.ok()) return bytes.status();
  absl::StatusOr<CheckpointData> data = DecodeCheckpoint(*bytes);
  if (!data.ok()) {
    return absl::DataLossError(
        absl::StrCat(path, ": ", data.status().message()));
  }
  return data;
}

}  // namespace amoeba
