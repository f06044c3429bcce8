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

}  // namespace amoeba
