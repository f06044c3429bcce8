// What a training run asks of its device, without LibTorch: the options
// (device name, CPU threads, precision, CUDA streams and graphs) that flags,
// settings and the worker pass around. trainer/device.h turns them into a
// torch::Device and applies them.
#ifndef AMOEBA_TRAINER_DEVICE_OPTIONS_H_
#define AMOEBA_TRAINER_DEVICE_OPTIONS_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace amoeba {

enum class Precision {
  kAuto,  // fp32 on CPU, bf16 autocast on CUDA
  kFloat32,
  kBFloat16,  // autocast (CUDA only)
  kFloat16,   // autocast with dynamic loss scaling (CUDA only)
};

// "auto", "fp32", "bf16", "fp16" (or float32, bfloat16, float16), any
// case; InvalidArgument naming the known ones otherwise.
absl::StatusOr<Precision> PrecisionFromName(absl::string_view name);

struct DeviceOptions {
  std::string device = "cpu";  // "cpu", "cuda" or "cuda:N"
  // CPU intra-op threads; 0 = every core of the machine. LibTorch's own
  // default here is 1, so it is always set explicitly.
  int threads = 0;
  bool cudnn_benchmark = true;  // CUDA: autotune convolutions per shape
  // NHWC activations and weights. On CUDA faster with bf16; on CPU the
  // depthwise convolutions' backward is several times faster.
  bool channels_last = true;
  Precision precision = Precision::kAuto;
  // CUDA: each training thread issues its work on a stream of its own (see
  // DeviceStreamScope); false keeps every thread on the default stream.
  bool stream_per_thread = true;
  // CUDA: capture the training step once as a CUDA graph and replay it
  // (trainer/step_graph.h). Used where the step allows it (no dropout, drop
  // path, gradient clipping or fp16 loss scaling) and the build can
  // capture; otherwise, and on CPU, ignored.
  bool cuda_graphs = false;
};

// OK when the device exists (ResolveDevice in device.h succeeds):
// InvalidArgument for a malformed name; Unavailable when this LibTorch has
// no CUDA or no such GPU. Defined in device.cc (it asks LibTorch): link
// //trainer:train to call it.
absl::Status CheckDevice(const DeviceOptions& options);

}  // namespace amoeba

#endif  // AMOEBA_TRAINER_DEVICE_OPTIONS_H_
