#include "worker/libtorch_evaluator.h"

#include <optional>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "settings/training_settings.h"
#include "genotype/genotype_proto.h"
#include "trainer/logging.h"
#include "trainer/saved_model.h"
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
  result.inherited_parameters = model->result.inherited_parameters;
  result.inheritance_failure = model->result.inheritance_error;
  return result;
}

// The parent's trained model for a child that inherits, or why there is
// none (the child then trains from fresh weights).
absl::StatusOr<TrainedModel> ParentOf(const v1::Task& task,
                                      const EvaluationCallbacks& callbacks) {
  if (!callbacks.load_parent_weights) {
    return absl::UnavailableError("this worker fetches no weights");
  }
  ASSIGN_OR_RETURN(const std::string bytes, callbacks.load_parent_weights());
  return ParseModel(bytes, absl::StrCat("the weights of parent ",
                                        task.inherit_from()));
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
  std::optional<TrainedModel> parent;
  std::string parent_failure;
  if (task.inherit_from() > 0) {
    absl::StatusOr<TrainedModel> loaded = ParentOf(task, callbacks);
    if (loaded.ok()) {
      parent = *std::move(loaded);
    } else {
      parent_failure = std::string(loaded.status().message());
      LOG(WARNING) << "child " << task.model_id()
                   << " trains from fresh weights: " << parent_failure;
    }
  }
  const TrainedModel* const parent_model = parent ? &*parent : nullptr;
  auto model = TrainGenotype(*genotype, network, **data, train,
                             train_callbacks, resume, parent_model);
  if (!resume.empty() && absl::IsFailedPrecondition(model.status())) {
    LOG(WARNING) << "child " << task.model_id() << ": "
                 << model.status().message() << "; starting over from epoch 0";
    model = TrainGenotype(*genotype, network, **data, train, train_callbacks,
                          {}, parent_model);
  }
  if (model.ok() && task.inherit_from() > 0) {
    if (!parent_failure.empty()) {
      model->result.inheritance_error = parent_failure;
    } else if (!model->result.inherited) {
      LOG(WARNING) << "child " << task.model_id()
                   << " trained from fresh weights: "
                   << model->result.inheritance_error;
    }
  }
  if (model.ok() && task.keep_weights() && callbacks.save_weights) {
    absl::StatusOr<std::string> weights = SerializeModel(*model);
    if (weights.ok()) {
      callbacks.save_weights(s.epochs(), *weights);
    } else {
      LOG(WARNING) << "child " << task.model_id()
                   << ": its weights cannot be kept: " << weights.status();
    }
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
