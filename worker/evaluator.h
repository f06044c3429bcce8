// What a worker does with a child: evaluate it and say how fit it is.
// Two implementations: LibTorchEvaluator (real training, the default) and
// SimulatedEvaluator (a clearly labelled stand-in for scale and fault tests).
#ifndef AMOEBA_WORKER_EVALUATOR_H_
#define AMOEBA_WORKER_EVALUATOR_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "proto/controller.pb.h"

namespace amoeba {

struct EvaluationProgress {
  int epoch = 0;
  int epochs = 0;
  double train_loss = 0;
  double train_accuracy = 0;
  double validation_accuracy = -1;
  double images_per_second = 0;
};

struct EvaluationCallbacks {
  std::function<void(const EvaluationProgress&)> on_progress;
  std::function<bool()> should_cancel;  // checked between steps
  // Early stopping: asked right after on_progress at the end of an epoch
  // that measured the validation accuracy. True ends the evaluation there,
  // successfully, with that accuracy as the fitness and stopped_epoch set.
  std::function<bool(const EvaluationProgress&)> stop_early;
  // Long tasks (settings.checkpoint_every > 0): receives the training state
  // after every checkpoint_every-th epoch, and is asked once, before
  // training, for a state to resume from ("" for none).
  std::function<void(int epoch, const std::string& state)> save_checkpoint;
  std::function<std::string()> load_checkpoint;
  // Weight inheritance (Task.inherit_from): asked once, before training,
  // for the parent's trained weights (a saved model); an error means the
  // child trains from fresh weights and says why in its result.
  std::function<absl::StatusOr<std::string>()> load_parent_weights;
  // Task.keep_weights: receives the trained model (a saved model) after a
  // successful training, before the evaluation returns (so before the
  // result is reported).
  std::function<void(int epochs, const std::string& weights)> save_weights;
};

// The outcome of one evaluation. A failed evaluation (ok = false) is a
// normal outcome: it carries its reason and whether it is final (diverged).
struct EvaluationResult {
  bool ok = false;
  double fitness = 0;
  int64_t parameters = 0;
  int64_t multiply_adds = 0;
  double train_seconds = 0;
  double images_per_second = 0;
  bool diverged = false;
  bool cancelled = false;
  // The dataset is not on this host (no folder for it, files missing, or
  // a build without its loader): the worker's fault, not the child's.
  bool missing_data = false;
  std::string failure;
  int stopped_epoch = 0;  // early stopping: the epoch it ended at, else 0
  // Weight inheritance: trainable parameters copied from the parent (0:
  // fresh weights), and why none were when the task asked for them.
  int64_t inherited_parameters = 0;
  std::string inheritance_failure;
};

class Evaluator {
 public:
  virtual ~Evaluator() = default;
  // "libtorch" or "simulated"; recorded by the controller with each result.
  virtual std::string name() const = 0;
  // Evaluates `task`. Never throws; may be called from several threads at
  // once (one call per slot).
  virtual EvaluationResult Evaluate(const v1::Task& task,
                                    const EvaluationCallbacks& callbacks) = 0;
};

}  // namespace amoeba

#endif  // AMOEBA_WORKER_EVALUATOR_H_
