#include "data/dataset.h"

#include <atomic>

#include <zlib.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "common/rng.h"
#include "common/status_macros.h"

namespace amoeba {
namespace {

constexpr uint32_t kIdxImagesMagic = 0x00000803;
constexpr uint32_t kIdxLabelsMagic = 0x00000801;
constexpr int kCifarSide = 32;
constexpr int kCifarPixels = 3 * kCifarSide * kCifarSide;
constexpr int kCifarRecord = 1 + kCifarPixels;

absl::Status FileError(const std::string& path, absl::string_view message) {
  return absl::InvalidArgumentError(absl::StrCat(path, ": ", message));
}

// Reads a whole (optionally gzipped) file. zlib reads plain files as they
// are, so both forms work.
absl::StatusOr<std::vector<uint8_t>> ReadMaybeGzipped(const std::string& path) {
  gzFile file = gzopen(path.c_str(), "rb");
  if (file == nullptr) {
    return absl::NotFoundError(
        absl::StrCat(path, ": cannot open (", std::strerror(errno), ")"));
  }
  std::unique_ptr<gzFile_s, int (*)(gzFile)> closer(file, gzclose);
  std::vector<uint8_t> data;
  constexpr unsigned kChunk = 1 << 20;
  while (true) {
    const size_t old_size = data.size();
    data.resize(old_size + kChunk);
    const int n = gzread(file, data.data() + old_size, kChunk);
    if (n < 0) {
      int code = 0;
      const char* message = gzerror(file, &code);
      return FileError(path, absl::StrCat("corrupt compressed data (",
                                          message, ")"));
    }
    data.resize(old_size + n);
    if (n == 0) break;
    if (data.size() > (int64_t{4} << 30)) {
      return FileError(path, "larger than 4 GiB; not a dataset file");
    }
  }
  // A truncated gzip stream reads as a short file without an error from
  // gzread; gzeof/gzerror tell the difference.
  int code = 0;
  gzerror(file, &code);
  if (code != Z_OK && code != Z_STREAM_END) {
    return FileError(path, "corrupt or truncated compressed data");
  }
  return data;
}

uint32_t BigEndian32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) |
         (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

struct IdxImages {
  int64_t count = 0;
  int rows = 0;
  int cols = 0;
  std::vector<uint8_t> data;  // whole file; pixels start at offset 16
};

absl::StatusOr<IdxImages> ReadIdxImages(const std::string& path) {
  ASSIGN_OR_RETURN(std::vector<uint8_t> data, ReadMaybeGzipped(path));
  if (data.size() < 16) {
    return FileError(path, absl::StrFormat("truncated: %d bytes, shorter than "
                                           "the 16-byte IDX image header",
                                           data.size()));
  }
  const uint32_t magic = BigEndian32(data.data());
  if (magic != kIdxImagesMagic) {
    return FileError(path, absl::StrFormat(
                               "magic number 0x%08x is not that of an IDX "
                               "image file (0x%08x)",
                               magic, kIdxImagesMagic));
  }
  IdxImages images;
  images.count = BigEndian32(data.data() + 4);
  images.rows = static_cast<int>(BigEndian32(data.data() + 8));
  images.cols = static_cast<int>(BigEndian32(data.data() + 12));
  if (images.rows < 1 || images.rows > 4096 || images.cols < 1 ||
      images.cols > 4096) {
    return FileError(path, absl::StrFormat("implausible image size %dx%d",
                                           images.rows, images.cols));
  }
  const uint64_t expected =
      static_cast<uint64_t>(images.count) * images.rows * images.cols;
  const uint64_t found = data.size() - 16;
  if (found < expected) {
    return FileError(path, absl::StrFormat(
                               "truncated: the header announces %d images of "
                               "%dx%d (%d bytes) but %d bytes follow",
                               images.count, images.rows, images.cols,
                               expected, found));
  }
  if (found > expected) {
    return FileError(path, absl::StrFormat(
                               "%d unexpected bytes after the %d images the "
                               "header announces",
                               found - expected, images.count));
  }
  images.data = std::move(data);
  return images;
}

absl::StatusOr<std::vector<uint8_t>> ReadIdxLabels(const std::string& path) {
  ASSIGN_OR_RETURN(std::vector<uint8_t> data, ReadMaybeGzipped(path));
  if (data.size() < 8) {
    return FileError(path, absl::StrFormat("truncated: %d bytes, shorter than "
                                           "the 8-byte IDX label header",
                                           data.size()));
  }
  const uint32_t magic = BigEndian32(data.data());
  if (magic != kIdxLabelsMagic) {
    return FileError(path, absl::StrFormat(
                               "magic number 0x%08x is not that of an IDX "
                               "label file (0x%08x)",
                               magic, kIdxLabelsMagic));
  }
  const uint64_t count = BigEndian32(data.data() + 4);
  const uint64_t found = data.size() - 8;
  if (found != count) {
    return FileError(path, absl::StrFormat(
                               "%s: the header announces %d labels but %d "
                               "bytes follow",
                               found < count ? "truncated" : "wrong size",
                               count, found));
  }
  data.erase(data.begin(), data.begin() + 8);
  return data;
}

absl::Status CheckLabels(const std::string& path, const uint8_t* labels,
                         int64_t count, int64_t stride, int num_classes) {
  for (int64_t i = 0; i < count; ++i) {
    const int label = labels[i * stride];
    if (label >= num_classes) {
      return FileError(path, absl::StrFormat(
                                 "label %d of item %d is out of range 0..%d",
                                 label, i, num_classes - 1));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<ImageDataset> ReadCifarFiles(
    const std::vector<std::string>& paths) {
  std::vector<std::vector<uint8_t>> files;
  int64_t total = 0;
  for (const std::string& path : paths) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      return absl::NotFoundError(absl::StrCat(
          path, ": cannot open (", std::strerror(errno),
          "); CIFAR-10 needs data_batch_1..5.bin and test_batch.bin"));
    }
    std::vector<uint8_t> data((std::istreambuf_iterator<char>(in)),
                              std::istreambuf_iterator<char>());
    if (data.empty() || data.size() % kCifarRecord != 0) {
      return FileError(path, absl::StrFormat(
                                 "size %d bytes is not a whole number of "
                                 "%d-byte CIFAR-10 records (truncated or not "
                                 "CIFAR-10)",
                                 data.size(), kCifarRecord));
    }
    const int64_t records = data.size() / kCifarRecord;
    RETURN_IF_ERROR(CheckLabels(path, data.data(), records, kCifarRecord, 10));
    total += records;
    files.push_back(std::move(data));
  }
  ImageDataset dataset;
  dataset.num_classes = 10;
  dataset.images =
      torch::empty({total, 3, kCifarSide, kCifarSide}, torch::kUInt8);
  dataset.labels = torch::empty({total}, torch::kInt64);
  uint8_t* pixels = dataset.images.data_ptr<uint8_t>();
  int64_t* labels = dataset.labels.data_ptr<int64_t>();
  int64_t row = 0;
  for (const auto& data : files) {
    for (size_t offset = 0; offset < data.size(); offset += kCifarRecord) {
      labels[row] = data[offset];
      std::memcpy(pixels + row * kCifarPixels, data.data() + offset + 1,
                  kCifarPixels);
      ++row;
    }
  }
  return dataset;
}

}  // namespace

namespace {
std::atomic<FolderLoader> folder_loader{nullptr};
}  // namespace

bool InstallFolderLoader(FolderLoader loader) {
  folder_loader = loader;
  return true;
}

absl::StatusOr<ImageDataset> LoadIdxPair(const std::string& images_path,
                                         const std::string& labels_path,
                                         int num_classes) {
  ASSIGN_OR_RETURN(IdxImages images, ReadIdxImages(images_path));
  ASSIGN_OR_RETURN(std::vector<uint8_t> labels, ReadIdxLabels(labels_path));
  if (static_cast<int64_t>(labels.size()) != images.count) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s has %d images but %s has %d labels", images_path, images.count,
        labels_path, labels.size()));
  }
  RETURN_IF_ERROR(CheckLabels(labels_path, labels.data(),
                              static_cast<int64_t>(labels.size()), 1,
                              num_classes));
  ImageDataset dataset;
  dataset.num_classes = num_classes;
  dataset.images = torch::from_blob(images.data.data() + 16,
                                    {images.count, 1, images.rows, images.cols},
                                    torch::kUInt8)
                       .clone();
  dataset.labels =
      torch::from_blob(labels.data(), {images.count}, torch::kUInt8)
          .to(torch::kInt64);
  return dataset;
}

absl::StatusOr<ImageDataset> LoadFashionMnist(const std::string& dir,
                                              bool train) {
  const std::string prefix = train ? "train" : "t10k";
  const std::string images = absl::StrCat(dir, "/", prefix, "-images-idx3-ubyte");
  const std::string labels = absl::StrCat(dir, "/", prefix, "-labels-idx1-ubyte");
  // Debian ships them gzipped; accept unpacked files too.
  auto exists = [](const std::string& path) {
    return std::ifstream(path).good();
  };
  const std::string images_path = exists(images + ".gz") ? images + ".gz" : images;
  const std::string labels_path = exists(labels + ".gz") ? labels + ".gz" : labels;
  if (!exists(images_path)) {
    return absl::NotFoundError(absl::StrCat(
        "Fashion-MNIST: ", images, "(.gz) not found; install Debian's "
        "dataset-fashion-mnist (deploy/install_deps.sh) or pass its folder"));
  }
  return LoadIdxPair(images_path, labels_path, 10);
}

absl::StatusOr<ImageDataset> LoadCifar10(const std::string& dir, bool train) {
  if (dir.empty()) {
    return absl::InvalidArgumentError(
        "CIFAR-10: no data folder given (it holds data_batch_1..5.bin and "
        "test_batch.bin)");
  }
  std::vector<std::string> paths;
  if (train) {
    for (int i = 1; i <= 5; ++i) {
      paths.push_back(absl::StrCat(dir, "/data_batch_", i, ".bin"));
    }
  } else {
    paths.push_back(absl::StrCat(dir, "/test_batch.bin"));
  }
  return ReadCifarFiles(paths);
}

ImageDataset Subset(const ImageDataset& data, const torch::Tensor& indices) {
  ImageDataset subset;
  subset.num_classes = data.num_classes;
  subset.labels = data.labels.index_select(0, indices);
  if (data.streamed()) {
    subset.stream = data.stream;
    subset.stream_rows = data.stream_rows.index_select(0, indices);
  } else {
    subset.images = data.images.index_select(0, indices);
  }
  return subset;
}

int64_t ImageDataset::memory_bytes() const {
  int64_t bytes = labels.defined() ? labels.nbytes() : 0;
  if (images.defined()) bytes += images.nbytes();
  if (stream_rows.defined()) bytes += stream_rows.nbytes();
  if (stream != nullptr) bytes += stream->memory_bytes();
  return bytes;
}

std::unique_ptr<StreamedImages::Reader> ImageDataset::ReadInOrder(
    int batch_size, bool training_view, uint64_t seed) const {
  const torch::Tensor rows = stream_rows.to(torch::kCPU).contiguous();
  std::vector<int64_t> files(rows.data_ptr<int64_t>(),
                             rows.data_ptr<int64_t>() + rows.numel());
  return stream->Read(std::move(files), batch_size, training_view, seed);
}

absl::StatusOr<DataSplit> LoadDataSplit(const DataOptions& options) {
  const std::string dir =
      options.dir.empty() ? DefaultDataDir(options.kind) : options.dir;
  if (dir.empty()) {
    // NotFound, like missing files: the host lacks the data (a worker
    // hands such a task back; `amoeba train` exits 3).
    return absl::NotFoundError(absl::StrCat(
        DatasetName(options.kind), ": no data directory given (--data_dir)"));
  }
  auto load = [&](bool train) -> absl::StatusOr<ImageDataset> {
    switch (options.kind) {
      case DatasetKind::kFashionMnist:
        return LoadFashionMnist(dir, train);
      case DatasetKind::kCifar10:
        return LoadCifar10(dir, train);
      case DatasetKind::kFolder:
        if (FolderLoader loader = folder_loader.load(); loader != nullptr) {
          return loader(options, dir, train);
        }
        return absl::UnimplementedError(
            "folder datasets are not built into this binary (it was built "
            "without TurboJPEG)");
    }
    return absl::InvalidArgumentError("unknown dataset kind");
  };
  ASSIGN_OR_RETURN(ImageDataset full, load(/*train=*/true));
  const int64_t n = full.size();
  // Final training holds nothing out: it is measured on the test split.
  const int64_t least_validation = options.load_test ? 0 : 1;
  if (options.validation_images < least_validation ||
      options.validation_images >= n) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s: validation images must be in %d..%d (the training set has %d), "
        "got %d",
        DatasetName(options.kind), least_validation, n - 1, n,
        options.validation_images));
  }
  if (options.max_train_images < 0) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "max train images must be >= 0 (0 = all), got %d",
        options.max_train_images));
  }
  // Fisher-Yates with amoeba's own RNG: the same split on every machine.
  std::vector<int64_t> order(n);
  for (int64_t i = 0; i < n; ++i) order[i] = i;
  Rng rng(options.split_seed ^ 0x5b1175eedULL);
  for (int64_t i = n - 1; i > 0; --i) {
    std::swap(order[i], order[rng.Uniform(i + 1)]);
  }
  const int64_t validation = options.validation_images;
  int64_t train = n - validation;
  if (options.max_train_images > 0) {
    train = std::min(train, options.max_train_images);
  }
  const torch::Tensor all = torch::tensor(order, torch::kInt64);
  DataSplit split;
  split.validation = Subset(full, all.slice(0, 0, validation));
  split.train = Subset(full, all.slice(0, validation, validation + train));
  if (options.load_test) {
    ASSIGN_OR_RETURN(split.test, load(/*train=*/false));
  }
  return split;
}

}  // namespace amoeba
