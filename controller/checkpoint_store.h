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
//    found.
// Who may write (the holder of the child's current lease) is the
// Controller's check, not this class's.
//
// Thread safety: all methods may be called from any thread.
#ifndef AMOEBA_CONTROLLER_CHECKPOINT_STORE_H_
#define AMOEBA_CONTROLLER_CHECKPOINT_STORE_H_

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
    // Largest payload kept (--max_checkpoint_bytes).
    int64_t max_bytes = int64_t{4} << 30;
  };

  // Creates the folder if needed. InvalidArgument for an empty folder name
  // or a limit below 1; Internal when the folder cannot be created.
  static absl::StatusOr<std::unique_ptr<CheckpointStore>> Open(
      const Options& options);

  // Keeps `payload` as the child's checkpoint at `epoch` unless a checkpoint
  // of that epoch or a newer one is kept; returns the epoch kept now.
  // ResourceExhausted beyond max_bytes (nothing written); Internal when the
  // file cannot be written (the old one stays).
  absl::StatusOr<int> Put(const std::string& search_id, int64_t child,
                          int epoch, std::string_view payload);
  // The epoch of the child's newest checkpoint; 0 when none is kept.
  int Epoch(const std::string& search_id, int64_t child);
  // NotFound when none is kept; DataLoss when the file is damaged (it is
  // removed).
  absl::StatusOr<CheckpointData> Get(const std::string& search_id,
                                     int64_t child);
  // Removes the child's checkpoint (its result is durable). Idempotent.
  void Remove(const std::string& search_id, int64_t child);
  // Every (search, child) with a file, for the sweep after a restart.
  std::vector<std::pair<std::string, int64_t>> List();

  int64_t max_bytes() const { return options_.max_bytes; }

 private:
  explicit CheckpointStore(const Options& options) : options_(options) {}
  std::string PathOf(const std::string& search_id, int64_t child) const;
  int EpochLocked(const std::string& search_id, int64_t child)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Constant after construction.
  const Options options_;

  // Held while a file is written: uploads are rare and large, and one at a
  // time keeps the epoch check and the rename together.
  absl::Mutex mu_;
  // Epochs read or written so far (a cache of the files' headers).
  std::map<std::pair<std::string, int64_t>, int> epochs_ ABSL_GUARDED_BY(mu_);
};

}  // namespace amoeba

#endif  // AMOEBA_CONTROLLER_CHECKPOINT_STORE_H_
