// Saving a trained model and loading it back for evaluation: the weights
// plus everything needed to rebuild the network (genotype text, network
// options, input normalization) in one LibTorch archive.
#ifndef AMOEBA_TRAINER_SAVED_MODEL_H_
#define AMOEBA_TRAINER_SAVED_MODEL_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "trainer/train.h"

namespace amoeba {

// Writes `model` to `path` (through a temporary file renamed into place, so
// a crash never leaves a half-written checkpoint under the final name).
absl::Status SaveModel(const TrainedModel& model, const std::string& path);

// The bytes SaveModel writes, and the model back from them (the same
// errors as LoadModel's, naming `what`): for models that travel, e.g. a
// parent's weights for its children (weight_inheritance.h).
absl::StatusOr<std::string> SerializeModel(const TrainedModel& model);
absl::StatusOr<TrainedModel> ParseModel(const std::string& bytes,
                                        const std::string& what);

// Rebuilds the network on the CPU and loads its weights. NotFound when the
// file is missing; InvalidArgument when it is not an amoeba checkpoint or is
// corrupt. `result` carries only the stored fitness, parameters and
// multiply-adds.
absl::StatusOr<TrainedModel> LoadModel(const std::string& path);

}  // namespace amoeba

#endif  // AMOEBA_TRAINER_SAVED_MODEL_H_
