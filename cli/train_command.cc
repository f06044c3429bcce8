#include "cli/train_command.h"

#include <algorithm>
#include <cstdio>
#include <optional>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "cli/genotype_input.h"
#include "common/atomic_file.h"
#include "common/status_macros.h"
#include "settings/training_flags.h"
#include "gflags/gflags.h"
#include "genotype/fingerprint.h"
#include "genotype/text.h"
#include "trainer/saved_model.h"
#include "trainer/cpu_allocator.h"
#include "trainer/train.h"
#include "settings/training_settings.h"

DEFINE_uint64(seed, 0,
              "random seed of the run (initial weights, data order, "
              "augmentation); not given: the settings' default");

DEFINE_string(data_dir, "",
              "dataset folder (default: Debian's Fashion-MNIST; CIFAR-10 "
              "needs one)");
DEFINE_string(device, "cpu", "cpu, cuda or cuda:N");
DEFINE_int32(threads, 0, "CPU threads (0 = all cores)");
DEFINE_bool(cuda_graphs, false,
            "CUDA: replay the training step from a CUDA graph (CMake build "
            "against a CUDA LibTorch 2+; not with dropout, drop path, "
            "gradient clipping or fp16)");
DEFINE_string(save, "", "write the trained model to this file");
DEFINE_string(inherit_from, "",
              "start from the weights of this saved model (--save) where "
              "they fit: the parent of a mutated genotype");
DEFINE_bool(test, false, "also evaluate on the test set at the end");
DEFINE_string(split, "test", "`evaluate`: test or validation");
DEFINE_int32(decode_threads, 0,
             "--dataset=folder: threads decoding the batches (0 = the cores "
             "the training threads leave free)");
DEFINE_int64(max_image_pixels, 89478485,
             "--dataset=folder: files that would decode to more pixels are "
             "skipped with a warning (PIL's bound)");
namespace amoeba {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;
constexpr int kExitEnvironment = 3;

int ExitCodeFor(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument:
      return kExitUsage;
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kUnavailable:
      return kExitEnvironment;
    default:
      return kExitFailed;
  }
}

std::string Millions(int64_t n) {
  return absl::StrFormat("%.3fM", static_cast<double>(n) / 1e6);
}

// The training settings flags (shared with the controller and `amoeba
// search create`); `--seed`, when given, is the training seed.
v1::TrainingSettings SettingsFromFlags() {
  v1::TrainingSettings settings = TrainingSettingsFromFlags();
  if (FlagGiven("seed")) settings.set_seed(FLAGS_seed);
  return settings;
}

absl::StatusOr<DataOptions> DataOptionsFromFlags(bool load_test) {
  DataDirs dirs;
  if (!FLAGS_data_dir.empty()) dirs[""] = FLAGS_data_dir;
  absl::StatusOr<DataOptions> data =
      DataOptionsFromSettings(SettingsFromFlags(), dirs);
  if (data.ok()) {
    data->load_test = load_test;
    data->decode_threads = FLAGS_decode_threads;
    data->max_image_pixels = FLAGS_max_image_pixels;
  }
  return data;
}

}  // namespace

std::string TrainUsage() {
  return R"(usage: amoeba train [flags] GENOTYPE
       amoeba evaluate [--split=test|validation] [data flags] MODEL_FILE

train: trains GENOTYPE (a published name, a text, or a file) at --N/--F on
--dataset, one progress line per epoch, then the final validation accuracy,
parameters, multiply-adds and time. Retrain the best model of a search at
full size, e.g.:
  amoeba train --dataset=cifar10 --data_dir=DIR --N=6 --F=36 --epochs=600 \
    --batch_size=128 --lr=0.024 --cutout=16 --aux_head --drop_path=0.3 \
    --max_train_images=0 --validation_images=5000 --device=cuda --test \
    --save=best.pt best_genotype.txt
--inherit_from=PARENT.pt starts from a saved parent's weights where they
fit (a mutated child of it: the ops that stayed, the stem and the head).
evaluate: loads a model written by --save and reports its accuracy.

`amoeba --helpfull` lists every flag with its default.
)";
}

namespace {

// "amoeba train: MESSAGE" on stderr; returns `exit_code`.
int TrainFailure(const absl::Status& status, int exit_code) {
  std::cerr << "amoeba train: " << status.message() << "\n";
  return exit_code;
}

// The training options `amoeba train`'s flags ask for: the settings'
// (the training flags and the recipe, mapped as a worker maps a task's)
// and the device. InvalidArgument naming the flag when one is wrong.
absl::StatusOr<TrainOptions> TrainOptionsFromFlags(
    const v1::TrainingSettings& settings, DatasetKind kind) {
  RETURN_IF_ERROR(ValidateTrainingSettings(settings));
  TrainOptions options = TrainOptionsFromSettings(settings, kind);
  options.device.device = FLAGS_device;
  options.device.threads = FLAGS_threads;
  // device.precision is the recipe's (--precision, a training flag).
  options.device.cuda_graphs = FLAGS_cuda_graphs;
  RETURN_IF_ERROR(ValidateTrainOptions(options));
  return options;
}

// The network the settings ask for, on images like `train`'s.
absl::StatusOr<NetworkOptions> NetworkOptionsFromFlags(
    const v1::TrainingSettings& settings, const ImageDataset& train) {
  NetworkOptions network = NetworkOptionsFromSettings(settings, train.shape());
  RETURN_IF_ERROR(ValidateNetworkOptions(network));
  return network;
}

void PrintEpoch(const TrainProgress& p) {
  std::cout << absl::StrFormat(
                   "epoch %d/%d  loss %.4f  train_acc %.4f  %s  lr %.5f  "
                   "%.0f img/s  %.1fs",
                   p.epoch, p.epochs, p.train_loss, p.train_accuracy,
                   p.validation_accuracy >= 0
                       ? absl::StrFormat("val_acc %.4f", p.validation_accuracy)
                       : std::string("val_acc -"),
                   p.learning_rate, p.images_per_second, p.elapsed_seconds)
            << std::endl;
}

// After training: the result line, the test accuracy (--test) and the saved
// model (--save). Returns the exit code.
int FinishTraining(TrainedModel& model, const DataSplit& split,
                   const torch::Device& device) {
  const TrainResult& r = model.result;
  if (r.inherited) {
    std::cout << absl::StrFormat(
                     "inherited %.1f%% of the parameters (%d of %d) from %s",
                     100.0 * r.inherited_parameters /
                         std::max<int64_t>(1, r.inheritable_parameters),
                     r.inherited_parameters, r.inheritable_parameters,
                     FLAGS_inherit_from)
              << std::endl;
  } else if (!r.inheritance_error.empty()) {
    std::cout << "trained from fresh weights: " << FLAGS_inherit_from << ": "
              << r.inheritance_error << std::endl;
  }
  std::cout << absl::StrFormat(
                   "validation accuracy %.4f | parameters %s | multiply-adds "
                   "%s per image | training %.1fs (%.0f img/s), total %.1fs",
                   r.validation_accuracy, Millions(r.parameters),
                   Millions(r.multiply_adds), r.train_seconds,
                   r.images_per_second, r.total_seconds)
            << std::endl;
  if (FLAGS_test) {
    const auto test =
        EvaluateAccuracy(model.network, split.test, model.normalizer, device);
    if (!test.ok()) return TrainFailure(test.status(), ExitCodeFor(test.status()));
    std::cout << absl::StrFormat("test accuracy %.4f (%d images)", *test,
                                 split.test.size())
              << std::endl;
  }
  if (!FLAGS_save.empty()) {
    if (auto s = SaveModel(model, FLAGS_save); !s.ok()) {
      return TrainFailure(s, kExitEnvironment);
    }
    std::cout << "saved " << FLAGS_save << std::endl;
    if (split.train.streamed()) {
      // Label i is the i-th line: predictions map back to class names.
      const std::string classes = FLAGS_save + ".classes.txt";
      if (auto s = WriteFileAtomically(
              classes, absl::StrCat(absl::StrJoin(
                                        split.train.stream->classes(), "\n"),
                                    "\n"));
          !s.ok()) {
        return TrainFailure(s, kExitEnvironment);
      }
      std::cout << "saved " << classes << " (class names, label order)"
                << std::endl;
    }
  }
  return kExitOk;
}

}  // namespace

int RunTrainCommand(const std::vector<std::string>& args) {
  InstallCachingCpuAllocator();
  if (args.size() != 1) {
    std::cerr << "amoeba train: expected one GENOTYPE, got " << args.size()
              << "\n\n"
              << TrainUsage();
    return kExitUsage;
  }
  const auto genotype = GenotypeFromArgument(args[0]);
  if (!genotype.ok()) return TrainFailure(genotype.status(), kExitFailed);
  auto data_options = DataOptionsFromFlags(FLAGS_test);
  if (!data_options.ok()) return TrainFailure(data_options.status(), kExitUsage);
  // As a search's child trains with these settings, plus the options only
  // a final training uses.
  const v1::TrainingSettings settings = SettingsFromFlags();
  const auto options = TrainOptionsFromFlags(settings, data_options->kind);
  if (!options.ok()) return TrainFailure(options.status(), kExitUsage);
  const auto device = ResolveDevice(options->device);
  if (!device.ok()) {
    return TrainFailure(device.status(), ExitCodeFor(device.status()));
  }
  ConfigureRuntime(options->device, *device);

  std::cout << "loading " << DatasetName(data_options->kind) << " ..."
            << std::endl;
  const auto split = LoadDataSplit(*data_options);
  if (!split.ok()) return TrainFailure(split.status(), ExitCodeFor(split.status()));
  const auto network = NetworkOptionsFromFlags(settings, split->train);
  if (!network.ok()) return TrainFailure(network.status(), kExitUsage);
  const auto data = PrepareData(*split, *device);
  if (!data.ok()) return TrainFailure(data.status(), ExitCodeFor(data.status()));
  std::cout << absl::StrFormat(
                   "genotype %s (fingerprint %s)\nN=%d F=%d, %d train / %d "
                   "validation images of %dx%dx%d, %d epochs, batch %d, on %s",
                   FormatGenotype(*genotype),
                   FingerprintHex(Fingerprint(*genotype)),
                   network->cells_per_stack, network->filters,
                   split->train.size(), split->validation.size(),
                   network->input_channels, network->image_size,
                   network->image_size, options->epochs, options->batch_size,
                   DescribeDevice(*device))
            << std::endl;
  std::optional<TrainedModel> parent;
  if (!FLAGS_inherit_from.empty()) {
    absl::StatusOr<TrainedModel> loaded = LoadModel(FLAGS_inherit_from);
    if (!loaded.ok()) {
      return TrainFailure(loaded.status(), ExitCodeFor(loaded.status()));
    }
    parent = *std::move(loaded);
  }
  TrainCallbacks callbacks;
  callbacks.on_progress = PrintEpoch;
  auto model = TrainGenotype(*genotype, *network, *data, *options, callbacks,
                             {}, parent ? &*parent : nullptr);
  if (!model.ok()) return TrainFailure(model.status(), ExitCodeFor(model.status()));
  return FinishTraining(*model, *split, *device);
}

int RunEvaluateCommand(const std::vector<std::string>& args) {
  InstallCachingCpuAllocator();
  if (args.size() != 1) {
    std::cerr << "amoeba evaluate: expected one MODEL_FILE\n\n" << TrainUsage();
    return kExitUsage;
  }
  if (FLAGS_split != "test" && FLAGS_split != "validation") {
    std::cerr << "amoeba evaluate: --split must be test or validation\n";
    return kExitUsage;
  }
  auto model = LoadModel(args[0]);
  if (!model.ok()) {
    std::cerr << "amoeba evaluate: " << model.status().message() << "\n";
    return ExitCodeFor(model.status());
  }
  DeviceOptions device_options;
  device_options.device = FLAGS_device;
  device_options.threads = FLAGS_threads;
  const auto device = ResolveDevice(device_options);
  if (!device.ok()) {
    std::cerr << "amoeba evaluate: " << device.status().message() << "\n";
    return ExitCodeFor(device.status());
  }
  ConfigureRuntime(device_options, *device);
  auto data_options = DataOptionsFromFlags(FLAGS_split == "test");
  if (!data_options.ok()) {
    std::cerr << "amoeba evaluate: " << data_options.status().message() << "\n";
    return kExitUsage;
  }
  const auto split = LoadDataSplit(*data_options);
  if (!split.ok()) {
    std::cerr << "amoeba evaluate: " << split.status().message() << "\n";
    return ExitCodeFor(split.status());
  }
  const ImageDataset& data =
      FLAGS_split == "test" ? split->test : split->validation;
  model->network->to(*device);
  const auto accuracy =
      EvaluateAccuracy(model->network, data, model->normalizer, *device);
  if (!accuracy.ok()) {
    std::cerr << "amoeba evaluate: " << accuracy.status().message() << "\n";
    return ExitCodeFor(accuracy.status());
  }
  std::cout << absl::StrFormat(
                   "%s accuracy %.4f (%d images) | genotype %s | N=%d F=%d | "
                   "stored validation accuracy %.4f",
                   FLAGS_split, *accuracy, data.size(),
                   FormatGenotype(model->genotype),
                   model->network_options.cells_per_stack,
                   model->network_options.filters,
                   model->result.validation_accuracy)
            << std::endl;
  return kExitOk;
}

}  // namespace amoeba
