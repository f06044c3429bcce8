#include "trainer/step_graph.h"

#include <chrono>

#include "absl/strings/str_cat.h"
#include "trainer/torch_util.h"

#if AMOEBA_CUDA_HEADERS
#include <ATen/autocast_mode.h>
#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#endif

namespace amoeba {

#if AMOEBA_CUDA_HEADERS
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
  NetworkOptions network_options = o.network;
  network_options.drop_path = 0;
  torch::manual_seed(0);
  Network network(genotype, network_options);
  network->to(device);
  if (o.channels_last) UseChannelsLast(network);
  network->train();
  torch::optim::SGD optimizer(
      network->parameters(),
      torch::optim::SGDOptions(0.01).momentum(0.9).weight_decay(5e-4));

  // Static inputs: a captured graph reads these same addresses every
  // replay.
  const int c = network_options.input_channels;
  const int s = network_options.image_size;
  torch::Tensor images =
      torch::randn({o.batch_size, c, s, s}, torch::TensorOptions(device));
  if (o.channels_last) images = ToChannelsLast(images);
  const torch::Tensor labels = torch::randint(
      0, network_options.num_classes, {o.batch_size},
      torch::TensorOptions(device).dtype(torch::kInt64));
  torch::cuda::synchronize(device.index());

  // Autocast's cache of casted weights would hand the capture tensors that
  // die with the cache: graphs run with it off (as PyTorch's own advice).
  const bool cache_was_enabled = at::autocast::is_autocast_cache_enabled();
  at::autocast::set_autocast_cache_enabled(false);
  auto step_body = [&]() {
    AutocastScope autocast(o.precision, device);
    NetworkOutput out = network->forward(images);
    torch::Tensor loss = Loss(out.logits, labels, 0.0);
    if (out.aux_logits.defined()) {
      loss = loss + 0.4 * Loss(out.aux_logits, labels, 0.0);
    }
    loss.backward();
    optimizer.step();
  };

  // Capture needs a stream other than the default one; eager steps run on
  // the same stream so that the two are timed alike.
  c10::cuda::CUDAStream stream =
      c10::cuda::getStreamFromPool(/*isHighPriority=*/false, device.index());
  PlainStepTimes times;
  {
    c10::cuda::CUDAStreamGuard guard(stream);
    for (int i = 0; i < o.warmup_steps; ++i) {
      optimizer.zero_grad();
      step_body();
    }
    stream.synchronize();
    auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < o.timed_steps; ++i) {
      optimizer.zero_grad();
      step_body();
    }
    stream.synchronize();
    times.eager_ms = MillisecondsPerStep(start, o.timed_steps);

    // Gradients unset before the capture: the captured backward then
    // writes them (into the graph's memory) instead of adding to them, and
    // every replay overwrites them.
    for (auto& p : network->parameters()) p.mutable_grad() = torch::Tensor();
    at::cuda::CUDAGraph graph;
    graph.capture_begin();
    step_body();
    graph.capture_end();
    stream.synchronize();
    graph.replay();  // the first replay uploads the graph
    stream.synchronize();
    start = std::chrono::steady_clock::now();
    for (int i = 0; i < o.timed_steps; ++i) graph.replay();
    stream.synchronize();
    times.graph_ms = MillisecondsPerStep(start, o.timed_steps);
  }
  at::autocast::set_autocast_cache_enabled(cache_was_enabled);
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
#if AMOEBA_CUDA_HEADERS
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
      "CUDA graphs need the CMake build against a CUDA LibTorch "
      "(AMOEBA_CUDA_HEADERS)");
#endif
}

}  // namespace amoeba
