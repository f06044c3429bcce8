// Image classification datasets: held in memory as uint8 tensors, or
// streamed from files (image folders) a pass at a time.
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
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "data/data_options.h"

namespace amoeba {

// The files behind a streamed dataset (data/folder_dataset.h): a pass
// reads, decodes and crops them as it goes, so memory holds the file index
// and a few batches, never the images. Thread safety: const methods from
// any thread; one Reader per thread.
class StreamedImages {
 public:
  virtual ~StreamedImages() = default;

  virtual int image_size() const = 0;  // square RGB views of this side
  virtual int64_t size() const = 0;    // files
  virtual const std::vector<std::string>& classes() const = 0;
  // The bytes the file index holds.
  virtual int64_t memory_bytes() const = 0;

  struct Batch {
    torch::Tensor images;  // uint8 [k, 3, S, S] on the CPU
    torch::Tensor labels;  // int64 [k]
    int64_t skipped = 0;   // files of this batch that did not decode
  };
  class Reader {
   public:
    virtual ~Reader() = default;
    // The pass's next batch, its images in the order asked; k is below the
    // batch size where files did not decode (each logged, naming it), 0
    // when none did. OutOfRange after the last batch; InvalidArgument at
    // the end of a pass in which no file decoded.
    virtual absl::StatusOr<Batch> Next() = 0;
  };
  // A pass over `files` (indices < size()) in that order: training views
  // drawn from `seed` (data/image_views.h; the same seed and files give the
  // same batches) or evaluation views.
  virtual std::unique_ptr<Reader> Read(std::vector<int64_t> files,
                                       int batch_size, bool training_view,
                                       uint64_t seed) const = 0;
};

struct ImageDataset {
  torch::Tensor images;  // uint8 [N, C, H, W]; undefined when streamed
  torch::Tensor labels;  // int64 [N], in [0, num_classes)
  int num_classes = 10;
  // Streamed: row i is file stream_rows[i] of `stream`.
  std::shared_ptr<const StreamedImages> stream;
  torch::Tensor stream_rows;  // int64 [N]

  bool streamed() const { return stream != nullptr; }
  int64_t size() const { return labels.defined() ? labels.size(0) : 0; }
  int channels() const {
    return streamed() ? 3 : static_cast<int>(images.size(1));
  }
  int image_size() const {
    return streamed() ? stream->image_size()
                      : static_cast<int>(images.size(2));
  }
  ImageShape shape() const { return {channels(), image_size(), num_classes}; }
  // What it holds in memory (for a streamed dataset: labels and rows, and
  // the file index it shares).
  int64_t memory_bytes() const;
  // A pass over every row in order (streamed datasets only).
  std::unique_ptr<StreamedImages::Reader> ReadInOrder(
      int batch_size, bool training_view, uint64_t seed) const;
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

// The rows of `data` at `indices` (int64 [K]); a streamed dataset's subset
// streams the same files.
ImageDataset Subset(const ImageDataset& data, const torch::Tensor& indices);

}  // namespace amoeba

#endif  // AMOEBA_DATA_DATASET_H_
