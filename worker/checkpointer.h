// Where a worker keeps the checkpoints of its long tasks (tasks whose
// settings have checkpoint_every > 0, e.g. final training), so that the
// next holder of a task resumes where the last one checkpointed instead of
// at epoch 0:
//  * FolderCheckpointer: a folder every worker reaches (--checkpoint_dir,
//    e.g. on NFS): FOLDER/<search>/<child>.ckpt;
//  * ControllerCheckpointer: uploaded to the controller (UploadCheckpoint)
//    and fetched from it (DownloadCheckpoint) when the task says it keeps
//    one.
// A checkpoint holds its job's key (trainer/training_state.h): the trainer
// refuses one of another job, whoever wrote it.
//
// Thread safety: all methods may be called from any thread.
#ifndef AMOEBA_WORKER_CHECKPOINTER_H_
#define AMOEBA_WORKER_CHECKPOINTER_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/checkpoint_file.h"
#include "proto/controller.grpc.pb.h"

namespace amoeba {

// The header of `state`, the checkpoint of `task` after `epoch`, as
// `worker_id` uploads it.
v1::CheckpointHeader CheckpointHeaderFor(const std::string& worker_id,
                                         const v1::Task& task, int epoch,
                                         const std::string& state);

class Checkpointer {
 public:
  virtual ~Checkpointer() = default;
  // Keeps `state`, the training state of `task` after `epoch`. The caller
  // treats a failure as lost work, not as a failed task. A checkpoint of
  // that epoch or a later one already kept is nothing lost: the folder
  // says AlreadyExists, the controller acknowledges (OK).
  virtual absl::Status Save(const v1::Task& task, int epoch,
                            const std::string& state) = 0;
  // The newest checkpoint of `task`'s child: NotFound when there is none;
  // DataLoss (damaged, truncated) or another error when it cannot be used.
  virtual absl::StatusOr<CheckpointData> Load(const v1::Task& task) = 0;
  // The child's result is acknowledged: its checkpoint may go.
  virtual void Forget(const std::string& search_id, int64_t child) = 0;
};

// One file per child and epoch, FOLDER/<search>/<child>.e<epoch>.ckpt,
// written atomically (common/atomic_file.h). Writers on many hosts share
// the folder with no lock between them, so nothing here checks and then
// acts: a writer adds its epoch's file and removes only files of older
// epochs, and Load takes the newest file that reads whole. A stale holder
// that writes an older epoch last adds a file nobody loads; the newest
// epoch's file is never removed by anyone but Forget.
class FolderCheckpointer final : public Checkpointer {
 public:
  // `max_bytes` bounds what Load reads.
  explicit FolderCheckpointer(std::string dir,
                              int64_t max_bytes = int64_t{16} << 30)
      : dir_(std::move(dir)), max_bytes_(max_bytes) {}

  absl::Status Save(const v1::Task& task, int epoch,
                    const std::string& state) override;
  // The newest checkpoint that reads whole; DataLoss naming the newest
  // file when there are files and none does.
  absl::StatusOr<CheckpointData> Load(const v1::Task& task) override;
  void Forget(const std::string& search_id, int64_t child) override;

  // The file of `task`'s checkpoint at `epoch`.
  std::string PathOf(const v1::Task& task, int epoch) const;

 private:
  // The epochs of the child's files, newest first, with their paths
  // (a file of the older single-file layout, <child>.ckpt, counts with the
  // epoch in its header).
  std::vector<std::pair<int, std::string>> Files(const std::string& search_id,
                                                 int64_t child) const;

  const std::string dir_;
  const int64_t max_bytes_;
};

// What a ControllerCheckpointer carries.
enum class Carries {
  // Training states of the task's own child (checkpoint_every).
  kTrainingStates,
  // Weight inheritance: Save uploads the child's trained weights
  // (Task.keep_weights), Load fetches its parent's (Task.inherit_from).
  kWeights,
};

class ControllerCheckpointer final : public Checkpointer {
 public:
  // `stub` must outlive this object. `context` makes each call's context
  // (token, deadline); checkpoints are large, so `deadline` is the whole
  // transfer's.
  ControllerCheckpointer(
      v1::Controller::Stub* stub, std::string worker_id,
      std::function<std::unique_ptr<grpc::ClientContext>()> context,
      absl::Duration deadline, Carries carries = Carries::kTrainingStates);

  absl::Status Save(const v1::Task& task, int epoch,
                    const std::string& state) override;
  // NotFound without a call when the task says the controller keeps none
  // (no checkpoint_epoch; for weights, no inherit_from).
  absl::StatusOr<CheckpointData> Load(const v1::Task& task) override;
  // The controller removes it itself once the result is durable.
  void Forget(const std::string& search_id, int64_t child) override {}

  // Bytes per UploadCheckpoint message.
  static constexpr size_t kChunkBytes = 1 << 20;

 private:
  std::unique_ptr<grpc::ClientContext> Context() const;

  v1::Controller::Stub* const stub_;
  const std::string worker_id_;
  const std::function<std::unique_ptr<grpc::ClientContext>()> context_;
  const absl::Duration deadline_;
  const Carries carries_;
};

}  // namespace amoeba

#endif  // AMOEBA_WORKER_CHECKPOINTER_H_
