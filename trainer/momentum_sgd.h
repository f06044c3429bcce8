// SGD with momentum and weight decay, as torch::optim::SGD computes it
// (dampening 0, no Nesterov), with two ways to give the learning rate: a
// number, or a 0-dim tensor on the parameters' device. The tensor form has
// no value baked into the kernels it launches, so a step captured in a CUDA
// graph follows the schedule when the tensor is refilled between replays.
//
// Thread safety: one training at a time per optimizer.
#ifndef AMOEBA_TRAINER_MOMENTUM_SGD_H_
#define AMOEBA_TRAINER_MOMENTUM_SGD_H_

#include <torch/optim/sgd.h>

#include <vector>

#include "trainer/optimizer.h"

namespace amoeba {

class MomentumSgd final : public Optimizer {
 public:
  MomentumSgd(std::vector<torch::Tensor> parameters, double momentum,
              double weight_decay);

  // One step with learning rate `lr`; the same arithmetic, operation by
  // operation, as torch::optim::SGD. Parameters without a gradient are
  // skipped. The first step creates the momentum buffers.
  void Step(double lr) override;

  // One step with learning rate `lr`, a 0-dim float tensor on the
  // parameters' device. Like Step(double), the first step creates the
  // momentum buffers: a step captured in a CUDA graph must not be the first.
  void Step(const torch::Tensor& lr) override;
  std::vector<torch::Tensor> State() const override;

 private:
  std::vector<torch::Tensor*> MutableState() override;
  // The update direction of parameter i (momentum buffer after this step's
  // update); creates the buffer on the first step.
  torch::Tensor Direction(size_t i);

  std::vector<torch::Tensor> buffers_;  // momentum, one per parameter
  const double momentum_;
  const double weight_decay_;
};

}  // namespace amoeba

#endif  // AMOEBA_TRAINER_MOMENTUM_SGD_H_
