#include "data/folder_dataset.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <filesystem>
#include <map>
#include <optional>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "glog/logging.h"
#include "data/image_decoder.h"

namespace amoeba {
namespace {

namespace fs = std::filesystem;

// Inception's evaluation crop: the central 87.5 %.
constexpr double kCenterCrop = 0.875;

absl::StatusOr<std::vector<std::string>> SortedEntries(const fs::path& dir,
                                                       bool directories) {
  std::error_code error;
  if (!fs::is_directory(dir, error)) {
    return absl::NotFoundError(
        absl::StrCat(dir.string(), ": no such directory"));
  }
  std::vector<std::string> names;
  // The error_code forms throughout: a link that loops, or an entry that
  // vanishes, is skipped or reported, never thrown.
  fs::directory_iterator it(dir, error);
  for (; !error && it != fs::directory_iterator(); it.increment(error)) {
    const std::string name = it->path().filename().string();
    if (name.empty() || name[0] == '.') continue;
    std::error_code kind_error;
    if (directories ? it->is_directory(kind_error)
                    : it->is_regular_file(kind_error)) {
      names.push_back(name);
    }
  }
  if (error) {
    return absl::NotFoundError(
        absl::StrCat(dir.string(), ": cannot list: ", error.message()));
  }
  std::sort(names.begin(), names.end());
  return names;
}

struct ImageFile {
  std::string path;
  int label;
};

// The files of DIR/train or DIR/val, each with its class's index in
// `classes` (the sorted class folders of DIR/train, so that val/ means the
// same classes).
absl::StatusOr<std::vector<ImageFile>> ListSplit(
    const std::string& dir, bool train, std::vector<std::string>* classes) {
  absl::StatusOr<std::vector<std::string>> train_classes =
      SortedEntries(fs::path(dir) / "train", /*directories=*/true);
  if (!train_classes.ok()) return train_classes.status();
  if (train_classes->size() < 2) {
    return absl::InvalidArgumentError(absl::StrCat(
        dir, "/train: needs at least 2 class directories, found ",
        train_classes->size()));
  }
  *classes = *train_classes;
  const fs::path split_dir = fs::path(dir) / (train ? "train" : "val");
  absl::StatusOr<std::vector<std::string>> split_classes =
      SortedEntries(split_dir, /*directories=*/true);
  if (!split_classes.ok()) return split_classes.status();
  std::map<std::string, int> label_of;
  for (size_t i = 0; i < classes->size(); ++i) label_of[(*classes)[i]] = i;
  std::vector<ImageFile> files;
  for (const std::string& name : *split_classes) {
    auto it = label_of.find(name);
    if (it == label_of.end()) {
      return absl::InvalidArgumentError(absl::StrCat(
          split_dir.string(), "/", name, ": a class that ", dir,
          "/train does not have"));
    }
    absl::StatusOr<std::vector<std::string>> names =
        SortedEntries(split_dir / name, /*directories=*/false);
    if (!names.ok()) return names.status();
    for (const std::string& file : *names) {
      files.push_back({(split_dir / name / file).string(), it->second});
    }
  }
  return files;
}

// At most `max_images` of `files`, taken round-robin over the classes so
// that every class keeps some.
std::vector<ImageFile> TakeRoundRobin(std::vector<ImageFile> files,
                                      int64_t max_images) {
  std::vector<ImageFile> taken;
  std::map<int, std::vector<ImageFile>> by_class;
  for (ImageFile& f : files) by_class[f.label].push_back(std::move(f));
  for (size_t round = 0; static_cast<int64_t>(taken.size()) < max_images;
       ++round) {
    for (auto& [label, list] : by_class) {
      if (round < list.size() &&
          static_cast<int64_t>(taken.size()) < max_images) {
        taken.push_back(list[round]);
      }
    }
  }
  return taken;
}

// Every file decoded and cropped to `options.image_size` on
// `options.threads` threads; a file that does not decode leaves its image
// empty and its reason in `errors`.
std::vector<std::optional<torch::Tensor>> DecodeAll(
    const std::vector<ImageFile>& files, const FolderOptions& options,
    std::vector<std::string>* errors) {
  const int size = options.image_size;
  const int decode_side = static_cast<int>(std::ceil(size / kCenterCrop));
  std::vector<std::optional<torch::Tensor>> decoded(files.size());
  errors->assign(files.size(), "");
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i = next++; i < files.size(); i = next++) {
      // The thread's exception boundary: an exception escaping a
      // std::thread would end the process.
      try {
        absl::StatusOr<DecodedImage> image = DecodeImageFile(
            files[i].path, decode_side, options.max_image_pixels);
        if (!image.ok()) {
          (*errors)[i] = std::string(image.status().message());
          continue;
        }
        decoded[i] = ResizeAndCenterCrop(*image, size, kCenterCrop);
      } catch (const std::exception& e) {
        (*errors)[i] = absl::StrCat(files[i].path, ": ", e.what());
      }
    }
  };
  std::vector<std::thread> threads;
  const int n_threads =
      std::min<int>(options.threads, static_cast<int>(files.size()));
  for (int t = 0; t < n_threads; ++t) threads.emplace_back(work);
  for (std::thread& t : threads) t.join();
  return decoded;
}

}  // namespace

absl::StatusOr<FolderDataset> LoadImageFolder(const std::string& dir,
                                              bool train,
                                              const FolderOptions& options) {
  if (options.image_size < 8 || options.image_size > 1024 ||
      options.threads < 1 || options.threads > 256 || options.max_images < 0 ||
      options.max_image_pixels < 1) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "image folder: image size must be in 8..1024 (got %d), threads in "
        "1..256 (got %d), max images >= 0, max image pixels >= 1 (got %d)",
        options.image_size, options.threads, options.max_image_pixels));
  }
  FolderDataset out;
  absl::StatusOr<std::vector<ImageFile>> files =
      ListSplit(dir, train, &out.classes);
  if (!files.ok()) return files.status();
  const std::string split_dir =
      (fs::path(dir) / (train ? "train" : "val")).string();
  if (options.max_images > 0 &&
      static_cast<int64_t>(files->size()) > options.max_images) {
    *files = TakeRoundRobin(*std::move(files), options.max_images);
  }
  if (files->empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(split_dir, ": no image files"));
  }
  std::vector<std::string> errors;
  std::vector<std::optional<torch::Tensor>> decoded =
      DecodeAll(*files, options, &errors);
  std::vector<torch::Tensor> images;
  std::vector<int64_t> labels;
  for (size_t i = 0; i < files->size(); ++i) {
    if (decoded[i].has_value()) {
      images.push_back(*decoded[i]);
      labels.push_back((*files)[i].label);
      continue;
    }
    ++out.skipped;
    if (out.skipped_files.size() < 20) out.skipped_files.push_back(errors[i]);
    LOG(WARNING) << "image folder: skipped " << errors[i];
  }
  if (images.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        split_dir, ": none of its ", files->size(),
        " files decodes (first: ", errors.front(), ")"));
  }
  if (out.skipped > 0) {
    LOG(WARNING) << "image folder " << split_dir << ": skipped " << out.skipped
                 << " of " << files->size() << " files that do not decode";
  }
  out.images.images = torch::stack(images);
  out.images.labels = torch::tensor(labels, torch::kInt64);
  out.images.num_classes = static_cast<int>(out.classes.size());
  return out;
}

namespace {

absl::StatusOr<ImageDataset> LoadFolderSplit(const DataOptions& options,
                                             const std::string& dir,
                                             bool train) {
  FolderOptions folder;
  folder.image_size = options.image_size;
  folder.threads = options.decode_threads;
  folder.max_image_pixels = options.max_image_pixels;
  absl::StatusOr<FolderDataset> loaded = LoadImageFolder(dir, train, folder);
  if (!loaded.ok()) return loaded.status();
  return std::move(loaded->images);
}

// Linked in (alwayslink), this makes DatasetKind::kFolder loadable.
const bool kInstalled = InstallFolderLoader(&LoadFolderSplit);

}  // namespace

}  // namespace amoeba
