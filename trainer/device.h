// Where training runs and how: CPU threads, CUDA, cuDNN autotuning,
// channels-last memory format and mixed precision.
#ifndef AMOEBA_TRAINER_DEVICE_H_
#define AMOEBA_TRAINER_DEVICE_H_

#include <torch/types.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "trainer/device_options.h"

namespace amoeba {

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
