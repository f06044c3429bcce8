#include "worker/libtorch_evaluator.h"

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "settings/training_settings.h"
#include "genotype/genotype_proto.h"
#include "trainer/logging.h"
#include "trainer/train.h"
#include "worker/data_cache.h"

namespace amoeba {

class LibTorchEvaluator::DataSets {
 public:
  DataSets(DataDirs dirs, int64_t cache_bytes, int decode_threads)
      : dirs_(std::move(dirs)),
        decode_threads_(decode_threads),
        cache_(cache_bytes) {}

  // The prepared data for these settings, loading it on first use.
  absl::StatusOr<std::shared_ptr<const PreparedData>> Get(
      const v1::TrainingSettings& settings, const torch::Device& device) {
    ASSIGN_OR_RETURN(DataOptions options,
                     DataOptionsFromSettings(settings, dirs_));
    options.decode_threads = decode_threads_;
    return cache_.GetOrLoad(
        DataKey(options),
        [&]() -> absl::StatusOr<DataCache<PreparedData>::Loaded> {
          LOG(INFO) << "loading " << settings.dataset() << " (validation "
                    << options.validation_images << ", train cap "
                    << options.max_train_images << ") onto " << device.str();
          ASSIGN_OR_RETURN(DataSplit split, LoadDataSplit(options));
          if (options.load_test) split.validation = std::move(split.test);
          ASSIGN_OR_RETURN(PreparedData prepared, PrepareData(split, device));
          // A streamed folder costs its file index, not its images.
          const int64_t bytes = prepared.train.memory_bytes() +
                                prepared.validation.memory_bytes();
          return DataCache<PreparedData>::Loaded{
              std::make_shared<const PreparedData>(std::move(prepared)),
              bytes};
        });
  }

 private:
  const DataDirs dirs_;
  const int decode_threads_;
  DataCache<PreparedData> cache_;
};

LibTorchEvaluator::LibTorchEvaluator(DeviceOptions device, DataDirs data_dirs,
                                     int64_t data_cache_bytes,
                                     int decode_threads)
    : device_options_(std::move(device)),
      data_(std::make_unique<DataSets>(std::move(data_dirs), data_cache_bytes,
                                       decode_threads)) {}

LibTorchEvaluator::~LibTorchEvaluator() = default;

namespace {

EvaluationProgress ProgressOf(const TrainProgress& p) {
  EvaluationProgress e;
  e.epoch = p.epoch;
  e.epochs = p.epochs;
  e.train_loss = p.train_loss;
  e.train_accuracy = p.train_accuracy;
  e.validation_accuracy = p.validation_accuracy;
  e.images_per_second = p.images_per_second;
  return e;
}

// The trainer's callbacks over the worker's: progress at the end of each
// epoch only (the controller's unit), early stopping, checkpoints.
// REQUIRES: `callbacks` outlives the result.
TrainCallbacks TrainCallbacksFor(const EvaluationCallbacks& callbacks) {
  TrainCallbacks train;
  train.should_cancel = callbacks.should_cancel;
  train.on_progress = [&callbacks](const TrainProgress& p) {
    if (!callbacks.on_progress || !p.end_of_epoch) return;
    callbacks.on_progress(ProgressOf(p));
  };
  if (callbacks.stop_early) {
    train.stop_early = [&callbacks](const TrainProgress& p) {
      return callbacks.stop_early(ProgressOf(p));
    };
  }
  if (callbacks.save_checkpoint) {
    train.save_checkpoint = callbacks.save_checkpoint;
  }
  return train;
}

EvaluationResult ResultOf(const absl::StatusOr<TrainedModel>& model) {
  EvaluationResult result;
  if (!model.ok()) {
    result.failure = std::string(model.status().message());
    result.diverged = model.status().code() == absl::StatusCode::kAborted;
    result.cancelled = model.status().code() == absl::StatusCode::kCancelled;
    return result;
  }
  result.ok = true;
  result.fitness = model->result.validation_accuracy;
  result.parameters = model->result.parameters;
  result.multiply_adds = model->result.multiply_adds;
  result.train_seconds = model->result.train_seconds;
  result.images_per_second = model->result.images_per_second;
  result.stopped_epoch = model->result.stopped_epoch;
  return result;
}

}  // namespace

EvaluationResult LibTorchEvaluator::Evaluate(
    const v1::Task& task, const EvaluationCallbacks& callbacks) {
  EvaluationResult result;
  auto genotype = GenotypeFromProto(task.genotype());
  if (!genotype.ok()) {
    result.failure = absl::StrCat("bad genotype from the controller: ",
                                  genotype.status().message());
    return result;
  }
  auto device = ResolveDevice(device_options_);
  if (!device.ok()) {
    result.failure = std::string(device.status().message());
    return result;
  }
  ConfigureRuntime(device_options_, *device);
  auto data = data_->Get(task.settings(), *device);
  if (!data.ok()) {
    result.failure = std::string(data.status().message());
    result.missing_data = absl::IsNotFound(data.status()) ||
                          absl::IsUnimplemented(data.status());
    return result;
  }
  const v1::TrainingSettings& s = task.settings();
  const NetworkOptions network = NetworkOptionsFromSettings(s, (*data)->train.shape());
  // The dataset name parsed when the data was loaded.
  TrainOptions train =
      TrainOptionsFromSettings(s, *DatasetKindFromName(s.dataset()));
  // The device is this worker's; its precision is the recipe's.
  const Precision precision = train.device.precision;
  train.device = device_options_;
  train.device.precision = precision;
  train.checkpoint_key = CheckpointKey(task);
  const TrainCallbacks train_callbacks = TrainCallbacksFor(callbacks);
  const std::string resume =
      callbacks.load_checkpoint ? callbacks.load_checkpoint() : std::string();
  auto model =
      TrainGenotype(*genotype, network, **data, train, train_callbacks, resume);
  if (!resume.empty() && absl::IsFailedPrecondition(model.status())) {
    LOG(WARNING) << "child " << task.model_id() << ": "
                 << model.status().message() << "; starting over from epoch 0";
    model = TrainGenotype(*genotype, network, **data, train, train_callbacks);
  }
  if (model.ok() && model->result.checkpoints_failed > 0) {
    LOG(WARNING) << "child " << task.model_id() << ": "
                 << model->result.checkpoints_failed
                 << " checkpoint(s) could not be written, the last: "
                 << model->result.checkpoint_error;
  }
  return ResultOf(model);
}

}  // namespace amoeba
