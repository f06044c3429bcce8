#include "trainer/momentum_sgd.h"

#include <utility>

namespace amoeba {

MomentumSgd::MomentumSgd(std::vector<torch::Tensor> parameters,
                         double momentum, double weight_decay)
    : Optimizer(std::move(parameters)),
      buffers_(parameters_.size()),
      momentum_(momentum),
      weight_decay_(weight_decay) {}

torch::Tensor MomentumSgd::Direction(size_t i) {
  const torch::Tensor& p = parameters_[i];
  torch::Tensor d_p = p.grad();
  if (weight_decay_ != 0) d_p = d_p.add(p, weight_decay_);
  if (momentum_ == 0) return d_p;
  torch::Tensor& buffer = buffers_[i];
  if (!buffer.defined()) {
    buffer = torch::clone(d_p).detach();
  } else {
    buffer.mul_(momentum_).add_(d_p, 1.0);
  }
  return buffer;
}

void MomentumSgd::Step(double lr) {
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < parameters_.size(); ++i) {
    if (!parameters_[i].grad().defined()) continue;
    parameters_[i].add_(Direction(i), -1 * lr);
  }
}

void MomentumSgd::Step(const torch::Tensor& lr) {
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < parameters_.size(); ++i) {
    if (!parameters_[i].grad().defined()) continue;
    parameters_[i].sub_(Direction(i) * lr);
  }
}

std::vector<torch::Tensor> MomentumSgd::State() const {
  std::vector<torch::Tensor> state;
  state.insert(state.end(), buffers_.begin(), buffers_.end());
  return state;
}

std::vector<torch::Tensor*> MomentumSgd::MutableState() {
  std::vector<torch::Tensor*> slots;
  for (torch::Tensor& t : buffers_) slots.push_back(&t);
  return slots;
}

}  // namespace amoeba
