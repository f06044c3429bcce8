#include "data/data_options.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"

namespace amoeba {

absl::StatusOr<DatasetKind> DatasetKindFromName(absl::string_view name) {
  const std::string key = absl::StrReplaceAll(absl::AsciiStrToLower(name),
                                              {{"-", ""}, {"_", ""}});
  if (key == "fashionmnist") return DatasetKind::kFashionMnist;
  if (key == "cifar10") return DatasetKind::kCifar10;
  if (key == "folder") return DatasetKind::kFolder;
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown dataset '", name.substr(0, 64), "'; known: fashion_mnist, cifar10, folder"));
}

std::string DatasetName(DatasetKind kind) {
  switch (kind) {
    case DatasetKind::kFashionMnist:
      return "fashion_mnist";
    case DatasetKind::kCifar10:
      return "cifar10";
    case DatasetKind::kFolder:
      return "folder";
  }
  return "fashion_mnist";
}

std::string DefaultDataDir(DatasetKind kind) {
  return kind == DatasetKind::kFashionMnist
             ? "/usr/share/datasets/fashion-mnist"
             : "";
}

AugmentOptions DefaultAugmentation(DatasetKind kind) {
  AugmentOptions options;
  if (kind == DatasetKind::kCifar10) {
    options.crop_padding = 4;
    options.horizontal_flip = true;
  } else if (kind == DatasetKind::kFolder) {
    options.random_resized_crop = true;
    options.horizontal_flip = true;
  } else {
    options.crop_padding = 2;
  }
  return options;
}

}  // namespace amoeba
