// The optimizer of a training run, as the trainer drives it: gradients
// zeroed in place or released, a step with a learning rate given as a
// number or as a 0-dim tensor on the parameters' device (so that a step
// captured in a CUDA graph follows the schedule when the tensor is refilled
// between replays).
//
// Implementations: MomentumSgd (the search's, momentum_sgd.h) and
// TfRmsProp (the released ImageNet recipe's, rmsprop.h).
// Thread safety: one training at a time per optimizer.
#ifndef AMOEBA_TRAINER_OPTIMIZER_H_
#define AMOEBA_TRAINER_OPTIMIZER_H_

#include <torch/torch.h>

namespace amoeba {

class Optimizer {
 public:
  virtual ~Optimizer() = default;

  // Zeroes every gradient that exists (in place).
  virtual void ZeroGrad() = 0;
  // Releases every gradient. Before a CUDA graph capture: the captured
  // backward then creates the gradients in the graph's own memory.
  virtual void ClearGrads() = 0;
  // One step; parameters without a gradient are skipped. The first step
  // creates the optimizer's state: a step captured in a CUDA graph must not
  // be the first.
  virtual void Step(double lr) = 0;
  virtual void Step(const torch::Tensor& lr) = 0;
};

}  // namespace amoeba

#endif  // AMOEBA_TRAINER_OPTIMIZER_H_
