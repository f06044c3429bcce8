// The exponential moving average of a network's weights that a recipe with
// TrainOptions::ema_decay > 0 evaluates (train.cc). Internal to trainer/.
//
// It averages every parameter and every floating-point buffer (batch norm's
// running statistics), as TensorFlow's ExponentialMovingAverage over the
// trainable and moving-average variables does; integer buffers (batch
// norm's step counters) are left alone.
//
// Thread safety: none; one training run owns it.
#ifndef AMOEBA_TRAINER_WEIGHT_AVERAGE_H_
#define AMOEBA_TRAINER_WEIGHT_AVERAGE_H_

#include <torch/types.h>

#include <cstdint>
#include <vector>

#include "trainer/network.h"

namespace amoeba {

class WeightAverage {
 public:
  // Starts the average at the network's current weights. `network` must
  // outlive this object and keep its tensors (no re-registration).
  WeightAverage(Network& network, double decay);

  WeightAverage(const WeightAverage&) = delete;
  WeightAverage& operator=(const WeightAverage&) = delete;

  // Folds the network's weights in after the `updates`-th optimizer step
  // (1-based), with decay EmaDecayAt(decay, updates).
  void Update(int64_t updates);

  // While one lives, the network holds the average; its destructor puts
  // the trained weights back. For evaluations between epochs.
  class Scope {
   public:
    explicit Scope(WeightAverage& average);
    ~Scope();
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;

   private:
    WeightAverage& average_;
    std::vector<torch::Tensor> trained_;
  };

  // The network holds the average from now on (the end of training).
  void CopyIntoNetwork();

  // The averaged tensors, in a fixed order, for a checkpoint.
  const std::vector<torch::Tensor>& State() const { return average_; }
  // Takes a State() of the same network; false, changing nothing, when the
  // count, a shape or a type differs.
  bool SetState(const std::vector<torch::Tensor>& state);

 private:
  const double decay_;
  std::vector<torch::Tensor> weights_;  // the network's, in place
  std::vector<torch::Tensor> average_;
};

}  // namespace amoeba

#endif  // AMOEBA_TRAINER_WEIGHT_AVERAGE_H_
