// Image-folder datasets: the layout people already have for their photos,
//
//   DIR/train/CLASS/*.jpg|*.png   (the training set; the validation set is
//                                  held out of it, as for CIFAR-10)
//   DIR/val/CLASS/*.jpg|*.png     (the test set)
//
// Classes are the sorted names of DIR/train's subdirectories; DIR/val may
// not name another one. Every image is decoded (image_decoder.h) by several
// threads and stored in memory as its Inception-style evaluation view:
// the shorter side resized to size / 0.875, the central size x size. The
// training augmentation (augment.h: random-resized crop and flip) draws its
// crops from that stored view.
//
// A damaged file (truncated, not an image, larger than max_image_pixels,
// or anything else its decoding fails on, out of memory included) is
// skipped with a warning that names it, and counted; a dataset where
// nothing decodes is an error. Nothing a file holds ends the process.
#ifndef AMOEBA_DATA_FOLDER_DATASET_H_
#define AMOEBA_DATA_FOLDER_DATASET_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "data/dataset.h"
#include "data/image_decoder.h"

namespace amoeba {

struct FolderOptions {
  int image_size = 64;    // stored (and trained) size, square
  int threads = 2;        // decoding threads
  // Per split, 0 = all; else taken round-robin over the classes (in path
  // order within each), so that every class keeps some.
  int64_t max_images = 0;
  // Files that would decode larger are skipped (image_decoder.h).
  int64_t max_image_pixels = kDefaultMaxImagePixels;
};

struct FolderDataset {
  ImageDataset images;               // uint8 [N, 3, size, size]
  std::vector<std::string> classes;  // label -> class name
  int64_t skipped = 0;               // files that did not decode
  std::vector<std::string> skipped_files;  // the first 20 of them
};

// DIR/train (train = true) or DIR/val. NotFound for a missing directory or
// class; InvalidArgument for bad options or no decodable image.
absl::StatusOr<FolderDataset> LoadImageFolder(const std::string& dir,
                                              bool train,
                                              const FolderOptions& options);

}  // namespace amoeba

#endif  // AMOEBA_DATA_FOLDER_DATASET_H_
