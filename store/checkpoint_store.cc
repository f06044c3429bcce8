#include "store/checkpoint_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "common/atomic_file.h"
#include "common/status_macros.h"
#include "glog/logging.h"

namespace amoeba {

namespace fs = std::filesystem;

namespace {

absl::Status Errno(const std::string& what, const std::string& path) {
  return absl::InternalError(
      absl::StrCat(what, " ", path, ": ", std::strerror(errno)));
}

using FileIdentity = CheckpointStore::FileIdentity;

std::optional<FileIdentity> IdentityOf(const std::string& path) {
  struct stat info;
  if (::stat(path.c_str(), &info) != 0) return std::nullopt;
  return FileIdentity{static_cast<uint64_t>(info.st_dev),
                      static_cast<uint64_t>(info.st_ino)};
}

// Entries of `dir`, never throwing: a listing error ends the listing with a
// warning instead of an exception at start-up.
template <typename Visit>
void ForEachEntry(const fs::path& dir, Visit visit) {
  std::error_code error;
  fs::directory_iterator it(dir, error);
  for (; !error && it != fs::directory_iterator(); it.increment(error)) {
    visit(*it);
  }
  if (error) {
    LOG(WARNING) << "checkpoint folder " << dir.string()
                 << " cannot be listed in full: " << error.message();
  }
}

bool IsDirectory(const fs::directory_entry& entry) {
  std::error_code error;  // a dangling or looping link is not a folder
  return entry.is_directory(error);
}

}  // namespace

CheckpointStore::Upload::Upload(CheckpointStore* store, std::string search_id,
                                int64_t child, int epoch, int64_t size,
                                uint32_t crc, int fd, std::string temporary)
    : store_(store),
      search_id_(std::move(search_id)),
      child_(child),
      epoch_(epoch),
      size_(size),
      crc_(crc),
      fd_(fd),
      temporary_(std::move(temporary)),
      running_crc_(static_cast<uint32_t>(crc32(0L, Z_NULL, 0))) {}

CheckpointStore::Upload::~Upload() {
  if (fd_ >= 0) ::close(fd_);
  // ENOENT after a commit renamed it.
  if (!temporary_.empty()) ::unlink(temporary_.c_str());
  store_->EndUpload();
}

absl::Status CheckpointStore::Upload::Append(std::string_view data) {
  if (static_cast<int64_t>(data.size()) > size_ - received_) {
    return absl::DataLossError(absl::StrFormat(
        "checkpoint longer than its header says (%d bytes)", size_));
  }
  if (absl::Status s = WriteAll(fd_, data, temporary_); !s.ok()) return s;
  received_ += static_cast<int64_t>(data.size());
  running_crc_ = Crc32Update(running_crc_, data);
  return absl::OkStatus();
}

void CheckpointStore::EndUpload() {
  absl::MutexLock lock(&mu_);
  --uploads_;
}

absl::StatusOr<std::unique_ptr<CheckpointStore>> CheckpointStore::Open(
    const Options& options) {
  if (options.dir.empty() || options.max_bytes < 1 || options.max_uploads < 1) {
    return absl::InvalidArgumentError(
        "checkpoint folder must be named, the size limit >= 1 byte and the "
        "uploads at once >= 1");
  }
  std::error_code error;
  fs::create_directories(options.dir, error);
  if (error) {
    return absl::InternalError(absl::StrCat(
        "cannot create checkpoint folder ", options.dir, ": ", error.message()));
  }
  // Uploads in flight when the last controller stopped will never finish.
  int removed = 0;
  ForEachEntry(options.dir, [&](const fs::directory_entry& search) {
    if (!IsDirectory(search)) return;
    ForEachEntry(search.path(), [&](const fs::directory_entry& file) {
      std::error_code ignored;
      if (IsTemporaryName(file.path().filename().string()) &&
          fs::remove(file.path(), ignored)) {
        ++removed;
      }
    });
  });
  if (removed > 0) {
    LOG(INFO) << "removed " << removed
              << " unfinished checkpoint upload(s) from " << options.dir;
  }
  return std::unique_ptr<CheckpointStore>(new CheckpointStore(options));
}

std::string CheckpointStore::PathOf(const std::string& search_id,
                                    int64_t child) const {
  // Search ids are letters, digits, '.', '_' and '-' (never '..' alone:
  // ValidateSearchName), so they are safe as folder names.
  return absl::StrCat(options_.dir, "/", search_id, "/", child, ".ckpt");
}

int CheckpointStore::EpochLocked(const Key& key) {
  auto it = epochs_.find(key);
  if (it != epochs_.end()) return it->second;
  // A header read (24 bytes) for a child with a file not cached yet; for a
  // child without one, a failed open (nothing is cached for it).
  absl::StatusOr<int> epoch = ReadCheckpointEpoch(PathOf(key.first, key.second));
  if (!epoch.ok() || *epoch < 1) return 0;
  epochs_[key] = *epoch;
  return *epoch;
}

absl::StatusOr<std::unique_ptr<CheckpointStore::Upload>>
CheckpointStore::BeginUpload(const std::string& search_id, int64_t child,
                             int epoch, int64_t size, uint32_t crc) {
  if (size < 0 || size > options_.max_bytes) {
    return absl::ResourceExhaustedError(absl::StrFormat(
        "checkpoint of %d bytes is larger than the limit of %d "
        "(--max_checkpoint_bytes)",
        size, options_.max_bytes));
  }
  {
    absl::MutexLock lock(&mu_);
    if (uploads_ >= options_.max_uploads) {
      return absl::ResourceExhaustedError(absl::StrFormat(
          "%d checkpoint uploads are in flight, the most this controller "
          "takes at once (--max_checkpoint_uploads); the next checkpoint "
          "will be tried",
          uploads_));
    }
    // Stale before a byte is written: an older or equal epoch is kept.
    if (EpochLocked({search_id, child}) >= epoch) {
      return absl::AlreadyExistsError(absl::StrFormat(
          "a checkpoint of epoch %d or later is kept",
          EpochLocked({search_id, child})));
    }
    ++uploads_;
  }
  std::string temporary;
  absl::StatusOr<int> fd =
      CreateTemporaryFile(PathOf(search_id, child), &temporary);
  absl::Status header = fd.status();
  if (fd.ok()) {
    header = WriteAll(*fd, EncodeCheckpointHeader(epoch, size, crc), temporary);
  }
  // The Upload owns the slot (and the file) from here on, error or not.
  std::unique_ptr<Upload> upload(
      new Upload(this, search_id, child, epoch, size, crc, fd.ok() ? *fd : -1,
                 fd.ok() ? temporary : std::string()));
  if (!header.ok()) return header;
  return upload;
}

absl::StatusOr<int> CheckpointStore::Commit(std::unique_ptr<Upload> upload) {
  if (upload->received_ != upload->size_ ||
      upload->running_crc_ != upload->crc_) {
    return absl::DataLossError(absl::StrFormat(
        "checkpoint of child %d arrived damaged: %d bytes (header: %d) or "
        "checksum mismatch",
        upload->child_, upload->received_, upload->size_));
  }
  // The flush of up to max_bytes runs without the lock.
  const int fd = upload->fd_;
  upload->fd_ = -1;
  const bool synced = ::fsync(fd) == 0;
  const bool closed = ::close(fd) == 0;
  if (!synced || !closed) return Errno("cannot flush", upload->temporary_);
  const std::string path = PathOf(upload->search_id_, upload->child_);
  {
    absl::MutexLock lock(&mu_);
    const Key key{upload->search_id_, upload->child_};
    const int kept = EpochLocked(key);
    if (upload->epoch_ <= kept) return kept;  // the destructor removes it
    if (::rename(upload->temporary_.c_str(), path.c_str()) != 0) {
      return Errno("cannot rename into", path);
    }
    epochs_[key] = upload->epoch_;
  }
  // Flushing the folder makes the rename durable; a crash before it keeps
  // the older checkpoint, which is allowed.
  const int dir = ::open(fs::path(path).parent_path().c_str(),
                         O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
  return upload->epoch_;
}

absl::StatusOr<int> CheckpointStore::Put(const std::string& search_id,
                                         int64_t child, int epoch,
                                         std::string_view payload) {
  absl::StatusOr<std::unique_ptr<Upload>> upload =
      BeginUpload(search_id, child, epoch, static_cast<int64_t>(payload.size()),
                  Crc32(payload));
  if (absl::IsAlreadyExists(upload.status())) return Epoch(search_id, child);
  if (!upload.ok()) return upload.status();
  if (absl::Status s = (*upload)->Append(payload); !s.ok()) return s;
  return Commit(*std::move(upload));
}

int CheckpointStore::Epoch(const std::string& search_id, int64_t child) {
  absl::MutexLock lock(&mu_);
  return EpochLocked({search_id, child});
}

absl::StatusOr<CheckpointData> CheckpointStore::Get(const std::string& search_id,
                                                    int64_t child) {
  // Read without the lock: a rename in the meantime replaces the name, not
  // the file being read.
  ASSIGN_OR_RETURN(std::unique_ptr<Reader> reader, OpenReader(search_id, child));
  if (static_cast<int64_t>(reader->size()) > options_.max_bytes) {
    return absl::ResourceExhaustedError(absl::StrFormat(
        "the checkpoint kept of %s child %d has %d bytes, more than "
        "--max_checkpoint_bytes allows now (%d): raise it to read it whole",
        search_id, child, reader->size(), options_.max_bytes));
  }
  CheckpointData data;
  data.epoch = reader->epoch();
  ASSIGN_OR_RETURN(data.payload, reader->Read(reader->size()));
  RETURN_IF_ERROR(reader->Finish());
  return data;
}

CheckpointStore::Reader::Reader(CheckpointStore* store, std::string search_id,
                               int64_t child, std::string path, int fd,
                               FileIdentity identity,
                               const CheckpointFileHeader& header)
    : store_(store),
      search_id_(std::move(search_id)),
      child_(child),
      path_(std::move(path)),
      fd_(fd),
      identity_(identity),
      header_(header),
      running_crc_(Crc32("")) {}

CheckpointStore::Reader::~Reader() { ::close(fd_); }

absl::StatusOr<std::string> CheckpointStore::Reader::Read(size_t max) {
  const uint64_t left = header_.payload_size - read_;
  std::string piece(static_cast<size_t>(std::min<uint64_t>(max, left)), '\0');
  size_t done = 0;
  while (done < piece.size()) {
    const ssize_t n = ::read(fd_, piece.data() + done, piece.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Errno("cannot read", path_);
    if (n == 0) break;  // shorter than its header says: Finish tells
    done += static_cast<size_t>(n);
  }
  piece.resize(done);
  read_ += done;
  running_crc_ = Crc32Update(running_crc_, piece);
  return piece;
}

absl::Status CheckpointStore::Reader::Finish() {
  char extra;
  const bool longer = ::read(fd_, &extra, 1) > 0;
  if (read_ == header_.payload_size && !longer &&
      running_crc_ == header_.crc) {
    return absl::OkStatus();
  }
  const std::string why = absl::StrFormat(
      "%s: %s", path_,
      read_ != header_.payload_size || longer
          ? "checkpoint truncated or padded"
          : "checkpoint damaged: checksum mismatch");
  store_->RemoveDamaged(search_id_, child_, path_, identity_, why);
  return absl::DataLossError(why);
}

absl::StatusOr<std::unique_ptr<CheckpointStore::Reader>>
CheckpointStore::OpenReader(const std::string& search_id, int64_t child) {
  const std::string path = PathOf(search_id, child);
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) {
      return absl::NotFoundError(absl::StrCat("no checkpoint of child ", child));
    }
    return Errno("cannot read", path);
  }
  struct stat info;
  std::string first(kCheckpointHeaderBytes, '\0');
  ssize_t got = 0;
  if (::fstat(fd, &info) != 0) {
    const absl::Status status = Errno("cannot read", path);
    ::close(fd);
    return status;
  }
  do {
    got = ::pread(fd, first.data(), first.size(), 0);
  } while (got < 0 && errno == EINTR);
  const FileIdentity identity{static_cast<uint64_t>(info.st_dev),
                              static_cast<uint64_t>(info.st_ino)};
  absl::StatusOr<CheckpointFileHeader> header =
      got == static_cast<ssize_t>(first.size())
          ? DecodeCheckpointHeader(first)
          : absl::DataLossError("not an amoeba checkpoint (no header)");
  // Kept files never change once renamed in: a size that disagrees with
  // the header is damage, found before any byte is read (or allocated).
  if (header.ok() &&
      header->payload_size !=
          static_cast<uint64_t>(info.st_size) - kCheckpointHeaderBytes) {
    header = absl::DataLossError(absl::StrFormat(
        "checkpoint truncated or padded: %d payload bytes, the header says %d",
        static_cast<int64_t>(info.st_size) - kCheckpointHeaderBytes,
        header->payload_size));
  }
  if (!header.ok()) {
    ::close(fd);
    const std::string why = absl::StrCat(path, ": ", header.status().message());
    RemoveDamaged(search_id, child, path, identity, why);
    return absl::DataLossError(why);
  }
  ::lseek(fd, kCheckpointHeaderBytes, SEEK_SET);
  return std::unique_ptr<Reader>(
      new Reader(this, search_id, child, path, fd, identity, *header));
}

void CheckpointStore::RemoveDamaged(const std::string& search_id, int64_t child,
                                    const std::string& path,
                                    const FileIdentity& identity,
                                    const std::string& why) {
  absl::MutexLock lock(&mu_);
  if (IdentityOf(path) == identity) {
    LOG(WARNING) << "removing damaged checkpoint " << why;
    ::unlink(path.c_str());
    epochs_.erase({search_id, child});
  }
}

void CheckpointStore::Remove(const std::string& search_id, int64_t child) {
  absl::MutexLock lock(&mu_);
  if (::unlink(PathOf(search_id, child).c_str()) == 0) {
    VLOG(1) << "checkpoint of " << search_id << " child " << child
            << " removed";
  }
  epochs_.erase({search_id, child});
}

size_t CheckpointStore::cached_children() {
  absl::MutexLock lock(&mu_);
  return epochs_.size();
}

namespace {

// The children of the .ckpt files in `folder`.
std::vector<int64_t> ChildrenIn(const fs::path& folder) {
  std::vector<int64_t> children;
  ForEachEntry(folder, [&](const fs::directory_entry& file) {
    const std::string filename = file.path().filename().string();
    absl::string_view name = filename;
    int64_t child = 0;
    if (absl::ConsumeSuffix(&name, ".ckpt") && absl::SimpleAtoi(name, &child)) {
      children.push_back(child);
    }
  });
  return children;
}

}  // namespace

std::vector<std::pair<std::string, int64_t>> CheckpointStore::List() {
  std::vector<std::pair<std::string, int64_t>> found;
  ForEachEntry(options_.dir, [&](const fs::directory_entry& search) {
    if (!IsDirectory(search)) return;
    for (int64_t child : ChildrenIn(search.path())) {
      found.emplace_back(search.path().filename().string(), child);
    }
  });
  return found;
}

std::vector<int64_t> CheckpointStore::Children(const std::string& search_id) {
  const fs::path folder = fs::path(options_.dir) / search_id;
  std::error_code error;
  if (!fs::is_directory(folder, error)) return {};
  return ChildrenIn(folder);
}

}  // namespace amoeba
