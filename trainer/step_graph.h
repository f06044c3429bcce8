// CUDA graphs of training steps.
//
// StepGraph: the trainer's step (forward, loss, backward, optimizer step)
// captured once and replayed for every later batch of the same size, so
// that the host launches one graph instead of thousands of kernels a step.
//
// TimePlainStep: how much of a training step is kernel-launch overhead. One
// plain step (forward, loss, backward, SGD with momentum; no augmentation,
// drop path or statistics) timed as eager LibTorch calls and as a replayed
// CUDA graph of the same calls. The graph replays every kernel without the
// host's per-op dispatch and launch cost, so graph time is about what the
// GPU itself needs; eager minus graph is what the host adds. For
// trainer_bench.
#ifndef AMOEBA_TRAINER_STEP_GRAPH_H_
#define AMOEBA_TRAINER_STEP_GRAPH_H_

#include <torch/types.h>

#include <functional>
#include <memory>

#include "absl/status/statusor.h"
#include "genotype/genotype.h"
#include "trainer/device.h"
#include "trainer/network.h"

namespace amoeba {

// One captured training step. Belongs to one training run: not for use from
// two threads at once. The parameters, optimizer state and the tensors the
// body captured must outlive it.
class StepGraph {
 public:
  struct Outputs {
    torch::Tensor loss;    // 0-dim
    torch::Tensor logits;  // [B, classes]
  };
  // One training step on `images` and `labels` with learning rate `lr` (a
  // 0-dim float tensor on the device). Everything it launches must be
  // capturable: no reads back to the host, no new random generators, no
  // values that change between steps other than through these tensors.
  using Body = std::function<Outputs(const torch::Tensor& images,
                                     const torch::Tensor& labels,
                                     const torch::Tensor& lr)>;

  // True when this build can capture: CUDA's headers compiled in
  // (AMOEBA_CUDA_HEADERS) and LibTorch 2 or later (thread-local capture,
  // so that other slots of a worker keep running during a capture).
  static bool Available();

  // Captures `body` on copies of `images` and `labels` (which fix the
  // batch size) on the current CUDA stream. REQUIRES: the current stream is
  // not the default stream; `body` ran eagerly at least once before (lazy
  // state such as momentum buffers and cuDNN's choices exists); the
  // gradients are released (Optimizer::ClearGrads), so that the captured
  // backward creates them in memory the graph keeps. Autocast's
  // cast cache is off during the capture (its tensors would not outlive
  // it). Unimplemented when !Available(); Internal when LibTorch or CUDA
  // refuse the capture.
  static absl::StatusOr<std::unique_ptr<StepGraph>> Capture(
      const Body& body, const torch::Tensor& images,
      const torch::Tensor& labels);

  ~StepGraph();
  StepGraph(const StepGraph&) = delete;
  StepGraph& operator=(const StepGraph&) = delete;

  int64_t batch_size() const;

  // Copies the batch in, sets the learning rate and replays the step.
  // REQUIRES: images and labels of batch_size() rows, shaped as captured.
  void Replay(const torch::Tensor& images, const torch::Tensor& labels,
              double lr);

  // The last replay's outputs and its labels (overwritten by the next).
  const Outputs& outputs() const;
  const torch::Tensor& labels() const;

 private:
  struct Impl;
  explicit StepGraph(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

struct PlainStepOptions {
  NetworkOptions network;  // drop_path is ignored (0): no random draws
  int batch_size = 128;
  Precision precision = Precision::kAuto;
  bool channels_last = true;
  int warmup_steps = 10;  // eager, before timing and before the capture
  int timed_steps = 100;  // each way
};

struct PlainStepTimes {
  double eager_ms = 0;  // per step, eager calls
  double graph_ms = 0;  // per step, CUDA graph replay
};

// Times the plain step of `genotype`'s network on `device`.
// Unimplemented when this build has no CUDA headers (only the CMake build
// against a CUDA LibTorch has them) or `device` is not CUDA;
// ResourceExhausted when out of memory; Internal for other LibTorch errors
// (a capture that fails says why).
absl::StatusOr<PlainStepTimes> TimePlainStep(const Genotype& genotype,
                                             const PlainStepOptions& options,
                                             const torch::Device& device);

}  // namespace amoeba

#endif  // AMOEBA_TRAINER_STEP_GRAPH_H_
