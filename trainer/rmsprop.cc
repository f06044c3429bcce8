#include "trainer/rmsprop.h"

#include <utility>

namespace amoeba {

TfRmsProp::TfRmsProp(std::vector<torch::Tensor> parameters, double decay,
                     double momentum, double epsilon, double weight_decay)
    : Optimizer(std::move(parameters)),
      mean_square_(parameters_.size()),
      momentum_(parameters_.size()),
      decay_(decay),
      momentum_rate_(momentum),
      epsilon_(epsilon),
      weight_decay_(weight_decay) {}

torch::Tensor TfRmsProp::Scaled(size_t i) {
  const torch::Tensor& p = parameters_[i];
  torch::Tensor g = p.grad();
  if (weight_decay_ != 0) g = g.add(p, weight_decay_);
  torch::Tensor& ms = mean_square_[i];
  if (!ms.defined()) ms = torch::ones_like(p);
  ms.mul_(decay_).addcmul_(g, g, 1.0 - decay_);
  return g / (ms + epsilon_).sqrt();
}

void TfRmsProp::Apply(size_t i, const torch::Tensor& update) {
  torch::Tensor& mom = momentum_[i];
  if (!mom.defined()) mom = torch::zeros_like(parameters_[i]);
  mom.mul_(momentum_rate_).add_(update);
  parameters_[i].sub_(mom);
}

void TfRmsProp::Step(double lr) {
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < parameters_.size(); ++i) {
    if (parameters_[i].grad().defined()) Apply(i, Scaled(i).mul_(lr));
  }
}

void TfRmsProp::Step(const torch::Tensor& lr) {
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < parameters_.size(); ++i) {
    if (parameters_[i].grad().defined()) Apply(i, Scaled(i) * lr);
  }
}

std::vector<torch::Tensor> TfRmsProp::State() const {
  std::vector<torch::Tensor> state;
  state.insert(state.end(), mean_square_.begin(), mean_square_.end());
  state.insert(state.end(), momentum_.begin(), momentum_.end());
  return state;
}

std::vector<torch::Tensor*> TfRmsProp::MutableState() {
  std::vector<torch::Tensor*> slots;
  for (torch::Tensor& t : mean_square_) slots.push_back(&t);
  for (torch::Tensor& t : momentum_) slots.push_back(&t);
  return slots;
}

}  // namespace amoeba
