#include "trainer/torch_util.h"

#include <torch/nn/functional/loss.h>

#include <new>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace amoeba {

absl::Status TorchErrorToStatus(const std::exception& e,
                                absl::string_view during) {
  std::string what = e.what();
  if (const auto* c10_error = dynamic_cast<const c10::Error*>(&e)) {
    what = c10_error->what_without_backtrace();
  }
  if (what.size() > 2000) what = what.substr(0, 2000) + "...";
  // CUDA says "out of memory"; LibTorch's CPU allocators "not enough memory".
  if (absl::StrContains(what, "out of memory") ||
      absl::StrContains(what, "not enough memory") ||
      dynamic_cast<const std::bad_alloc*>(&e) != nullptr) {
    return absl::ResourceExhaustedError(
        absl::StrCat("out of memory while ", during, ": ", what));
  }
  return absl::InternalError(
      absl::StrCat("LibTorch error while ", during, ": ", what));
}

// contiguous(ChannelsLast) keeps a tensor whose strides already qualify,
// and with one channel (a Fashion-MNIST batch, the stem's weight, every
// depthwise weight) NCHW strides do; MKL-DNN and cuDNN then still see NCHW
// and reorder to and from their blocked layouts around every convolution.
// A copy into NHWC's own strides is unambiguous.
torch::Tensor ToChannelsLast(const torch::Tensor& t) {
  if (t.suggest_memory_format() == c10::MemoryFormat::ChannelsLast) return t;
  return torch::empty_like(t, {}, c10::MemoryFormat::ChannelsLast).copy_(t);
}

void UseChannelsLast(Network& network) {
  torch::NoGradGuard no_grad;
  for (auto& p : network->parameters()) {
    if (p.dim() == 4) p.set_data(ToChannelsLast(p.data()));
  }
}

torch::Tensor Loss(const torch::Tensor& logits, const torch::Tensor& labels,
                   double label_smoothing) {
  return torch::nn::functional::cross_entropy(
      logits.to(torch::kFloat32), labels,
      torch::nn::functional::CrossEntropyFuncOptions().label_smoothing(
          label_smoothing));
}

}  // namespace amoeba
