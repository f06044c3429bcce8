#include "trainer/momentum_sgd.h"

#include <torch/nn/functional/loss.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/linear.h>
#include <torch/optim/sgd.h>
#include <torch/utils.h>

#include <vector>

#include "catch2/catch.hpp"

namespace amoeba {
namespace {

// A small model and a fixed batch; the same initial weights every call.
struct Fixture {
  torch::nn::Sequential model;
  torch::Tensor x, y;
  Fixture() {
    torch::manual_seed(7);
    model = torch::nn::Sequential(torch::nn::Linear(6, 5), torch::nn::ReLU(),
                                  torch::nn::Linear(5, 3));
    x = torch::randn({16, 6});
    y = torch::randint(0, 3, {16});
  }
  torch::Tensor Loss() {
    return torch::nn::functional::cross_entropy(model->forward(x), y);
  }
};

std::vector<double> LearningRates() { return {0.1, 0.08, 0.05, 0.02, 0.01}; }

TEST_CASE("MomentumSgd steps exactly as torch::optim::SGD") {
  Fixture reference;
  torch::optim::SGD sgd(
      reference.model->parameters(),
      torch::optim::SGDOptions(0.1).momentum(0.9).weight_decay(5e-4));
  Fixture ours;
  MomentumSgd momentum_sgd(ours.model->parameters(), 0.9, 5e-4);
  for (double lr : LearningRates()) {
    for (auto& group : sgd.param_groups()) {
      static_cast<torch::optim::SGDOptions&>(group.options()).lr(lr);
    }
    sgd.zero_grad();
    reference.Loss().backward();
    sgd.step();
    momentum_sgd.ZeroGrad();
    ours.Loss().backward();
    momentum_sgd.Step(lr);
  }
  const auto a = reference.model->parameters();
  const auto b = ours.model->parameters();
  REQUIRE(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i) CHECK(torch::equal(a[i], b[i]));
}

TEST_CASE("MomentumSgd with a tensor learning rate follows the same path") {
  Fixture by_number;
  MomentumSgd a_sgd(by_number.model->parameters(), 0.9, 5e-4);
  Fixture by_tensor;
  MomentumSgd b_sgd(by_tensor.model->parameters(), 0.9, 5e-4);
  torch::Tensor lr = torch::zeros({});
  bool first = true;
  for (double value : LearningRates()) {
    a_sgd.ZeroGrad();
    by_number.Loss().backward();
    a_sgd.Step(value);
    b_sgd.ZeroGrad();
    by_tensor.Loss().backward();
    if (first) {
      b_sgd.Step(value);  // creates the momentum buffers
      first = false;
    } else {
      lr.fill_(value);
      b_sgd.Step(lr);
    }
  }
  const auto a = by_number.model->parameters();
  const auto b = by_tensor.model->parameters();
  for (size_t i = 0; i < a.size(); ++i) {
    CHECK(torch::allclose(a[i], b[i], /*rtol=*/1e-5, /*atol=*/1e-7));
  }
  // And it moved: the weights are not the initial ones.
  CHECK_FALSE(torch::equal(a[0], Fixture().model->parameters()[0]));
}

TEST_CASE("MomentumSgd zeroes gradients in place, clears them on request, skips parameters without") {
  Fixture f;
  MomentumSgd sgd(f.model->parameters(), 0.9, 0.0);
  f.Loss().backward();
  const torch::Tensor grad = f.model->parameters()[0].grad();
  const torch::Tensor first = grad.clone();
  const void* before = grad.data_ptr();
  sgd.ZeroGrad();
  CHECK(f.model->parameters()[0].grad().data_ptr() == before);
  CHECK(f.model->parameters()[0].grad().abs().sum().item<double>() == 0.0);

  sgd.ClearGrads();
  for (const auto& p : f.model->parameters()) CHECK_FALSE(p.grad().defined());
  f.Loss().backward();  // a fresh gradient, not an accumulated one
  CHECK(torch::equal(f.model->parameters()[0].grad(), first));

  torch::Tensor frozen = torch::ones({2}, torch::requires_grad());
  MomentumSgd only_frozen({frozen}, 0.9, 0.0);
  only_frozen.Step(0.5);  // no gradient: nothing happens
  CHECK(torch::equal(frozen, torch::ones({2})));
}

}  // namespace
}  // namespace amoeba
