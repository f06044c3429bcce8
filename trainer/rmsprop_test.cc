#include "trainer/rmsprop.h"

#include <cmath>

#include "catch2/catch.hpp"

namespace amoeba {
namespace {

// TF1's update for one scalar weight, written out.
struct Reference {
  double w, ms = 1.0, mom = 0.0;
  void Step(double g, double lr, double decay, double momentum, double eps,
            double wd) {
    g += wd * w;
    ms = decay * ms + (1 - decay) * g * g;
    mom = momentum * mom + lr * g / std::sqrt(ms + eps);
    w -= mom;
  }
};

TEST_CASE("TfRmsProp steps as TensorFlow 1's RMSProp") {
  torch::Tensor w = torch::tensor({0.5, -2.0}, torch::kFloat64).requires_grad_();
  TfRmsProp optimizer({w}, 0.9, 0.9, 1.0, 4e-5);
  Reference a{0.5}, b{-2.0};
  const double grads[][2] = {{0.3, -1.0}, {0.1, 2.0}, {-0.4, 0.5}};
  const double lrs[] = {0.015, 0.01, 0.005};
  for (int s = 0; s < 3; ++s) {
    optimizer.ZeroGrad();
    w.mutable_grad() = torch::tensor({grads[s][0], grads[s][1]}, torch::kFloat64);
    if (s == 1) {
      optimizer.Step(torch::tensor(lrs[s], torch::kFloat64));  // tensor form
    } else {
      optimizer.Step(lrs[s]);
    }
    a.Step(grads[s][0], lrs[s], 0.9, 0.9, 1.0, 4e-5);
    b.Step(grads[s][1], lrs[s], 0.9, 0.9, 1.0, 4e-5);
    CHECK(w[0].item<double>() == Approx(a.w).epsilon(1e-12));
    CHECK(w[1].item<double>() == Approx(b.w).epsilon(1e-12));
  }
  // And not as torch::optim::RMSprop would (ms from 0, epsilon outside).
  CHECK(std::abs(w[0].item<double>() - 0.5) < 0.05);
}

TEST_CASE("TfRmsProp skips parameters without a gradient") {
  torch::Tensor w = torch::ones({3}).requires_grad_();
  TfRmsProp optimizer({w}, 0.9, 0.9, 1.0, 0.0);
  optimizer.Step(0.1);
  CHECK(torch::equal(w, torch::ones({3})));
}

}  // namespace
}  // namespace amoeba
