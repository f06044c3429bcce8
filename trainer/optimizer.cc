#include "trainer/optimizer.h"

namespace amoeba {

void Optimizer::ZeroGrad() {
  torch::NoGradGuard no_grad;
  for (auto& p : parameters_) {
    if (p.grad().defined()) p.mutable_grad().zero_();
  }
}

void Optimizer::ClearGrads() {
  for (auto& p : parameters_) p.mutable_grad() = torch::Tensor();
}

bool Optimizer::SetState(const std::vector<torch::Tensor>& state) {
  std::vector<torch::Tensor*> slots = MutableState();
  if (state.size() != slots.size() || parameters_.empty() ||
      slots.size() % parameters_.size() != 0) {
    return false;
  }
  for (size_t i = 0; i < state.size(); ++i) {
    const torch::Tensor& p = parameters_[i % parameters_.size()];
    if (state[i].defined() && (state[i].sizes() != p.sizes() ||
                               state[i].scalar_type() != p.scalar_type())) {
      return false;
    }
  }
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < state.size(); ++i) {
    const torch::Tensor& p = parameters_[i % parameters_.size()];
    *slots[i] = state[i].defined() ? state[i].to(p.device()).clone()
                                   : torch::Tensor();
  }
  return true;
}

}  // namespace amoeba
