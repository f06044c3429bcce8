// Small pieces shared by the training code: LibTorch's exceptions turned
// into statuses, the channels-last layout, the loss. Internal to trainer/.
#ifndef AMOEBA_TRAINER_TORCH_UTIL_H_
#define AMOEBA_TRAINER_TORCH_UTIL_H_

#include <torch/types.h>

#include <exception>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "trainer/network.h"

namespace amoeba {

// LibTorch reports errors as exceptions; inside trainer/ they become
// statuses. Out-of-memory is told apart (ResourceExhausted) so the worker
// can report it as such; anything else is Internal. `during` completes
// "... while <during>".
absl::Status TorchErrorToStatus(const std::exception& e,
                                absl::string_view during);

// Runs `fn` (returning a Status or StatusOr) and converts any exception.
template <typename Fn>
auto GuardTorch(absl::string_view during, Fn&& fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const std::exception& e) {
    return TorchErrorToStatus(e, during);
  }
}

// `t` in NHWC strides (a copy unless it has them already).
torch::Tensor ToChannelsLast(const torch::Tensor& t);

// The network's 4-d weights in NHWC strides.
void UseChannelsLast(Network& network);

// Cross-entropy in fp32 (also under autocast), with label smoothing.
torch::Tensor Loss(const torch::Tensor& logits, const torch::Tensor& labels,
                   double label_smoothing);

}  // namespace amoeba

#endif  // AMOEBA_TRAINER_TORCH_UTIL_H_
