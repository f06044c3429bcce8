#include "trainer/network_options.h"

#include <algorithm>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/training_limits.h"

namespace amoeba {

absl::Status ValidateNetworkOptions(const NetworkOptions& o) {
  auto bad = [](const std::string& what) {
    return absl::InvalidArgumentError(absl::StrCat("network options: ", what));
  };
  // The bounds the controller checks a search's settings with.
  for (const absl::Status& check :
       {CheckCellsPerStack(o.cells_per_stack), CheckFilters(o.filters)}) {
    if (!check.ok()) return bad(std::string(check.message()));
  }
  if (o.input_channels < 1 || o.input_channels > 64) {
    return bad(absl::StrFormat("input channels must be in 1..64, got %d",
                               o.input_channels));
  }
  if (o.image_size < 8 || o.image_size > 1024) {
    return bad(absl::StrFormat(
        "image size must be in 8..1024 (two reductions), got %d",
        o.image_size));
  }
  if (o.stem == Stem::kImageNet && o.image_size < 64) {
    return bad(absl::StrFormat(
        "image size must be at least 64 with the ImageNet stem (five "
        "reductions), got %d",
        o.image_size));
  }
  if (o.stem_filters < 1 || o.stem_filters > 4096) {
    return bad(absl::StrFormat("stem filters must be in 1..4096, got %d",
                               o.stem_filters));
  }
  if (!(o.aux_scaling > 0 && o.aux_scaling <= 4) ||
      static_cast<int>(128 * o.aux_scaling) < 1) {
    return bad(absl::StrFormat("aux scaling must be in (0, 4], got %g",
                               o.aux_scaling));
  }
  if (o.stem == Stem::kImageNet && o.filters < 4) {
    return bad(absl::StrFormat(
        "F must be at least 4 with the ImageNet stem (its cells are F/4 "
        "wide), got %d",
        o.filters));
  }
  if (o.num_classes < 2) {
    return bad(absl::StrFormat("need at least 2 classes, got %d",
                               o.num_classes));
  }
  if (!(o.stem_multiplier > 0 && o.stem_multiplier <= 16)) {
    return bad(absl::StrFormat("stem multiplier must be in (0, 16], got %g",
                               o.stem_multiplier));
  }
  if (!(o.dropout >= 0 && o.dropout < 1)) {
    return bad(absl::StrFormat("dropout must be in [0, 1), got %g", o.dropout));
  }
  if (!(o.drop_path >= 0 && o.drop_path < 1)) {
    return bad(
        absl::StrFormat("drop path must be in [0, 1), got %g", o.drop_path));
  }
  return absl::OkStatus();
}

double DropPathProbability(const NetworkOptions& options, int cell, int cells,
                           double progress) {
  double p = options.drop_path;
  if (options.drop_path_schedule != DropPathSchedule::kTime) {
    p *= static_cast<double>(cell + 1) / cells;
  }
  if (options.drop_path_schedule != DropPathSchedule::kDepth) {
    p *= std::clamp(progress, 0.0, 1.0);
  }
  return p;
}

absl::StatusOr<DropPathSchedule> DropPathScheduleFromName(
    absl::string_view name) {
  for (DropPathSchedule s :
       {DropPathSchedule::kTimeAndDepth, DropPathSchedule::kTime,
        DropPathSchedule::kDepth}) {
    if (name == DropPathScheduleName(s)) return s;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "--drop_path_schedule must be time-and-depth, time or depth, got '",
      name.substr(0, 64), "'"));
}

const char* DropPathScheduleName(DropPathSchedule schedule) {
  switch (schedule) {
    case DropPathSchedule::kTimeAndDepth:
      return "time-and-depth";
    case DropPathSchedule::kTime:
      return "time";
    case DropPathSchedule::kDepth:
      return "depth";
  }
  return "time-and-depth";
}

}  // namespace amoeba
