// LibTorchEvaluator: trains the child with the trainer and reports its
// validation accuracy. The dataset is loaded once (per dataset settings) and
// kept on the training device for every later child.
#ifndef AMOEBA_WORKER_LIBTORCH_EVALUATOR_H_
#define AMOEBA_WORKER_LIBTORCH_EVALUATOR_H_

#include <map>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "trainer/train.h"
#include "worker/evaluator.h"

namespace amoeba {

class LibTorchEvaluator final : public Evaluator {
 public:
  // `data_dir`: dataset folder ("" = the dataset's default).
  LibTorchEvaluator(DeviceOptions device, std::string data_dir);

  std::string name() const override { return "libtorch"; }
  EvaluationResult Evaluate(const v1::Task& task,
                            const EvaluationCallbacks& callbacks) override;

 private:
  // The prepared data for these settings, loading it on first use.
  absl::StatusOr<std::shared_ptr<const PreparedData>> Data(
      const v1::TrainingSettings& settings, const torch::Device& device);

  const DeviceOptions device_options_;
  const std::string data_dir_;

  absl::Mutex mu_;
  std::map<std::string, std::shared_ptr<const PreparedData>> data_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace amoeba

#endif  // AMOEBA_WORKER_LIBTORCH_EVALUATOR_H_
