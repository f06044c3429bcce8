#include "data/image_files.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace amoeba {
namespace {

namespace fs = std::filesystem;

constexpr char kValLabels[] = "val_labels.txt";
constexpr char kSynsets[] = "synsets.txt";

// The sorted names of `dir`'s subfolders (directories = true) or regular
// files. The error_code forms throughout: a link that loops, or an entry
// that vanishes while listing, is skipped or reported, never thrown.
absl::StatusOr<std::vector<std::string>> SortedEntries(const fs::path& dir,
                                                       bool directories) {
  std::error_code error;
  if (!fs::is_directory(dir, error)) {
    return absl::NotFoundError(
        absl::StrCat(dir.string(), ": no such directory"));
  }
  std::vector<std::string> names;
  fs::directory_iterator it(dir, error);
  for (; !error && it != fs::directory_iterator(); it.increment(error)) {
    std::string name = it->path().filename().string();
    if (name.empty() || name[0] == '.') continue;
    std::error_code kind_error;
    if (directories ? it->is_directory(kind_error)
                    : it->is_regular_file(kind_error)) {
      names.push_back(std::move(name));
    }
  }
  if (error) {
    return absl::NotFoundError(
        absl::StrCat(dir.string(), ": cannot list: ", error.message()));
  }
  std::sort(names.begin(), names.end());
  return names;
}

// The non-empty lines of a small text file, trimmed.
absl::StatusOr<std::vector<std::string>> ReadLines(const fs::path& path) {
  std::ifstream in(path);
  if (!in) {
    return absl::NotFoundError(absl::StrCat(path.string(), ": cannot read"));
  }
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line)) {
    absl::string_view trimmed = absl::StripAsciiWhitespace(line);
    if (!trimmed.empty()) lines.emplace_back(trimmed);
  }
  if (in.bad()) {
    return absl::NotFoundError(
        absl::StrCat(path.string(), ": read error after ", lines.size(),
                     " lines"));
  }
  return lines;
}

// The class names of ImageNet's flat validation labels: each line of
// val_labels.txt as a class name, or as a 1-based line of synsets.txt.
absl::StatusOr<std::vector<std::string>> FlatLabelNames(const fs::path& dir,
                                                        size_t files) {
  const fs::path labels_path = dir / kValLabels;
  absl::StatusOr<std::vector<std::string>> labels = ReadLines(labels_path);
  if (!labels.ok()) {
    return absl::NotFoundError(absl::StrCat(
        (dir / "val").string(), " holds images but no class folders: a flat "
        "validation folder needs its labels in ", labels_path.string(),
        " (one a line, in file-name order; ", labels.status().message(), ")"));
  }
  if (labels->size() != files) {
    return absl::InvalidArgumentError(absl::StrCat(
        labels_path.string(), " has ", labels->size(), " labels but ",
        (dir / "val").string(), " has ", files, " files"));
  }
  std::vector<std::string> synsets;
  bool synsets_read = false;
  for (size_t i = 0; i < labels->size(); ++i) {
    std::string& label = (*labels)[i];
    int64_t number = 0;
    if (!absl::SimpleAtoi(label, &number)) continue;
    if (!synsets_read) {
      absl::StatusOr<std::vector<std::string>> lines =
          ReadLines(dir / kSynsets);
      if (!lines.ok()) {
        return absl::NotFoundError(absl::StrCat(
            labels_path.string(), " numbers its classes, so ",
            (dir / kSynsets).string(), " must name them (",
            lines.status().message(), ")"));
      }
      for (const std::string& line : *lines) {
        synsets.push_back(std::string(
            *absl::StrSplit(line, absl::ByAnyChar(" \t")).begin()));
      }
      synsets_read = true;
    }
    if (number < 1 || number > static_cast<int64_t>(synsets.size())) {
      return absl::InvalidArgumentError(absl::StrCat(
          labels_path.string(), ": line ", i + 1, ": class number ", number,
          " is not in 1..", synsets.size(), " (the lines of ",
          (dir / kSynsets).string(), ")"));
    }
    label = synsets[number - 1];
  }
  return labels;
}

}  // namespace

void ImageFileIndex::Add(int folder, const std::string& name, int label) {
  names_ += name;
  name_start_.push_back(static_cast<uint32_t>(names_.size()));
  folder_of_.push_back(static_cast<uint32_t>(folder));
  labels_.push_back(label);
}

std::string ImageFileIndex::path(int64_t i) const {
  return absl::StrCat(
      folders_[folder_of_[i]], "/",
      absl::string_view(names_).substr(name_start_[i],
                                       name_start_[i + 1] - name_start_[i]));
}

int64_t ImageFileIndex::memory_bytes() const {
  int64_t bytes = static_cast<int64_t>(
      names_.capacity() + name_start_.capacity() * sizeof(uint32_t) +
      folder_of_.capacity() * sizeof(uint32_t) +
      labels_.capacity() * sizeof(int32_t));
  for (const std::string& f : folders_) bytes += f.capacity();
  for (const std::string& c : classes_) bytes += c.capacity();
  return bytes;
}

absl::StatusOr<ImageFileIndex> ImageFileIndex::Open(const std::string& dir,
                                                    bool train,
                                                    int64_t max_files) {
  if (max_files < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "image folder: max files must be >= 0 (0 = all), got ", max_files));
  }
  ImageFileIndex index;
  const fs::path root(dir);
  absl::StatusOr<std::vector<std::string>> classes =
      SortedEntries(root / "train", /*directories=*/true);
  if (!classes.ok()) return classes.status();
  if (classes->size() < 2) {
    return absl::InvalidArgumentError(absl::StrCat(
        dir, "/train: needs at least 2 class directories, found ",
        classes->size()));
  }
  index.classes_ = *std::move(classes);
  const fs::path split = root / (train ? "train" : "val");
  index.split_dir_ = split.string();
  std::map<std::string, int> label_of;
  for (size_t i = 0; i < index.classes_.size(); ++i) {
    label_of[index.classes_[i]] = static_cast<int>(i);
  }

  // Per class, its folder and sorted files (for the round-robin cap).
  struct ClassFiles {
    int folder;
    int label;
    std::vector<std::string> names;
  };
  std::vector<ClassFiles> by_class;
  absl::StatusOr<std::vector<std::string>> split_classes =
      SortedEntries(split, /*directories=*/true);
  if (!split_classes.ok()) return split_classes.status();
  if (split_classes->empty() && !train) {
    // ImageNet's flat validation folder.
    absl::StatusOr<std::vector<std::string>> names =
        SortedEntries(split, /*directories=*/false);
    if (!names.ok()) return names.status();
    if (names->empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(index.split_dir_, ": no class folders and no files"));
    }
    absl::StatusOr<std::vector<std::string>> labels =
        FlatLabelNames(root, names->size());
    if (!labels.ok()) return labels.status();
    index.folders_.push_back(index.split_dir_);
    std::map<int, ClassFiles> grouped;
    for (size_t i = 0; i < names->size(); ++i) {
      auto it = label_of.find((*labels)[i]);
      if (it == label_of.end()) {
        return absl::InvalidArgumentError(absl::StrCat(
            dir, "/", kValLabels, ": line ", i + 1, ": '", (*labels)[i],
            "' is not a class of ", dir, "/train"));
      }
      if (max_files == 0) {
        index.Add(0, (*names)[i], it->second);  // file-name order
      } else {
        ClassFiles& c = grouped[it->second];
        c.folder = 0;
        c.label = it->second;
        c.names.push_back(std::move((*names)[i]));
      }
    }
    for (auto& [label, c] : grouped) by_class.push_back(std::move(c));
  } else {
    for (const std::string& name : *split_classes) {
      auto it = label_of.find(name);
      if (it == label_of.end()) {
        return absl::InvalidArgumentError(
            absl::StrCat(index.split_dir_, "/", name, ": a class that ", dir,
                         "/train does not have"));
      }
      const fs::path folder = split / name;
      absl::StatusOr<std::vector<std::string>> names =
          SortedEntries(folder, /*directories=*/false);
      if (!names.ok()) return names.status();
      if (names->empty()) {
        // Never a silent drop of a whole class.
        return absl::InvalidArgumentError(
            absl::StrCat(folder.string(), ": a class folder without files"));
      }
      index.folders_.push_back(folder.string());
      by_class.push_back({static_cast<int>(index.folders_.size() - 1),
                          it->second, *std::move(names)});
    }
    if (max_files == 0) {
      for (const ClassFiles& c : by_class) {
        for (const std::string& n : c.names) index.Add(c.folder, n, c.label);
      }
      by_class.clear();
    }
  }
  // The cap: round-robin over the classes, so that every class keeps some.
  for (size_t round = 0; !by_class.empty() && index.size() < max_files;
       ++round) {
    bool any = false;
    for (const ClassFiles& c : by_class) {
      if (round < c.names.size() && index.size() < max_files) {
        index.Add(c.folder, c.names[round], c.label);
        any = true;
      }
    }
    if (!any) break;
  }
  if (index.size() == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(index.split_dir_, ": no image files"));
  }
  if (index.names_.size() > std::numeric_limits<uint32_t>::max()) {
    return absl::InvalidArgumentError(absl::StrCat(
        index.split_dir_, ": file names longer than 4 GB in all"));
  }
  index.names_.shrink_to_fit();
  index.name_start_.shrink_to_fit();
  index.folder_of_.shrink_to_fit();
  index.labels_.shrink_to_fit();
  return index;
}

}  // namespace amoeba
