// Checkpoints of long jobs that workers upload to the controller (when the
// fleet shares no checkpoint folder): one file per child,
// DIR/<search>/<child>.ckpt in the format of common/checkpoint_file.h,
// DIR beside the store (`<store>.checkpoints`).
//
// Invariants owned here:
//  * a child's file only ever moves forward: a checkpoint of an older or
//    equal epoch than the one kept is dropped;
//  * a file is replaced atomically, so a crash leaves the old checkpoint
//    or the new one;
//  * a damaged file is never handed out (checksum), and is removed when
//    found; a file that is only larger than today's limit is kept;
//  * memory does not grow with uploads: an upload streams into a
//    temporary file, at most Options::max_uploads at once, and the epoch
//    cache holds only children that have a file.
// Who may write (the holder of the child's current lease), and that a
// finished child keeps no checkpoint, are the Controller's checks.
//
// Slow I/O (writing, flushing and reading payloads) runs outside mu_: the
// lock covers the epoch check with its rename, removals and the cache, so a
// task hand-out asking Epoch() never waits behind a multi-GB write.
//
// Thread safety: all methods may be called from any thread.
#ifndef AMOEBA_STORE_CHECKPOINT_STORE_H_
#define AMOEBA_STORE_CHECKPOINT_STORE_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/checkpoint_file.h"

namespace amoeba {

class CheckpointStore {
 public:
  struct Options {
    std::string dir;
    // Largest payload accepted (--max_checkpoint_bytes).
    int64_t max_bytes = int64_t{4} << 30;
    // Uploads streaming at once (--max_checkpoint_uploads); more are
    // refused with ResourceExhausted and the worker tries at its next
    // checkpoint.
    int max_uploads = 4;
  };

  // One checkpoint streaming into a temporary file. Destroying it before
  // Commit removes the file and frees its upload slot.
  class Upload {
   public:
    ~Upload();
    Upload(const Upload&) = delete;
    Upload& operator=(const Upload&) = delete;

    // Appends payload bytes. DataLoss when they go beyond the declared
    // size; Internal when the file cannot be written.
    absl::Status Append(std::string_view data);

   private:
    friend class CheckpointStore;
    Upload(CheckpointStore* store, std::string search_id, int64_t child,
           int epoch, int64_t size, uint32_t crc, int fd,
           std::string temporary);

    CheckpointStore* const store_;
    const std::string search_id_;
    const int64_t child_;
    const int epoch_;
    const int64_t size_;
    const uint32_t crc_;
    int fd_;  // -1 once closed
    const std::string temporary_;
    int64_t received_ = 0;
    uint32_t running_crc_;
  };

  // Which file a path named when it was opened: a damaged file is removed
  // only if the path still names it (a newer upload may have replaced it).
  struct FileIdentity {
    uint64_t device = 0;
    uint64_t inode = 0;
    bool operator==(const FileIdentity& o) const {
      return device == o.device && inode == o.inode;
    }
  };

  // A kept checkpoint read in pieces (DownloadCheckpoint): memory holds one
  // piece, not the file, whatever its size. A newer upload replacing the
  // file meanwhile does not disturb it (it reads the file it opened).
  class Reader {
   public:
    ~Reader();
    Reader(const Reader&) = delete;
    Reader& operator=(const Reader&) = delete;

    int epoch() const { return header_.epoch; }
    uint64_t size() const { return header_.payload_size; }
    uint32_t crc() const { return header_.crc; }
    // Up to `max` more payload bytes; fewer (or none) at the end.
    absl::StatusOr<std::string> Read(size_t max);
    // After the last piece: DataLoss, removing the file, when what was read
    // is not the payload its header describes (size, checksum).
    absl::Status Finish();

   private:
    friend class CheckpointStore;
    Reader(CheckpointStore* store, std::string search_id, int64_t child,
           std::string path, int fd, FileIdentity identity,
           const CheckpointFileHeader& header);

    CheckpointStore* const store_;
    const std::string search_id_;
    const int64_t child_;
    const std::string path_;
    const int fd_;
    const FileIdentity identity_;
    const CheckpointFileHeader header_;
    uint64_t read_ = 0;
    uint32_t running_crc_;
  };

  // Creates the folder if needed and removes temporary files a crash left.
  // InvalidArgument for an empty folder name or limits below 1; Internal
  // when the folder cannot be created.
  static absl::StatusOr<std::unique_ptr<CheckpointStore>> Open(
      const Options& options);

  // Starts an upload of the child's checkpoint at `epoch`: `size` payload
  // bytes whose CRC-32 is `crc`. ResourceExhausted beyond max_bytes or
  // with max_uploads uploads in flight; Internal when no file can be
  // created. Nothing is kept until Commit.
  absl::StatusOr<std::unique_ptr<Upload>> BeginUpload(
      const std::string& search_id, int64_t child, int epoch, int64_t size,
      uint32_t crc);
  // Keeps the upload as the child's checkpoint unless one of its epoch or
  // a newer one is kept; returns the epoch kept now. DataLoss when fewer
  // bytes arrived than declared or the checksum differs; Internal when the
  // file cannot be flushed or renamed (the old one stays).
  absl::StatusOr<int> Commit(std::unique_ptr<Upload> upload);
  // BeginUpload, Append and Commit of a payload in memory.
  absl::StatusOr<int> Put(const std::string& search_id, int64_t child,
                          int epoch, std::string_view payload);

  // The epoch of the child's newest checkpoint; 0 when none is kept.
  int Epoch(const std::string& search_id, int64_t child);
  // NotFound when none is kept; DataLoss when the file is damaged (it is
  // removed); ResourceExhausted, keeping the file, when it is larger than
  // max_bytes (the limit was lowered since it was written).
  absl::StatusOr<CheckpointData> Get(const std::string& search_id,
                                     int64_t child);
  // The child's checkpoint for reading in pieces. NotFound when none is
  // kept; DataLoss, removing the file, when its header is damaged or
  // disagrees with the file's size (nothing read yet).
  absl::StatusOr<std::unique_ptr<Reader>> OpenReader(
      const std::string& search_id, int64_t child);
  // Removes the child's checkpoint (its result is durable). Idempotent.
  void Remove(const std::string& search_id, int64_t child);
  // Every (search, child) with a file, for the sweep after a restart.
  // Folders or entries that cannot be read are skipped with a warning.
  std::vector<std::pair<std::string, int64_t>> List();
  // The children of one search with a file (none for an unknown search).
  std::vector<int64_t> Children(const std::string& search_id);

  int64_t max_bytes() const { return options_.max_bytes; }
  // Children in the epoch cache: those with a file that were asked about
  // or written since start-up (memory use).
  size_t cached_children();

 private:
  using Key = std::pair<std::string, int64_t>;

  explicit CheckpointStore(const Options& options) : options_(options) {}
  std::string PathOf(const std::string& search_id, int64_t child) const;
  int EpochLocked(const Key& key) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void EndUpload();
  // Removes a damaged file if `path` still names the file read.
  void RemoveDamaged(const std::string& search_id, int64_t child,
                     const std::string& path, const FileIdentity& identity,
                     const std::string& why);

  // Constant after construction.
  const Options options_;

  absl::Mutex mu_;
  // Epochs of the children that have a file (a cache of their headers).
  std::map<Key, int> epochs_ ABSL_GUARDED_BY(mu_);
  int uploads_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace amoeba

#endif  // AMOEBA_STORE_CHECKPOINT_STORE_H_
