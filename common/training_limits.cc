#include "common/training_limits.h"

#include <cmath>

#include "absl/strings/str_format.h"

namespace amoeba {
namespace {

absl::Status InRange(const char* what, int value, int low, int high) {
  if (value >= low && value <= high) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrFormat("%s must be in %d..%d, got %d", what, low, high, value));
}

}  // namespace

absl::Status CheckEpochs(int epochs) {
  return InRange("epochs", epochs, kMinEpochs, kMaxEpochs);
}

absl::Status CheckBatchSize(int batch_size) {
  return InRange("batch size", batch_size, kMinBatchSize, kMaxBatchSize);
}

absl::Status CheckCellsPerStack(int cells_per_stack) {
  return InRange("N (cells per stack)", cells_per_stack, kMinCellsPerStack,
                 kMaxCellsPerStack);
}

absl::Status CheckFilters(int filters) {
  return InRange("F (filters)", filters, kMinFilters, kMaxFilters);
}

absl::Status CheckLearningRate(double learning_rate) {
  if (std::isfinite(learning_rate) && learning_rate > 0) {
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(absl::StrFormat(
      "learning rate must be finite and > 0, got %g", learning_rate));
}

absl::Status CheckWeightDecay(double weight_decay) {
  if (std::isfinite(weight_decay) && weight_decay >= 0) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrFormat(
      "weight decay must be finite and >= 0, got %g", weight_decay));
}

}  // namespace amoeba
