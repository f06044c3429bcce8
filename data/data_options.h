// How a run reads its data: which dataset, where, how it is cut into
// training / validation / test, and how training images are augmented.
// Plain values without LibTorch, so that settings/ and the command-line
// tools can build them without compiling the tensor library's headers.
#ifndef AMOEBA_DATA_DATA_OPTIONS_H_
#define AMOEBA_DATA_DATA_OPTIONS_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace amoeba {

// What a network needs to know of the images it reads (square images).
struct ImageShape {
  int channels = 1;
  int size = 28;
  int num_classes = 10;
};

// kFolder: JPEG/PNG photos in DIR/train/CLASS and DIR/val/CLASS
// (data/folder_dataset.h).
enum class DatasetKind { kFashionMnist, kCifar10, kFolder };

// "fashion_mnist", "cifar10" or "folder" (also "fashion-mnist", "cifar-10").
absl::StatusOr<DatasetKind> DatasetKindFromName(absl::string_view name);
std::string DatasetName(DatasetKind kind);

// Where Debian puts the data; "" for CIFAR-10, which must be given.
std::string DefaultDataDir(DatasetKind kind);

// How to cut a dataset for a search or a final training.
struct DataOptions {
  DatasetKind kind = DatasetKind::kFashionMnist;
  std::string dir;  // empty: DefaultDataDir(kind)
  // Images held out of the training set as the validation set (the paper:
  // 5,000 of CIFAR-10's 50,000). Chosen by a fixed permutation of split_seed,
  // so every worker holds out the same images. 0 only with load_test
  // (final training: nothing held out).
  int64_t validation_images = 5000;
  // Caps for small runs; 0 = no cap.
  int64_t max_train_images = 0;
  uint64_t split_seed = 0;
  // The test set is loaded only when asked: it is for final evaluation.
  bool load_test = false;
  // Folder datasets only: the trained image size, and the threads that
  // decode a pass (0: the cores LibTorch's threads leave free). Folders are
  // streamed (data/folder_dataset.h).
  int image_size = 64;
  int decode_threads = 0;
  // Files that would decode to more pixels are skipped (image_decoder.h's
  // kDefaultMaxImagePixels, PIL's bound).
  int64_t max_image_pixels = 89478485;
};

struct AugmentOptions {
  int crop_padding = 0;          // random crop after zero padding; 0 = off
  // Inception-style: a random box of 10-100 % of the area with an aspect
  // ratio in [3/4, 4/3] (the released amoeba_net preprocessing's ranges;
  // a box that would not fit is clamped to the image instead of redrawn),
  // resized back to the image's size (bilinear).
  bool random_resized_crop = false;
  bool horizontal_flip = false;  // with probability 1/2
  int cutout = 0;                // side of a zeroed square; 0 = off
};

// The usual augmentation of a dataset: CIFAR-10 crop 4 + flip;
// Fashion-MNIST crop 2, no flip (garments have a handedness of sorts and
// the search is short); folders of photos random-resized crop + flip.
AugmentOptions DefaultAugmentation(DatasetKind kind);

}  // namespace amoeba

#endif  // AMOEBA_DATA_DATA_OPTIONS_H_
