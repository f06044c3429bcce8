// RMSProp as TensorFlow 1's tf.train.RMSPropOptimizer computes it, the
// optimizer of the released ImageNet code (tensorflow/tpu amoeba_net:
// RMSPROP_DECAY = 0.9, RMSPROP_MOMENTUM = 0.9, RMSPROP_EPSILON = 1.0):
//
//   ms  <- decay * ms + (1 - decay) * g^2          (ms starts at 1, not 0)
//   mom <- momentum * mom + lr * g / sqrt(ms + epsilon)
//   w   <- w - mom
//
// with g the gradient plus weight_decay * w (the code's L2 regularizer).
// It differs from torch::optim::RMSprop, which starts ms at 0, adds epsilon
// outside the square root and applies lr after the momentum; with an
// epsilon of 1.0 the two are far apart.
#ifndef AMOEBA_TRAINER_RMSPROP_H_
#define AMOEBA_TRAINER_RMSPROP_H_

#include <torch/optim/rmsprop.h>

#include <vector>

#include "trainer/optimizer.h"

namespace amoeba {

class TfRmsProp final : public Optimizer {
 public:
  TfRmsProp(std::vector<torch::Tensor> parameters, double decay,
            double momentum, double epsilon, double weight_decay);

  void Step(double lr) override;
  void Step(const torch::Tensor& lr) override;
  std::vector<torch::Tensor> State() const override;

 private:
  std::vector<torch::Tensor*> MutableState() override;
  // g / sqrt(ms + epsilon) of parameter i after this step's ms update;
  // creates ms on the first step.
  torch::Tensor Scaled(size_t i);
  // mom <- momentum * mom + update; w <- w - mom (parameter i).
  void Apply(size_t i, const torch::Tensor& update);

  std::vector<torch::Tensor> mean_square_;  // one per parameter
  std::vector<torch::Tensor> momentum_;     // one per parameter
  const double decay_;
  const double momentum_rate_;
  const double epsilon_;
  const double weight_decay_;
};

}  // namespace amoeba

#endif  // AMOEBA_TRAINER_RMSPROP_H_
