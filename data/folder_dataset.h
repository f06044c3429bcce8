// Image-folder datasets, streamed: the layouts people already have for
// their photos (data/image_files.h: DIR/train/CLASS, DIR/val/CLASS, or
// ImageNet's flat validation folder with its label list), read a pass at a
// time. Opening a split lists its files; every pass (a training epoch, an
// evaluation) reads them in the order it is given, decodes them on a pool
// of threads (data/image_stream.h) and hands over batches of uint8 views
// (data/image_views.h: the random-resized crop and flip of training, or
// the central crop of evaluation, both on the photo's full extent). Memory
// holds the file index and a few batches, never the split.
//
// A damaged, truncated, unreadable or vanished file is skipped with a
// warning that names it, once per pass, and counted; a pass in which no
// file decodes is an error. Nothing a file holds ends the process.
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
  int image_size = 64;  // the views' side (the network's input), square
  // Decoding threads of a pass; 0: the cores LibTorch's own threads leave
  // free (at least 1).
  int threads = 0;
  // Per split, 0 = all; else taken round-robin over the classes (in
  // file-name order within each), so that every class keeps some.
  int64_t max_images = 0;
  // Files that would decode larger are skipped (image_decoder.h).
  int64_t max_image_pixels = kDefaultMaxImagePixels;
};

// The decoding threads `threads` stands for (0: the free cores).
int DecodeThreads(int threads);

// DIR/train (train = true) or DIR/val, as a streamed dataset (its labels
// in memory, its classes in images.stream->classes()). NotFound for a
// missing folder or label list; InvalidArgument for bad options or a
// layout error (data/image_files.h). Reads no image: damaged files show up
// in the passes.
absl::StatusOr<ImageDataset> OpenImageFolder(const std::string& dir,
                                             bool train,
                                             const FolderOptions& options);

}  // namespace amoeba

#endif  // AMOEBA_DATA_FOLDER_DATASET_H_
