// How much of a training step is kernel-launch overhead: one plain step
// (forward, loss, backward, SGD with momentum; no augmentation, drop path
// or statistics) timed as eager LibTorch calls and as a replayed CUDA graph
// of the same calls. The graph replays every kernel without the host's
// per-op dispatch and launch cost, so graph time is about what the GPU
// itself needs; eager minus graph is what the host adds. For trainer_bench.
#ifndef AMOEBA_TRAINER_STEP_GRAPH_H_
#define AMOEBA_TRAINER_STEP_GRAPH_H_

#include <torch/torch.h>

#include "absl/status/statusor.h"
#include "genotype/genotype.h"
#include "trainer/device.h"
#include "trainer/network.h"

namespace amoeba {

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
