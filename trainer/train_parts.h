// The parts of a training run that are not the schedule: fp16 loss
// scaling, running statistics between reports, the divergence check.
// Internal to trainer/ (train.cc).
#ifndef AMOEBA_TRAINER_TRAIN_PARTS_H_
#define AMOEBA_TRAINER_TRAIN_PARTS_H_

#include <torch/types.h>

#include <cmath>
#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "trainer/device.h"
#include "trainer/network.h"

namespace amoeba {

// Dynamic loss scaling for fp16 (its gradients underflow without it): the
// loss is scaled up before backward, the gradients down after; an overflow
// halves the scale and skips the step, 2,000 good steps double it.
class LossScaler {
 public:
  explicit LossScaler(Precision precision)
      : active_(precision == Precision::kFloat16) {}

  // Backward of `loss`; whether the optimizer should apply the gradients.
  bool Backward(const torch::Tensor& loss, Network& network,
                const torch::Device& device) {
    if (!active_) {
      loss.backward();
      return true;
    }
    (loss * scale_).backward();
    // One device sync per step for the overflow check, not one per
    // parameter.
    torch::Tensor all_finite = torch::ones(
        {}, torch::TensorOptions().dtype(torch::kBool).device(device));
    for (auto& p : network->parameters()) {
      if (!p.grad().defined()) continue;
      p.mutable_grad().div_(scale_);
      all_finite = all_finite.logical_and(torch::isfinite(p.grad()).all());
    }
    if (!all_finite.item<bool>()) {
      scale_ /= 2;
      good_steps_ = 0;
      return scale_ >= 1.0;
    }
    if (++good_steps_ == 2000) {
      scale_ *= 2;
      good_steps_ = 0;
    }
    return true;
  }

 private:
  const bool active_;
  double scale_ = 65536.0;
  int good_steps_ = 0;
};

// Loss and accuracy since the last report, kept on the device (reading them
// forces a sync).
class RunningStats {
 public:
  explicit RunningStats(const torch::Device& device) : device_(device) {
    Reset();
  }
  void Add(const torch::Tensor& loss, const torch::Tensor& logits,
           const torch::Tensor& labels) {
    loss_ += loss.detach().to(torch::kFloat64);
    correct_ += logits.detach().argmax(1).eq(labels).sum();
    count_ += labels.size(0);
  }
  void Reset() {
    const auto opts = torch::TensorOptions().device(device_);
    loss_ = torch::zeros({}, opts.dtype(torch::kFloat64));
    correct_ = torch::zeros({}, opts.dtype(torch::kInt64));
    count_ = 0;
  }
  double LossSum() const { return loss_.item<double>(); }
  // The mean loss per step and the accuracy since Reset; 0 when no step
  // ran since (a report right before an epoch's skipped one-image batch).
  double MeanLoss(int64_t batch) const {
    if (count_ == 0) return 0;
    return LossSum() / std::ceil(static_cast<double>(count_) / batch);
  }
  double Accuracy() const {
    if (count_ == 0) return 0;
    return static_cast<double>(correct_.item<int64_t>()) / count_;
  }

 private:
  const torch::Device device_;
  torch::Tensor loss_;
  torch::Tensor correct_;
  int64_t count_ = 0;
};

// AbortedError when the summed loss is no longer finite: the genotype's
// training diverged, a final result for the child.
inline absl::Status CheckDiverged(double loss_sum, int epoch, int64_t step,
                                  double lr) {
  if (std::isfinite(loss_sum)) return absl::OkStatus();
  return absl::AbortedError(absl::StrFormat(
      "training diverged: loss is %s at epoch %d, step %d (learning "
      "rate %g)",
      std::isnan(loss_sum) ? "nan" : "inf", epoch, step, lr));
}

}  // namespace amoeba

#endif  // AMOEBA_TRAINER_TRAIN_PARTS_H_
