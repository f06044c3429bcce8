#include "worker/spool.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/atomic_file.h"

namespace amoeba {
namespace {

// A spool file is a header line, "amoeba-result <bytes> <fnv1a64 hex>", and
// the serialized report: protobuf parses most truncated or damaged bytes
// without complaint, so the length and checksum are what detect them.
constexpr char kMagic[] = "amoeba-result";

uint64_t Fnv1a(const std::string& data) {
  uint64_t hash = 14695981039346656037ULL;
  for (unsigned char c : data) {
    hash ^= c;
    hash *= 1099511628211ULL;
  }
  return hash;
}

absl::Status Errno(const std::string& what) {
  return absl::UnavailableError(absl::StrCat(what, ": ", std::strerror(errno)));
}

// Writes `data` to `path` atomically and durably (common/atomic_file.h).
// Unavailable when it cannot: the disk is full or read-only.
absl::Status WriteDurably(const std::string& path, const std::string& data) {
  const absl::Status written = WriteFileAtomically(path, data);
  if (written.ok()) return written;
  return absl::UnavailableError(written.message());
}

}  // namespace

absl::Status Spool::Init() const {
  if (mkdir(dir_.c_str(), 0755) != 0 && errno != EEXIST) {
    return Errno(absl::StrCat("cannot create spool folder ", dir_));
  }
  if (access(dir_.c_str(), W_OK) != 0) {
    return Errno(absl::StrCat("cannot write to spool folder ", dir_));
  }
  // A crash between a temporary file's creation and its rename leaves it
  // behind; nothing else would ever remove it.
  RemoveAbandonedTemporaries(dir_);
  return absl::OkStatus();
}

absl::StatusOr<std::string> Spool::Write(const v1::ResultReport& report) const {
  // The search id is printable (the controller makes it); anything else in
  // it is replaced so the name stays a plain file name.
  std::string search = report.search_id().substr(0, 64);
  for (char& c : search) {
    if (!(isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_'))
      c = '_';
  }
  const std::string path = absl::StrFormat("%s/%s-%d-%d.result", dir_,
                                           search.empty() ? "none" : search,
                                           report.model_id(), report.attempt());
  const std::string payload = report.SerializeAsString();
  const std::string data =
      absl::StrFormat("%s %d %016x\n", kMagic, payload.size(), Fnv1a(payload)) +
      payload;
  if (absl::Status s = WriteDurably(path, data); !s.ok()) return s;
  return path;
}

std::vector<std::string> Spool::List() const {
  std::vector<std::string> files;
  DIR* d = opendir(dir_.c_str());
  if (d == nullptr) return files;
  while (dirent* entry = readdir(d)) {
    const std::string name = entry->d_name;
    if (absl::EndsWith(name, ".result")) files.push_back(dir_ + "/" + name);
  }
  closedir(d);
  std::sort(files.begin(), files.end());
  return files;
}

absl::StatusOr<v1::ResultReport> Spool::Read(const std::string& path) const {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Errno(absl::StrCat("cannot read ", path));
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string data = buffer.str();
  const size_t newline = data.find('\n');
  const std::string payload =
      newline == std::string::npos ? "" : data.substr(newline + 1);
  const std::string expected_header =
      absl::StrFormat("%s %d %016x", kMagic, payload.size(), Fnv1a(payload));
  v1::ResultReport report;
  if (newline == std::string::npos ||
      data.substr(0, newline) != expected_header ||
      !report.ParseFromString(payload) || report.worker_id().empty() ||
      report.model_id() < 1) {
    return absl::DataLossError(
        absl::StrCat("spool file ", path, " is not a complete result"));
  }
  return report;
}

void Spool::Remove(const std::string& path) const { std::remove(path.c_str()); }

absl::StatusOr<uint64_t> Spool::NextIncarnation(uint64_t now_micros) const {
  const std::string path = dir_ + "/incarnation";
  uint64_t last = 0;
  {
    std::ifstream in(path);
    std::string text;
    if (in && std::getline(in, text) && !absl::SimpleAtoi(text, &last)) last = 0;
  }
  const uint64_t next = std::max(now_micros, last + 1);
  if (absl::Status s = WriteDurably(path, absl::StrCat(next, "\n"));
      !s.ok()) {
    return absl::UnavailableError(absl::StrCat(
        "cannot record the incarnation in ", path, ": ", s.message()));
  }
  return next;
}

}  // namespace amoeba
