// LibTorchEvaluator: trains the child with the trainer and reports its
// validation accuracy. The data of each dataset settings is loaded once and
// kept on the training device for later children, in a bounded cache (a
// worker serving several searches keeps each one's data).
#ifndef AMOEBA_WORKER_LIBTORCH_EVALUATOR_H_
#define AMOEBA_WORKER_LIBTORCH_EVALUATOR_H_

#include <map>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "trainer/train.h"
#include "worker/data_cache.h"
#include "settings/training_settings.h"
#include "worker/evaluator.h"

namespace amoeba {

class LibTorchEvaluator final : public Evaluator {
 public:
  // `data_dirs`: dataset folders (none: the dataset's default). At most
  // `data_cache_bytes` of prepared data are kept (least recently used
  // first out).
  LibTorchEvaluator(DeviceOptions device, DataDirs data_dirs,
                    int64_t data_cache_bytes = int64_t{4} << 30);

  std::string name() const override { return "libtorch"; }
  EvaluationResult Evaluate(const v1::Task& task,
                            const EvaluationCallbacks& callbacks) override;

 private:
  // The prepared data for these settings, loading it on first use.
  absl::StatusOr<std::shared_ptr<const PreparedData>> Data(
      const v1::TrainingSettings& settings, const torch::Device& device);

  const DeviceOptions device_options_;
  const DataDirs data_dirs_;

  DataCache<PreparedData> data_;
};

}  // namespace amoeba

#endif  // AMOEBA_WORKER_LIBTORCH_EVALUATOR_H_
