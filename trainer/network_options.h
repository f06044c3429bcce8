// The shape of a network: N, F, the input, the stem, the heads and the
// regularisation built into it. Plain values without LibTorch (see
// data/data_options.h for why).
#ifndef AMOEBA_TRAINER_NETWORK_OPTIONS_H_
#define AMOEBA_TRAINER_NETWORK_OPTIONS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace amoeba {

enum class Stem { kCifar, kImageNet };

// How ScheduledDropPath's probability grows: the released code's
// drop_connect_version v1 (time), v2 (depth) and v3 (both).
enum class DropPathSchedule {
  kTimeAndDepth,  // v3, slim's NASNet: (k+1)/K of it, rising over training
  kTime,          // v1, the released AmoebaNet code's: every cell alike
  kDepth,         // v2: (k+1)/K of it from the first step
};

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
  // training (DropPathProbability). 0 disables it.
  double drop_path = 0.0;
  DropPathSchedule drop_path_schedule = DropPathSchedule::kTimeAndDepth;
};

// The drop probability of cell `cell` (0-based) of `cells` when `progress`
// (clamped to [0, 1]) of training is done: `drop_path` scaled by
// (cell+1)/cells when the schedule grows with depth, and by progress when
// it grows with time.
double DropPathProbability(const NetworkOptions& options, int cell, int cells,
                           double progress);

absl::StatusOr<DropPathSchedule> DropPathScheduleFromName(
    absl::string_view name);
// "time-and-depth", "time" or "depth".
const char* DropPathScheduleName(DropPathSchedule schedule);

// InvalidArgument naming the bad option (sizes, counts, probabilities).
absl::Status ValidateNetworkOptions(const NetworkOptions& options);

}  // namespace amoeba

#endif  // AMOEBA_TRAINER_NETWORK_OPTIONS_H_
