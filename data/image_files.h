// The file index of an image folder: which files a split has and the class
// of each, without reading a pixel. It is all a streaming dataset keeps in
// memory (each file's name plus 12 bytes: 2.4 MB for 100,000 files with
// 14-character names), so a folder of any size opens in the time it takes
// to list it.
//
// Layouts (DIR is the dataset folder):
//
//   DIR/train/CLASS/*          the training split (torchvision's
//                              ImageFolder); classes are the sorted names
//                              of DIR/train's subfolders
//   DIR/val/CLASS/*            the test split, the same class names
//   DIR/val/*  (flat)          ImageNet's validation layout: one folder of
//                              images plus DIR/val_labels.txt, one label a
//                              line in file-name order. A label is a class
//                              name (a WordNet id such as n01440764) or a
//                              number k >= 1 naming the class on line k of
//                              DIR/synsets.txt (first word of the line; the
//                              ILSVRC2012 devkit's numbering). Copy or link
//                              the devkit's files to those two names.
//
// Entries whose names start with '.' are ignored, as are files that are not
// regular files (links are followed). Whether a file decodes is learnt
// only when it is read (image_stream.h).
//
// Errors name the folder or file: NotFound (a missing folder or label
// list), InvalidArgument (fewer than 2 classes, a class folder without
// files, a val class train lacks, a label list whose length differs from
// the folder's or naming an unknown class). Never throws.
// Thread safety: const methods may be called from any thread.
#ifndef AMOEBA_DATA_IMAGE_FILES_H_
#define AMOEBA_DATA_IMAGE_FILES_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace amoeba {

class ImageFileIndex {
 public:
  // DIR/train (train = true) or DIR/val, in either layout above. With
  // max_files > 0, at most that many, taken round-robin over the classes
  // (file-name order within each) so that every class keeps some.
  static absl::StatusOr<ImageFileIndex> Open(const std::string& dir,
                                             bool train, int64_t max_files = 0);

  int64_t size() const { return static_cast<int64_t>(labels_.size()); }
  // The class names, label -> name (the sorted class folders of DIR/train).
  const std::vector<std::string>& classes() const { return classes_; }
  // The split's folder, for messages: DIR/train or DIR/val.
  const std::string& split_dir() const { return split_dir_; }

  // REQUIRES: 0 <= i < size().
  std::string path(int64_t i) const;
  int label(int64_t i) const { return labels_[i]; }

  // The bytes the index holds (names, offsets, labels): what streaming a
  // split costs in memory beyond its batches.
  int64_t memory_bytes() const;

 private:
  ImageFileIndex() = default;
  void Add(int folder, const std::string& name, int label);

  std::string split_dir_;
  std::vector<std::string> classes_;
  std::vector<std::string> folders_;  // file paths are folder + "/" + name
  // Every file name back to back; file i's is [name_start_[i],
  // name_start_[i + 1]).
  std::string names_;
  std::vector<uint32_t> name_start_{0};
  std::vector<uint32_t> folder_of_;
  std::vector<int32_t> labels_;
};

}  // namespace amoeba

#endif  // AMOEBA_DATA_IMAGE_FILES_H_
