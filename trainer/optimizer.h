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

#include <torch/types.h>

#include <utility>
#include <vector>

namespace amoeba {

class Optimizer {
 public:
  explicit Optimizer(std::vector<torch::Tensor> parameters)
      : parameters_(std::move(parameters)) {}
  virtual ~Optimizer() = default;

  // Zeroes every gradient that exists (in place).
  void ZeroGrad();
  // Releases every gradient. Before a CUDA graph capture: the captured
  // backward then creates the gradients in the graph's own memory, which
  // the graph keeps for every replay, whatever eager steps do to the
  // parameters' gradients later.
  void ClearGrads();
  // One step; parameters without a gradient are skipped. The first step
  // creates the optimizer's state: a step captured in a CUDA graph must not
  // be the first.
  virtual void Step(double lr) = 0;
  virtual void Step(const torch::Tensor& lr) = 0;

  // The optimizer's state (momentum buffers, ...) for a checkpoint: a fixed
  // number of entries per parameter, undefined where a state is not
  // created yet. SetState takes what State returned (of an optimizer of the
  // same kind over parameters of the same shapes) and returns false,
  // changing nothing, when the count or a shape differs.
  virtual std::vector<torch::Tensor> State() const = 0;
  bool SetState(const std::vector<torch::Tensor>& state);

 protected:
  // The state entries of SetState, in State()'s order.
  virtual std::vector<torch::Tensor*> MutableState() = 0;

  std::vector<torch::Tensor> parameters_;
};

}  // namespace amoeba

#endif  // AMOEBA_TRAINER_OPTIMIZER_H_
