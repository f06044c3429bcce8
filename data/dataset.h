// Image classification datasets held in memory as uint8 tensors.
//
// Fashion-MNIST: gzipped (or plain) IDX files as Debian's
// `dataset-fashion-mnist` ships them under /usr/share/datasets/fashion-mnist.
// CIFAR-10: the standard binary files data_batch_1..5.bin and test_batch.bin
// (1 label byte + 3072 pixel bytes, R, G, B planes, per record).
//
// Every loader checks what it reads; a missing, truncated or corrupt file is
// an error that names the file and the problem, never a crash.
#ifndef AMOEBA_DATA_DATASET_H_
#define AMOEBA_DATA_DATASET_H_

#include <torch/types.h>

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "data/data_options.h"

namespace amoeba {

struct ImageDataset {
  torch::Tensor images;  // uint8 [N, C, H, W]
  torch::Tensor labels;  // int64 [N], in [0, num_classes)
  int num_classes = 10;

  int64_t size() const { return labels.defined() ? labels.size(0) : 0; }
  int channels() const { return static_cast<int>(images.size(1)); }
  int image_size() const { return static_cast<int>(images.size(2)); }
  ImageShape shape() const { return {channels(), image_size(), num_classes}; }
};


// One IDX image file (magic 0x803, [N, rows, cols]) and its label file
// (magic 0x801, [N]); labels must be < num_classes.
absl::StatusOr<ImageDataset> LoadIdxPair(const std::string& images_path,
                                         const std::string& labels_path,
                                         int num_classes = 10);

// The training (true) or test (false) part of Fashion-MNIST in `dir`.
absl::StatusOr<ImageDataset> LoadFashionMnist(const std::string& dir,
                                              bool train);

// The training (data_batch_1..5.bin) or test (test_batch.bin) part of
// CIFAR-10 in `dir`.
absl::StatusOr<ImageDataset> LoadCifar10(const std::string& dir, bool train);


struct DataSplit {
  ImageDataset train;
  ImageDataset validation;
  ImageDataset test;  // empty unless DataOptions::load_test
};

absl::StatusOr<DataSplit> LoadDataSplit(const DataOptions& options);

// The loader of DatasetKind::kFolder (train = DIR/train, else DIR/val).
// data/folder_dataset.cc installs it when it is linked in; the CMake
// build for GPU hosts leaves it out (no TurboJPEG there), and a folder
// dataset is then Unimplemented.
using FolderLoader = absl::StatusOr<ImageDataset> (*)(
    const DataOptions& options, const std::string& dir, bool train);
bool InstallFolderLoader(FolderLoader loader);

// The rows of `data` at `indices` (int64 [K]).
ImageDataset Subset(const ImageDataset& data, const torch::Tensor& indices);

}  // namespace amoeba

#endif  // AMOEBA_DATA_DATASET_H_
