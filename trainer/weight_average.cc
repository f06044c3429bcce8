#include "trainer/weight_average.h"

#include "trainer/train_options.h"

namespace amoeba {

WeightAverage::WeightAverage(Network& network, double decay) : decay_(decay) {
  torch::NoGradGuard no_grad;
  for (const torch::Tensor& p : network->parameters(/*recurse=*/true)) {
    weights_.push_back(p);
  }
  for (const torch::Tensor& b : network->buffers(/*recurse=*/true)) {
    if (b.is_floating_point()) weights_.push_back(b);
  }
  average_.reserve(weights_.size());
  for (const torch::Tensor& w : weights_) {
    average_.push_back(w.detach().clone());
  }
}

void WeightAverage::Update(int64_t updates) {
  torch::NoGradGuard no_grad;
  const double keep = EmaDecayAt(decay_, updates);
  // average += (1 - keep) * (weight - average), TensorFlow's form.
  for (size_t i = 0; i < weights_.size(); ++i) {
    average_[i].lerp_(weights_[i].detach(), 1.0 - keep);
  }
}

WeightAverage::Scope::Scope(WeightAverage& average) : average_(average) {
  torch::NoGradGuard no_grad;
  trained_.reserve(average_.weights_.size());
  for (size_t i = 0; i < average_.weights_.size(); ++i) {
    trained_.push_back(average_.weights_[i].detach().clone());
    average_.weights_[i].copy_(average_.average_[i]);
  }
}

WeightAverage::Scope::~Scope() {
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < trained_.size(); ++i) {
    average_.weights_[i].copy_(trained_[i]);
  }
}

void WeightAverage::CopyIntoNetwork() {
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < weights_.size(); ++i) {
    weights_[i].copy_(average_[i]);
  }
}

bool WeightAverage::SetState(const std::vector<torch::Tensor>& state) {
  if (state.size() != average_.size()) return false;
  for (size_t i = 0; i < state.size(); ++i) {
    if (!state[i].defined() || state[i].sizes() != average_[i].sizes() ||
        state[i].scalar_type() != average_[i].scalar_type()) {
      return false;
    }
  }
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < state.size(); ++i) average_[i].copy_(state[i]);
  return true;
}

}  // namespace amoeba
