// The shape of a network: N, F, the input, the stem, the heads and the
// regularisation built into it. Plain values without LibTorch (see
// data/data_options.h for why).
#ifndef AMOEBA_TRAINER_NETWORK_OPTIONS_H_
#define AMOEBA_TRAINER_NETWORK_OPTIONS_H_

#include "absl/status/status.h"

namespace amoeba {

enum class Stem { kCifar, kImageNet };

struct NetworkOptions {
  int cells_per_stack = 1;  // N
  int filters = 8;          // F
  int input_channels = 1;
  int image_size = 28;  // square images
  int num_classes = 10;
  Stem stem = Stem::kCifar;
  double stem_multiplier = 3.0;  // CIFAR stem only
  int stem_filters = 32;         // ImageNet stem only (stem_reduction_size)
  bool aux_head = false;
  // Width of the auxiliary head's two convolutions, as a fraction of 128 and
  // 768 (the released ImageNet code: 0.4).
  double aux_scaling = 1.0;
  // Dropout before the final linear layer (probability of dropping).
  double dropout = 0.0;
  // ScheduledDropPath: the drop probability of the last cell at the end of
  // training; cell k of K uses (k+1)/K of it, and it rises linearly from 0
  // over training (see NetworkImpl::forward). 0 disables it.
  double drop_path = 0.0;
};

// InvalidArgument naming the bad option (sizes, counts, probabilities).
absl::Status ValidateNetworkOptions(const NetworkOptions& options);

}  // namespace amoeba

#endif  // AMOEBA_TRAINER_NETWORK_OPTIONS_H_
