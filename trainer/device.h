// Where training runs and how: CPU threads, CUDA, cuDNN autotuning,
// channels-last memory format and mixed precision.
#ifndef AMOEBA_TRAINER_DEVICE_H_
#define AMOEBA_TRAINER_DEVICE_H_

#include <torch/types.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace amoeba {

enum class Precision {
  kAuto,  // fp32 on CPU, bf16 autocast on CUDA
  kFloat32,
  kBFloat16,  // autocast (CUDA only)
  kFloat16,   // autocast with dynamic loss scaling (CUDA only)
};

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

// The device, after checking that it exists (CUDA built in and present,
// index in range). InvalidArgument for a malformed name; Unavailable when
// this LibTorch has no CUDA or no such GPU.
absl::StatusOr<torch::Device> ResolveDevice(const DeviceOptions& options);

// Applies the process-wide settings: thread count, cuDNN autotuning.
void ConfigureRuntime(const DeviceOptions& options,
                      const torch::Device& device);

// The precision actually used on `device` (kAuto resolved; reduced
// precision only on CUDA).
Precision EffectivePrecision(Precision requested, const torch::Device& device);

// Autocast for its lifetime on CUDA with bf16/fp16; nothing otherwise.
class AutocastScope {
 public:
  AutocastScope(Precision precision, const torch::Device& device);
  ~AutocastScope();
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  bool active_ = false;
  bool previous_enabled_ = false;
};

// For its lifetime, the calling thread issues its CUDA work on a stream of
// its own from LibTorch's pool (the current stream is per thread). Without
// it every thread of the process shares the default stream, on which the
// children of a multi-slot worker queue behind each other even while the
// GPU has room to run them side by side. Nothing on CPU, when
// `options.stream_per_thread` is false, or in a build without CUDA.
//
// Work queued inside the scope completes in order on that stream; callers
// that hand tensors to other threads synchronize first (PrepareData does).
// A thread already on a stream other than the default stays on it.
class DeviceStreamScope {
 public:
  // `force`: a stream of its own even when `options.stream_per_thread` is
  // false (a CUDA graph cannot be captured on the default stream).
  DeviceStreamScope(const DeviceOptions& options, const torch::Device& device,
                    bool force = false);
  ~DeviceStreamScope();
  DeviceStreamScope(const DeviceStreamScope&) = delete;
  DeviceStreamScope& operator=(const DeviceStreamScope&) = delete;

  // True when the thread runs on a stream of its own.
  bool active() const { return guard_ != nullptr; }

 private:
  struct Guard;  // keeps the CUDA headers out of this one
  std::unique_ptr<Guard> guard_;
};

// Waits until every kernel queued on `device` has finished; nothing on CPU.
void SynchronizeDevice(const torch::Device& device);

// "cpu (2 threads)" or "cuda:0 (NVIDIA H100 ...)" for logs and results.
std::string DescribeDevice(const torch::Device& device);

}  // namespace amoeba

#endif  // AMOEBA_TRAINER_DEVICE_H_
