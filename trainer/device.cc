#include "trainer/device.h"

#include <torch/cuda.h>
#include <torch/utils.h>
#include <ATen/autocast_mode.h>
#include <torch/version.h>

#include <thread>

#if AMOEBA_CUDA_HEADERS
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#endif

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace amoeba {
namespace {

// LibTorch 2.4 replaced the CUDA-specific autocast setters with per-device
// ones; both are supported so GPU hosts can use a current LibTorch.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
bool AutocastEnabled() { return at::autocast::is_autocast_enabled(at::kCUDA); }
void SetAutocast(bool enabled, at::ScalarType dtype) {
  at::autocast::set_autocast_enabled(at::kCUDA, enabled);
  at::autocast::set_autocast_dtype(at::kCUDA, dtype);
}
#else
bool AutocastEnabled() { return at::autocast::is_enabled(); }
void SetAutocast(bool enabled, at::ScalarType dtype) {
  at::autocast::set_enabled(enabled);
  at::autocast::set_autocast_gpu_dtype(dtype);
}
#endif

}  // namespace

absl::Status CheckDevice(const DeviceOptions& options) {
  return ResolveDevice(options).status();
}

absl::StatusOr<torch::Device> ResolveDevice(const DeviceOptions& options) {
  const std::string name = absl::AsciiStrToLower(options.device);
  if (name == "cpu") return torch::Device(torch::kCPU);
  int index = 0;
  if (name == "cuda") {
    index = 0;
  } else if (name.rfind("cuda:", 0) == 0 &&
             absl::SimpleAtoi(name.substr(5), &index) && index >= 0) {
  } else {
    return absl::InvalidArgumentError(absl::StrCat(
        "unknown device '", options.device, "'; use cpu, cuda or cuda:N"));
  }
  if (!torch::cuda::is_available()) {
    return absl::UnavailableError(absl::StrCat(
        "device ", options.device,
        ": this LibTorch has no CUDA or sees no GPU (build against a CUDA "
        "LibTorch: docs/building.md)"));
  }
  const int count = static_cast<int>(torch::cuda::device_count());
  if (index >= count) {
    return absl::UnavailableError(absl::StrFormat(
        "device %s: only %d GPU(s) visible", options.device, count));
  }
  return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(index));
}

void ConfigureRuntime(const DeviceOptions& options,
                      const torch::Device& device) {
  int threads = options.threads;
  if (threads <= 0) {
    threads = static_cast<int>(std::thread::hardware_concurrency());
    if (threads <= 0) threads = 1;
  }
  // Always set: the pool may report this count without having been sized
  // to it (seen with Debian's LibTorch on 2-core machines).
  torch::set_num_threads(threads);
  if (device.is_cuda()) {
    at::globalContext().setBenchmarkCuDNN(options.cudnn_benchmark);
  }
}

Precision EffectivePrecision(Precision requested, const torch::Device& device) {
  if (!device.is_cuda()) return Precision::kFloat32;
  return requested == Precision::kAuto ? Precision::kBFloat16 : requested;
}

AutocastScope::AutocastScope(Precision precision, const torch::Device& device) {
  const Precision effective = EffectivePrecision(precision, device);
  if (effective != Precision::kBFloat16 && effective != Precision::kFloat16) {
    return;
  }
  active_ = true;
  previous_enabled_ = AutocastEnabled();
  SetAutocast(true, effective == Precision::kBFloat16 ? at::kBFloat16
                                                      : at::kHalf);
  at::autocast::increment_nesting();
}

AutocastScope::~AutocastScope() {
  if (!active_) return;
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  SetAutocast(previous_enabled_, at::kBFloat16);
}

#if AMOEBA_CUDA_HEADERS
struct DeviceStreamScope::Guard {
  explicit Guard(c10::Stream stream) : guard(stream) {}
  c10::cuda::CUDAStreamGuard guard;
};
#else
struct DeviceStreamScope::Guard {};
#endif

DeviceStreamScope::DeviceStreamScope(const DeviceOptions& options,
                                     const torch::Device& device, bool force) {
#if AMOEBA_CUDA_HEADERS
  if (!device.is_cuda() || !(options.stream_per_thread || force)) return;
  if (c10::cuda::getCurrentCUDAStream(device.index()) !=
      c10::cuda::getDefaultCUDAStream(device.index())) {
    return;  // already on a stream of its own
  }
  // Whatever the default stream still has queued completes before this
  // stream's first kernel (streams from the pool do not wait for it); the
  // other threads' streams are not waited for.
  c10::cuda::getDefaultCUDAStream(device.index()).synchronize();
  guard_ = std::make_unique<Guard>(
      c10::cuda::getStreamFromPool(/*isHighPriority=*/false, device.index()));
#else
  (void)options;
  (void)device;
  (void)force;
#endif
}

DeviceStreamScope::~DeviceStreamScope() = default;

void SynchronizeDevice(const torch::Device& device) {
  if (device.is_cuda()) torch::cuda::synchronize(device.index());
}

std::string DescribeDevice(const torch::Device& device) {
  if (device.is_cpu()) {
    return absl::StrFormat("cpu (%d threads)", torch::get_num_threads());
  }
  return device.str();
}

}  // namespace amoeba
