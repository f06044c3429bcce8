#include "genotype/ops.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace amoeba {
namespace {

constexpr std::array<absl::string_view, kNumOps> kOpNames = {
    "none",         "sep_conv_3x3", "sep_conv_5x5",     "sep_conv_7x7",
    "avg_pool_3x3", "max_pool_3x3", "dil_sep_conv_3x3", "conv_1x7_7x1",
};

}  // namespace

const std::array<Op, kNumOps>& AllOps() {
  static constexpr std::array<Op, kNumOps> kOps = {
      Op::kNone,       Op::kSepConv3x3, Op::kSepConv5x5,     Op::kSepConv7x7,
      Op::kAvgPool3x3, Op::kMaxPool3x3, Op::kDilSepConv3x3, Op::kConv1x7_7x1,
  };
  return kOps;
}

bool IsValidOp(Op op) { return static_cast<int>(op) < kNumOps; }

std::string OpName(Op op) {
  if (!IsValidOp(op)) return absl::StrCat("invalid_op_", static_cast<int>(op));
  return std::string(kOpNames[static_cast<int>(op)]);
}

std::optional<Op> OpFromName(absl::string_view name) {
  for (int i = 0; i < kNumOps; ++i) {
    if (kOpNames[i] == name) return static_cast<Op>(i);
  }
  return std::nullopt;
}

std::string AllOpNames() { return absl::StrJoin(kOpNames, ", "); }

}  // namespace amoeba
