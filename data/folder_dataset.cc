#include "data/folder_dataset.h"

#include <algorithm>
#include <atomic>
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
  // Labels always come from train/, so that val/ means the same classes.
  absl::StatusOr<std::vector<std::string>> classes =
      SortedEntries(fs::path(dir) / "train", /*directories=*/true);
  if (!classes.ok()) return classes.status();
  if (classes->size() < 2) {
    return absl::InvalidArgumentError(absl::StrCat(
        dir, "/train: needs at least 2 class directories, found ",
        classes->size()));
  }
  out.classes = *classes;
  const fs::path split_dir = fs::path(dir) / (train ? "train" : "val");
  absl::StatusOr<std::vector<std::string>> split_classes =
      SortedEntries(split_dir, /*directories=*/true);
  if (!split_classes.ok()) return split_classes.status();
  std::map<std::string, int> label_of;
  for (size_t i = 0; i < out.classes.size(); ++i) label_of[out.classes[i]] = i;
  struct File {
    std::string path;
    int label;
  };
  std::vector<File> files;
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
  if (options.max_images > 0 &&
      static_cast<int64_t>(files.size()) > options.max_images) {
    // Every class keeps some: take files round-robin over the classes.
    std::vector<File> taken;
    std::map<int, std::vector<File>> by_class;
    for (File& f : files) by_class[f.label].push_back(std::move(f));
    for (size_t round = 0;
         static_cast<int64_t>(taken.size()) < options.max_images; ++round) {
      for (auto& [label, list] : by_class) {
        if (round < list.size() &&
            static_cast<int64_t>(taken.size()) < options.max_images) {
          taken.push_back(list[round]);
        }
      }
    }
    files = std::move(taken);
  }
  if (files.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(split_dir.string(), ": no image files"));
  }

  const int size = options.image_size;
  const int decode_side = static_cast<int>(std::ceil(size / kCenterCrop));
  std::vector<std::optional<torch::Tensor>> decoded(files.size());
  std::vector<std::string> errors(files.size());
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i = next++; i < files.size(); i = next++) {
      // The thread's exception boundary: an exception escaping a
      // std::thread would end the process.
      try {
        absl::StatusOr<DecodedImage> image = DecodeImageFile(
            files[i].path, decode_side, options.max_image_pixels);
        if (!image.ok()) {
          errors[i] = std::string(image.status().message());
          continue;
        }
        decoded[i] = ResizeAndCenterCrop(*image, size, kCenterCrop);
      } catch (const std::exception& e) {
        errors[i] = absl::StrCat(files[i].path, ": ", e.what());
      }
    }
  };
  std::vector<std::thread> threads;
  const int n_threads =
      std::min<int>(options.threads, static_cast<int>(files.size()));
  for (int t = 0; t < n_threads; ++t) threads.emplace_back(work);
  for (std::thread& t : threads) t.join();

  std::vector<torch::Tensor> images;
  std::vector<int64_t> labels;
  for (size_t i = 0; i < files.size(); ++i) {
    if (decoded[i].has_value()) {
      images.push_back(*decoded[i]);
      labels.push_back(files[i].label);
      continue;
    }
    ++out.skipped;
    if (out.skipped_files.size() < 20) out.skipped_files.push_back(errors[i]);
    LOG(WARNING) << "image folder: skipped " << errors[i];
  }
  if (images.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        split_dir.string(), ": none of its ", files.size(),
        " files decodes (first: ", errors.front(), ")"));
  }
  if (out.skipped > 0) {
    LOG(WARNING) << "image folder " << split_dir.string() << ": skipped "
                 << out.skipped << " of " << files.size()
                 << " files that do not decode";
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
