// The eight operations of the NASNet search space, with stable names.
//
// The numeric values are part of the stored and wire formats (text uses the
// names, protobuf uses value + 1): never reorder them.
#ifndef AMOEBA_GENOTYPE_OPS_H_
#define AMOEBA_GENOTYPE_OPS_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include "absl/strings/string_view.h"

namespace amoeba {

enum class Op : uint8_t {
  kNone = 0,  // identity
  kSepConv3x3 = 1,
  kSepConv5x5 = 2,
  kSepConv7x7 = 3,
  kAvgPool3x3 = 4,
  kMaxPool3x3 = 5,
  kDilSepConv3x3 = 6,
  kConv1x7_7x1 = 7,
};

inline constexpr int kNumOps = 8;

// Every op, in value order.
const std::array<Op, kNumOps>& AllOps();

// True when `op` holds one of the eight defined values (an Op cast from an
// arbitrary integer may not).
bool IsValidOp(Op op);

// The stable name ("sep_conv_3x3", ...); "invalid_op_<n>" for an invalid op.
std::string OpName(Op op);

// The op with this exact name, or nullopt.
std::optional<Op> OpFromName(absl::string_view name);

// "none, sep_conv_3x3, ..." for error messages.
std::string AllOpNames();

}  // namespace amoeba

#endif  // AMOEBA_GENOTYPE_OPS_H_
