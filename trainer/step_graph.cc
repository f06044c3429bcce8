#include "trainer/step_graph.h"

#include <torch/cuda.h>
#include <torch/version.h>

#include <chrono>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "trainer/momentum_sgd.h"
#include "trainer/torch_util.h"

#if AMOEBA_CUDA_HEADERS
#include <ATen/autocast_mode.h>
#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDAStream.h>
#endif

// Thread-local capture mode (capture_begin's second argument) came with
// LibTorch 2.
#if AMOEBA_CUDA_HEADERS && TORCH_VERSION_MAJOR >= 2
#define AMOEBA_CAN_CAPTURE 1
#else
#define AMOEBA_CAN_CAPTURE 0
#endif

namespace amoeba {

struct StepGraph::Impl {
#if AMOEBA_CAN_CAPTURE
  at::cuda::CUDAGraph graph;
#endif
  // The captured kernels read and write these addresses on every replay.
  torch::Tensor images;
  torch::Tensor labels;
  torch::Tensor lr;
  Outputs outputs;
};

StepGraph::StepGraph(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
StepGraph::~StepGraph() = default;

bool StepGraph::Available() { return AMOEBA_CAN_CAPTURE; }

int64_t StepGraph::batch_size() const { return impl_->images.size(0); }
const StepGraph::Outputs& StepGraph::outputs() const { return impl_->outputs; }
const torch::Tensor& StepGraph::labels() const { return impl_->labels; }

absl::StatusOr<std::unique_ptr<StepGraph>> StepGraph::Capture(
    const Body& body, const torch::Tensor& images,
    const torch::Tensor& labels) {
#if AMOEBA_CAN_CAPTURE
  return GuardTorch(
      "capturing a training step as a CUDA graph",
      [&]() -> absl::StatusOr<std::unique_ptr<StepGraph>> {
        const c10::DeviceIndex index = images.device().index();
        const c10::cuda::CUDAStream stream =
            c10::cuda::getCurrentCUDAStream(index);
        if (!images.is_cuda() ||
            stream == c10::cuda::getDefaultCUDAStream(index)) {
          return absl::FailedPreconditionError(
              "a CUDA graph is captured on a CUDA stream other than the "
              "default one");
        }
        auto impl = std::make_unique<Impl>();
        impl->images = images.clone();  // keeps channels-last strides
        impl->labels = labels.clone();
        impl->lr = torch::zeros({}, images.options().dtype(torch::kFloat32));
        stream.synchronize();
        const bool cache_enabled = at::autocast::is_autocast_cache_enabled();
        at::autocast::set_autocast_cache_enabled(false);
        try {
          // Thread-local: other threads (worker slots) may allocate and
          // launch while this one captures.
          impl->graph.capture_begin({0, 0}, cudaStreamCaptureModeThreadLocal);
          impl->outputs = body(impl->images, impl->labels, impl->lr);
          impl->graph.capture_end();
        } catch (...) {
          at::autocast::set_autocast_cache_enabled(cache_enabled);
          throw;
        }
        at::autocast::set_autocast_cache_enabled(cache_enabled);
        return std::unique_ptr<StepGraph>(new StepGraph(std::move(impl)));
      });
#else
  (void)body;
  (void)images;
  (void)labels;
  return absl::UnimplementedError(
      "CUDA graphs need the CMake build against a CUDA LibTorch 2 or later "
      "(AMOEBA_CUDA_HEADERS)");
#endif
}

void StepGraph::Replay(const torch::Tensor& images, const torch::Tensor& labels,
                       double lr) {
  torch::NoGradGuard no_grad;
  impl_->images.copy_(images);
  impl_->labels.copy_(labels);
  impl_->lr.fill_(lr);
#if AMOEBA_CAN_CAPTURE
  impl_->graph.replay();
#endif
}

#if AMOEBA_CAN_CAPTURE
namespace {

double MillisecondsPerStep(std::chrono::steady_clock::time_point start,
                           int steps) {
  return 1000.0 *
         std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                       start)
             .count() /
         steps;
}

absl::StatusOr<PlainStepTimes> TimeOnCuda(const Genotype& genotype,
                                          const PlainStepOptions& o,
                                          const torch::Device& device) {
  // Eager steps and the capture on a stream of their own (a capture cannot
  // use the default stream).
  DeviceStreamScope stream(DeviceOptions(), device, /*force=*/true);
  NetworkOptions network_options = o.network;
  network_options.drop_path = 0;
  network_options.dropout = 0;
  torch::manual_seed(0);
  Network network(genotype, network_options);
  network->to(device);
  if (o.channels_last) UseChannelsLast(network);
  network->train();
  MomentumSgd optimizer(network->parameters(), 0.9, 5e-4);

  const int c = network_options.input_channels;
  const int s = network_options.image_size;
  torch::Tensor images =
      torch::randn({o.batch_size, c, s, s}, torch::TensorOptions(device));
  if (o.channels_last) images = ToChannelsLast(images);
  const torch::Tensor labels = torch::randint(
      0, network_options.num_classes, {o.batch_size},
      torch::TensorOptions(device).dtype(torch::kInt64));
  const torch::Tensor lr =
      torch::full({}, 0.01, torch::TensorOptions(device).dtype(torch::kFloat32));

  const StepGraph::Body body = [&](const torch::Tensor& x,
                                   const torch::Tensor& y,
                                   const torch::Tensor& step_lr) {
    StepGraph::Outputs out;
    {
      AutocastScope autocast(o.precision, device);
      NetworkOutput forward = network->forward(x);
      out.logits = forward.logits;
      out.loss = Loss(forward.logits, y, 0.0);
    }
    optimizer.ZeroGrad();
    out.loss.backward();
    optimizer.Step(step_lr);
    return out;
  };
  // Warm-up: creates the gradients and momentum buffers, and lets cuDNN
  // choose its kernels, before anything is timed or captured.
  for (int i = 0; i < o.warmup_steps; ++i) body(images, labels, lr);
  torch::cuda::synchronize(device.index());

  PlainStepTimes times;
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < o.timed_steps; ++i) body(images, labels, lr);
  torch::cuda::synchronize(device.index());
  times.eager_ms = MillisecondsPerStep(start, o.timed_steps);

  optimizer.ClearGrads();
  ASSIGN_OR_RETURN(std::unique_ptr<StepGraph> graph,
                   StepGraph::Capture(body, images, labels));
  graph->Replay(images, labels, 0.01);  // the first replay uploads the graph
  torch::cuda::synchronize(device.index());
  start = std::chrono::steady_clock::now();
  for (int i = 0; i < o.timed_steps; ++i) graph->Replay(images, labels, 0.01);
  torch::cuda::synchronize(device.index());
  times.graph_ms = MillisecondsPerStep(start, o.timed_steps);
  return times;
}

}  // namespace
#endif

absl::StatusOr<PlainStepTimes> TimePlainStep(const Genotype& genotype,
                                             const PlainStepOptions& options,
                                             const torch::Device& device) {
  if (options.batch_size <= 0 || options.timed_steps <= 0 ||
      options.warmup_steps < 1) {
    return absl::InvalidArgumentError(
        "batch_size and timed_steps must be positive, warmup_steps >= 1");
  }
#if AMOEBA_CAN_CAPTURE
  if (!device.is_cuda()) {
    return absl::UnimplementedError(
        absl::StrCat("CUDA graphs need a CUDA device, not ", device.str()));
  }
  return GuardTorch("timing a CUDA graph of one training step",
                    [&] { return TimeOnCuda(genotype, options, device); });
#else
  (void)genotype;
  (void)device;
  return absl::UnimplementedError(
      "CUDA graphs need the CMake build against a CUDA LibTorch 2 or later "
      "(AMOEBA_CUDA_HEADERS)");
#endif
}

}  // namespace amoeba
