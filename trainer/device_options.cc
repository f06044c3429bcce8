#include "trainer/device_options.h"

#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace amoeba {

absl::StatusOr<Precision> PrecisionFromName(absl::string_view name) {
  const std::string key = absl::AsciiStrToLower(name);
  if (key == "auto") return Precision::kAuto;
  if (key == "fp32" || key == "float32") return Precision::kFloat32;
  if (key == "bf16" || key == "bfloat16") return Precision::kBFloat16;
  if (key == "fp16" || key == "float16") return Precision::kFloat16;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown precision '", name.substr(0, 64),
                   "'; known: auto, fp32, bf16, fp16"));
}

}  // namespace amoeba
