#include "trainer/saved_model.h"

#include <cstdio>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "common/atomic_file.h"
#include "common/status_macros.h"
#include "genotype/text.h"

namespace amoeba {
namespace {

constexpr int64_t kFormatVersion = 1;

// Network options as a flat list of doubles, in this order.
std::vector<double> OptionsToVector(const NetworkOptions& o) {
  return {static_cast<double>(o.cells_per_stack),
          static_cast<double>(o.filters),
          static_cast<double>(o.input_channels),
          static_cast<double>(o.image_size),
          static_cast<double>(o.num_classes),
          o.stem_multiplier,
          o.aux_head ? 1.0 : 0.0,
          o.dropout,
          o.drop_path,
          o.stem == Stem::kImageNet ? 1.0 : 0.0,
          static_cast<double>(o.stem_filters),
          o.aux_scaling};
}

absl::StatusOr<NetworkOptions> OptionsFromVector(const std::vector<double>& v) {
  // 9 values: a model saved before the ImageNet stem existed.
  if (v.size() != 9 && v.size() != 12) {
    return absl::InvalidArgumentError("network options have the wrong size");
  }
  NetworkOptions o;
  o.cells_per_stack = static_cast<int>(v[0]);
  o.filters = static_cast<int>(v[1]);
  o.input_channels = static_cast<int>(v[2]);
  o.image_size = static_cast<int>(v[3]);
  o.num_classes = static_cast<int>(v[4]);
  o.stem_multiplier = v[5];
  o.aux_head = v[6] != 0;
  o.dropout = v[7];
  o.drop_path = v[8];
  if (v.size() == 12) {
    o.stem = v[9] != 0 ? Stem::kImageNet : Stem::kCifar;
    o.stem_filters = static_cast<int>(v[10]);
    o.aux_scaling = v[11];
  }
  RETURN_IF_ERROR(ValidateNetworkOptions(o));
  return o;
}

}  // namespace

absl::StatusOr<std::string> SerializeModel(const TrainedModel& model) {
  std::ostringstream bytes;
  try {
    torch::serialize::OutputArchive archive;
    archive.write("amoeba_format", torch::tensor(kFormatVersion));
    archive.write("genotype", c10::IValue(FormatGenotype(model.genotype)));
    archive.write("network_options",
                  torch::tensor(OptionsToVector(model.network_options),
                                torch::kFloat64));
    archive.write("normalizer_mean", model.normalizer.mean.cpu());
    archive.write("normalizer_std", model.normalizer.std.cpu());
    archive.write("result",
                  torch::tensor({model.result.validation_accuracy,
                                 static_cast<double>(model.result.parameters),
                                 static_cast<double>(model.result.multiply_adds)},
                                torch::kFloat64));
    torch::serialize::OutputArchive weights;
    model.network->save(weights);
    archive.write("model", weights);
    archive.save_to(bytes);
  } catch (const std::exception& e) {
    return absl::UnavailableError(
        absl::StrCat("cannot serialise the model: ", e.what()));
  }
  return bytes.str();
}

absl::Status SaveModel(const TrainedModel& model, const std::string& path) {
  absl::StatusOr<std::string> bytes = SerializeModel(model);
  if (!bytes.ok()) {
    return absl::UnavailableError(absl::StrCat(
        "cannot write checkpoint ", path, ": ", bytes.status().message()));
  }
  // Atomic and durable: a crash leaves the old file or the new one whole.
  const absl::Status written = WriteFileAtomically(path, *bytes);
  if (!written.ok()) return absl::UnavailableError(written.message());
  return absl::OkStatus();
}

absl::StatusOr<TrainedModel> LoadModel(const std::string& path) {
  if (!std::ifstream(path).good()) {
    return absl::NotFoundError(absl::StrCat("checkpoint ", path, " not found"));
  }
  absl::StatusOr<std::string> bytes = ReadFileUpTo(path, int64_t{64} << 30);
  if (!bytes.ok()) return bytes.status();
  return ParseModel(*bytes, absl::StrCat("checkpoint ", path));
}

absl::StatusOr<TrainedModel> ParseModel(const std::string& bytes,
                                        const std::string& what) {
  const std::string& path = what;
  TrainedModel model;
  try {
    torch::serialize::InputArchive archive;
    // A model trained on a GPU loads on any host: tensors come to the CPU.
    archive.load_from(bytes.data(), bytes.size(), torch::Device(torch::kCPU));
    torch::Tensor version;
    if (!archive.try_read("amoeba_format", version) ||
        version.item<int64_t>() != kFormatVersion) {
      return absl::InvalidArgumentError(absl::StrCat(
          path, " is not an amoeba saved model (format ", kFormatVersion,
          ")"));
    }
    c10::IValue genotype_text;
    archive.read("genotype", genotype_text);
    ASSIGN_OR_RETURN(model.genotype,
                     ParseGenotype(genotype_text.toStringRef()));
    torch::Tensor options;
    archive.read("network_options", options);
    options = options.contiguous();
    ASSIGN_OR_RETURN(
        model.network_options,
        OptionsFromVector(std::vector<double>(
            options.data_ptr<double>(),
            options.data_ptr<double>() + options.numel())));
    archive.read("normalizer_mean", model.normalizer.mean);
    archive.read("normalizer_std", model.normalizer.std);
    torch::Tensor result;
    archive.read("result", result);
    model.result.validation_accuracy = result[0].item<double>();
    model.result.parameters = static_cast<int64_t>(result[1].item<double>());
    model.result.multiply_adds = static_cast<int64_t>(result[2].item<double>());
    model.network = Network(model.genotype, model.network_options);
    torch::serialize::InputArchive weights;
    archive.read("model", weights);
    model.network->load(weights);
  } catch (const std::exception& e) {
    std::string what = e.what();
    if (const auto* c10_error = dynamic_cast<const c10::Error*>(&e)) {
      what = c10_error->what_without_backtrace();
    }
    return absl::InvalidArgumentError(absl::StrCat(
        "cannot load ", path, " (corrupt or not an amoeba saved model): ",
        what.substr(0, 500)));
  }
  return model;
}

}  // namespace amoeba
