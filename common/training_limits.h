// The bounds of the training settings, and their checks, in one place: the
// controller checks a search's settings with these when it is created, and
// the trainer checks its options with the same ones, so a setting the
// controller accepts is never refused by a worker hours later (and the
// other way round). Each check returns InvalidArgument with one message,
// "<what> must be in <range>, got <value>".
#ifndef AMOEBA_COMMON_TRAINING_LIMITS_H_
#define AMOEBA_COMMON_TRAINING_LIMITS_H_

#include "absl/status/status.h"

namespace amoeba {

inline constexpr int kMinEpochs = 1;
inline constexpr int kMaxEpochs = 10000;  // the paper's longest: 600
inline constexpr int kMinBatchSize = 2;   // batch norm needs two samples
inline constexpr int kMaxBatchSize = 65536;
inline constexpr int kMinCellsPerStack = 1;
inline constexpr int kMaxCellsPerStack = 64;
inline constexpr int kMinFilters = 2;
inline constexpr int kMaxFilters = 4096;

absl::Status CheckEpochs(int epochs);
absl::Status CheckBatchSize(int batch_size);
absl::Status CheckCellsPerStack(int cells_per_stack);  // N
absl::Status CheckFilters(int filters);                // F
// Finite and > 0.
absl::Status CheckLearningRate(double learning_rate);
// Finite and >= 0.
absl::Status CheckWeightDecay(double weight_decay);

}  // namespace amoeba

#endif  // AMOEBA_COMMON_TRAINING_LIMITS_H_
