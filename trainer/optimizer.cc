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

}  // namespace amoeba
