// Batch preparation on the device the batch lives on: uint8 -> float,
// per-channel normalization, and the paper's augmentation (random crop with
// padding, horizontal flip, optional cutout). The dataset stays resident on
// the device as uint8, so no host->device copy happens per step.
//
// Random numbers come from a CPU torch::Generator seeded by the caller, so a
// seed gives the same augmentation on any device.
#ifndef AMOEBA_DATA_AUGMENT_H_
#define AMOEBA_DATA_AUGMENT_H_

#include <torch/types.h>
#include <torch/utils.h>

#include <cstdint>

#include "absl/status/statusor.h"
#include "data/dataset.h"

namespace amoeba {


// Per-channel mean and standard deviation of pixel values in [0, 1].
struct Normalizer {
  torch::Tensor mean;  // float [C]
  torch::Tensor std;   // float [C]

  // Statistics of an in-memory uint8 image set.
  static Normalizer FromDataset(const ImageDataset& data);

  // Statistics of either kind: a streamed dataset's from the evaluation
  // views of its first `sample` rows (the rows of a split are already in a
  // seeded random order), so that opening a folder of a million photos
  // does not decode them all. Errors of the pass (no file decodes).
  static absl::StatusOr<Normalizer> Measure(const ImageDataset& data,
                                            int64_t sample = 1000);

  // uint8 [B, C, H, W] -> normalized float, on the images' device. Cheapest
  // with mean and std already there (see OnDevice): a copy from host memory
  // to a GPU first waits until the GPU has finished all queued work.
  torch::Tensor Apply(const torch::Tensor& images) const;

  // The same statistics with mean and std on `device`.
  Normalizer OnDevice(const torch::Device& device) const;
};

// Augments a normalized float batch [B, C, H, W]. Returns the batch itself
// when every option is off. The random draws come from `generator` (a CPU
// generator: the same crops on every device) and reach a GPU batch through
// pinned memory without waiting for the GPU.
torch::Tensor Augment(const torch::Tensor& batch, const AugmentOptions& options,
                      torch::Generator& generator);


}  // namespace amoeba

#endif  // AMOEBA_DATA_AUGMENT_H_
