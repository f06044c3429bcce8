// The whole state of a training run at the end of an epoch, as a checkpoint
// holds it: enough for a run resumed from it to end with exactly the
// weights of a run that was never interrupted (on CPU; see train.h).
//
// Serialized as one LibTorch archive. The state names the job it belongs
// to (`key`, chosen by the caller: search, child, settings), so that a run
// never resumes from another job's checkpoint.
#ifndef AMOEBA_TRAINER_TRAINING_STATE_H_
#define AMOEBA_TRAINER_TRAINING_STATE_H_

#include <torch/types.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "common/rng.h"

namespace amoeba {

struct TrainingState {
  std::string key;  // the job (TrainOptions::checkpoint_key)
  int epoch = 0;    // epochs completed
  int epochs = 0;   // of the run
  int64_t step = 0;
  int64_t images_seen = 0;
  double train_seconds = 0;
  double validation_accuracy = -1;
  Rng::State order_rng{};         // data order
  torch::Tensor augment_rng;      // torch::Generator::get_state()
  torch::Tensor training_rng;     // drop path, dropout
  std::vector<torch::Tensor> optimizer;  // Optimizer::State()
  // WeightAverage::State() when the run keeps one, else empty.
  std::vector<torch::Tensor> average;
  // Parameters and buffers of the network by their names.
  std::vector<std::pair<std::string, torch::Tensor>> network;
};

// The bytes of `state`. Internal when LibTorch fails to write.
absl::StatusOr<std::string> SerializeTrainingState(const TrainingState& state);

// InvalidArgument naming what is wrong when `bytes` are not a complete
// training state (truncated, damaged, another format).
absl::StatusOr<TrainingState> ParseTrainingState(std::string_view bytes);

}  // namespace amoeba

#endif  // AMOEBA_TRAINER_TRAINING_STATE_H_
