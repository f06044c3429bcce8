// The worker's transfers of training state and weights around an
// evaluation: the callbacks that connect an Evaluator to the Checkpointers.
#include <string>
#include <utility>

#include "absl/time/clock.h"
#include "glog/logging.h"
#include "worker/worker.h"
#include "worker/worker_metrics.h"

namespace amoeba {

void Worker::AddCheckpointCallbacks(const v1::Task& task,
                                    EvaluationCallbacks* callbacks) {
  if (task.settings().checkpoint_every() <= 0) return;
  callbacks->save_checkpoint = [this, &task](int epoch,
                                             const std::string& state) {
    const absl::Time start = absl::Now();
    const absl::Status saved = checkpointer_->Save(task, epoch, state);
    if (saved.ok() && options_.metrics != nullptr) {
      options_.metrics->CheckpointSaved(static_cast<int64_t>(state.size()),
                                        absl::Now() - start);
    }
    if (saved.ok()) {
      LOG(INFO) << "child " << task.model_id() << ": checkpoint after epoch "
                << epoch << " kept (" << state.size() << " bytes)";
    } else {
      LOG(WARNING) << "child " << task.model_id()
                   << ": checkpoint after epoch " << epoch
                   << " not kept (training goes on): " << saved;
    }
  };
  callbacks->load_checkpoint = [this, &task]() -> std::string {
    const absl::Time start = absl::Now();
    absl::StatusOr<CheckpointData> loaded = checkpointer_->Load(task);
    if (absl::IsNotFound(loaded.status())) return "";
    if (loaded.ok() && options_.metrics != nullptr) {
      options_.metrics->CheckpointLoaded(
          static_cast<int64_t>(loaded->payload.size()), absl::Now() - start);
    }
    if (!loaded.ok()) {
      LOG(WARNING) << "child " << task.model_id()
                   << ": its checkpoint cannot be used ("
                   << loaded.status().message()
                   << "); starting over from epoch 0";
      return "";
    }
    LOG(INFO) << "child " << task.model_id() << " (attempt " << task.attempt()
              << "): resuming after epoch " << loaded->epoch
              << " from its checkpoint";
    return std::move(loaded->payload);
  };
}

void Worker::AddWeightCallbacks(const v1::Task& task,
                                EvaluationCallbacks* callbacks) {
  if (task.inherit_from() > 0) {
    callbacks->load_parent_weights =
        [this, &task]() -> absl::StatusOr<std::string> {
      absl::StatusOr<CheckpointData> loaded = weights_->Load(task);
      if (!loaded.ok()) return loaded.status();
      LOG(INFO) << "child " << task.model_id() << ": starts from the weights "
                << "of parent " << task.inherit_from() << " ("
                << loaded->payload.size() << " bytes)";
      return std::move(loaded->payload);
    };
  }
  if (task.keep_weights()) {
    // Sent while this worker still holds the child, before its result: a
    // refusal (stale holder, too large) loses only this child's value as
    // a parent, never its result.
    callbacks->save_weights = [this, &task](int epochs,
                                            const std::string& weights) {
      const absl::Status saved = weights_->Save(task, epochs, weights);
      if (!saved.ok()) {
        LOG(WARNING) << "child " << task.model_id()
                     << ": its weights were not kept (its children will "
                     << "train from fresh weights): " << saved;
      }
    };
  }
}

}  // namespace amoeba
