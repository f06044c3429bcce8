#include "data/folder_dataset.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <memory>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "data/image_files.h"
#include "data/image_stream.h"
#include "glog/logging.h"

namespace amoeba {
namespace {

// Views decoded ahead of the reader: enough for every thread to be busy
// while the trainer takes a batch, few enough to stay a few batches.
constexpr int kBatchesAhead = 3;

class FolderImages final : public StreamedImages {
 public:
  FolderImages(std::shared_ptr<const ImageFileIndex> index,
               const FolderOptions& options)
      : index_(std::move(index)), options_(options) {}

  int image_size() const override { return options_.image_size; }
  int64_t size() const override { return index_->size(); }
  const std::vector<std::string>& classes() const override {
    return index_->classes();
  }
  int64_t memory_bytes() const override { return index_->memory_bytes(); }

  std::unique_ptr<Reader> Read(std::vector<int64_t> files, int batch_size,
                               bool training_view,
                               uint64_t seed) const override;

 private:
  const std::shared_ptr<const ImageFileIndex> index_;
  const FolderOptions options_;
};

class FolderReader final : public StreamedImages::Reader {
 public:
  FolderReader(std::shared_ptr<const ImageFileIndex> index,
               std::vector<int64_t> files, const StreamOptions& options)
      : split_dir_(index->split_dir()),
        files_(static_cast<int64_t>(files.size())),
        size_(options.view.size),
        batch_size_(options.batch_size),
        stream_(std::move(index), std::move(files), options) {}

  absl::StatusOr<StreamedImages::Batch> Next() override {
    torch::Tensor pixels =
        torch::empty({batch_size_, 3, size_, size_}, torch::kUInt8);
    StreamBatch batch;
    if (!stream_.Next(pixels.data_ptr<uint8_t>(), &batch)) {
      return absl::OutOfRangeError("end of the pass");
    }
    for (const std::string& why : batch.skipped) {
      LOG(WARNING) << "image folder: skipped " << why;
      if (first_skip_.empty()) first_skip_ = why;
    }
    skipped_ += static_cast<int64_t>(batch.skipped.size());
    decoded_ += batch.count;
    if (++batches_read_ == stream_.batches()) {
      if (decoded_ == 0) {
        return absl::InvalidArgumentError(absl::StrCat(
            split_dir_, ": none of its ", files_, " files decodes (first: ",
            first_skip_, ")"));
      }
      if (skipped_ > 0) {
        LOG(WARNING) << "image folder " << split_dir_ << ": skipped "
                     << skipped_ << " of " << files_
                     << " files in this pass (they do not decode)";
      }
    }
    StreamedImages::Batch out;
    out.images = pixels.narrow(0, 0, batch.count);
    out.labels = torch::tensor(
        std::vector<int64_t>(batch.labels.begin(), batch.labels.end()),
        torch::kInt64);
    out.skipped = static_cast<int64_t>(batch.skipped.size());
    return out;
  }

 private:
  const std::string split_dir_;
  const int64_t files_;
  const int size_;
  const int batch_size_;
  ImageStream stream_;
  int64_t batches_read_ = 0;
  int64_t decoded_ = 0;
  int64_t skipped_ = 0;
  std::string first_skip_;
};

std::unique_ptr<StreamedImages::Reader> FolderImages::Read(
    std::vector<int64_t> files, int batch_size, bool training_view,
    uint64_t seed) const {
  StreamOptions stream;
  stream.view.size = options_.image_size;
  stream.view.max_image_pixels = options_.max_image_pixels;
  stream.training_view = training_view;
  stream.seed = seed;
  stream.batch_size = std::max(1, batch_size);
  stream.threads = DecodeThreads(options_.threads);
  stream.depth = kBatchesAhead;
  return std::make_unique<FolderReader>(index_, std::move(files), stream);
}

}  // namespace

int DecodeThreads(int threads) {
  if (threads > 0) return threads;
  const int cores = static_cast<int>(std::thread::hardware_concurrency());
  return std::max(1, cores - at::get_num_threads());
}

absl::StatusOr<ImageDataset> OpenImageFolder(const std::string& dir,
                                             bool train,
                                             const FolderOptions& options) {
  if (options.image_size < 8 || options.image_size > 1024 ||
      options.threads < 0 || options.threads > 256 ||
      options.max_images < 0 || options.max_image_pixels < 1) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "image folder: image size must be in 8..1024 (got %d), decode "
        "threads in 0..256 (got %d; 0 = the free cores), max images >= 0 "
        "(got %d), max image pixels >= 1 (got %d)",
        options.image_size, options.threads, options.max_images,
        options.max_image_pixels));
  }
  absl::StatusOr<ImageFileIndex> index =
      ImageFileIndex::Open(dir, train, options.max_images);
  if (!index.ok()) return index.status();
  auto shared = std::make_shared<const ImageFileIndex>(*std::move(index));
  std::vector<int64_t> labels(shared->size());
  for (int64_t i = 0; i < shared->size(); ++i) labels[i] = shared->label(i);
  ImageDataset data;
  data.labels = torch::tensor(labels, torch::kInt64);
  data.num_classes = static_cast<int>(shared->classes().size());
  data.stream_rows = torch::arange(shared->size(), torch::kInt64);
  data.stream = std::make_shared<FolderImages>(shared, options);
  return data;
}

namespace {

absl::StatusOr<ImageDataset> LoadFolderSplit(const DataOptions& options,
                                             const std::string& dir,
                                             bool train) {
  FolderOptions folder;
  folder.image_size = options.image_size;
  folder.threads = options.decode_threads;
  folder.max_image_pixels = options.max_image_pixels;
  return OpenImageFolder(dir, train, folder);
}

// Linked in (alwayslink), this makes DatasetKind::kFolder loadable.
const bool kInstalled = InstallFolderLoader(&LoadFolderSplit);

}  // namespace

}  // namespace amoeba
