// LibTorchEvaluator: trains the child with the trainer and reports its
// validation accuracy. The data of each dataset settings is loaded once and
// kept on the training device for later children, in a bounded cache (a
// worker serving several searches keeps each one's data).
#ifndef AMOEBA_WORKER_LIBTORCH_EVALUATOR_H_
#define AMOEBA_WORKER_LIBTORCH_EVALUATOR_H_

#include <map>
#include <memory>
#include <string>

#include "settings/data_dirs.h"
#include "trainer/device_options.h"
#include "worker/evaluator.h"

namespace amoeba {

class LibTorchEvaluator final : public Evaluator {
 public:
  // `data_dirs`: dataset folders (none: the dataset's default). At most
  // `data_cache_bytes` of prepared data are kept (least recently used
  // first out). `decode_threads`: the threads that decode an image
  // folder's pass (0: the cores LibTorch's threads leave free).
  LibTorchEvaluator(DeviceOptions device, DataDirs data_dirs,
                    int64_t data_cache_bytes = int64_t{4} << 30,
                    int decode_threads = 0);
  ~LibTorchEvaluator() override;

  std::string name() const override { return "libtorch"; }
  EvaluationResult Evaluate(const v1::Task& task,
                            const EvaluationCallbacks& callbacks) override;

 private:
  // The prepared data of every dataset setting met (LibTorch types: kept
  // out of this header, which the daemon and its tests include).
  class DataSets;

  const DeviceOptions device_options_;
  const std::unique_ptr<DataSets> data_;
};

}  // namespace amoeba

#endif  // AMOEBA_WORKER_LIBTORCH_EVALUATOR_H_
