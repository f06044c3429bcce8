#include "trainer/weight_inheritance.h"

#include <map>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "trainer/torch_util.h"

namespace amoeba {
namespace {

// The shapes of two networks agree outside their cells' ops when these
// agree (dropout, drop path and their schedules change no shape).
bool SameShapeOptions(const NetworkOptions& a, const NetworkOptions& b) {
  return a.cells_per_stack == b.cells_per_stack && a.filters == b.filters &&
         a.input_channels == b.input_channels &&
         a.image_size == b.image_size && a.num_classes == b.num_classes &&
         a.stem == b.stem && a.stem_multiplier == b.stem_multiplier &&
         a.stem_filters == b.stem_filters && a.aux_head == b.aux_head &&
         a.aux_scaling == b.aux_scaling;
}

// For a tensor inside a cell's op ("cell3_normal.ops.5.1.weight",
// "stem_cell0.ops.2.0.weight"): the cell's type and the op's slot.
bool OpSlotOf(const std::string& name, CellType* type, int* slot) {
  const std::vector<std::string> parts = absl::StrSplit(name, '.');
  if (parts.size() < 4 || parts[1] != "ops") return false;
  const std::string& cell = parts[0];
  if (absl::StartsWith(cell, "stem_cell") ||
      absl::EndsWith(cell, "_reduction")) {
    *type = CellType::kReduction;
  } else if (absl::EndsWith(cell, "_normal")) {
    *type = CellType::kNormal;
  } else {
    return false;
  }
  return absl::SimpleAtoi(parts[2], slot) && *slot >= 0 &&
         *slot < kNumPositions;
}

}  // namespace

absl::StatusOr<Inheritance> InheritWeights(const Genotype& parent_genotype,
                                           Network& parent,
                                           const Genotype& child_genotype,
                                           Network& child) {
  if (!SameShapeOptions(parent->options(), child->options())) {
    return absl::FailedPreconditionError(
        "the parent's network has other options (N, F, image size, "
        "classes or stem) than the child's");
  }
  return GuardTorch("inheriting weights", [&]() -> absl::StatusOr<Inheritance> {
    std::map<std::string, torch::Tensor> from;
    for (const auto& p : parent->named_parameters(/*recurse=*/true)) {
      from[p.key()] = p.value();
    }
    for (const auto& b : parent->named_buffers(/*recurse=*/true)) {
      from[b.key()] = b.value();
    }
    Inheritance out;
    torch::NoGradGuard no_grad;
    auto take = [&](const std::string& name, torch::Tensor& into,
                    bool parameter) {
      ++out.tensors;
      if (parameter) out.parameters += into.numel();
      CellType type;
      int slot;
      if (OpSlotOf(name, &type, &slot) &&
          parent_genotype.cell(type).ops[slot] !=
              child_genotype.cell(type).ops[slot]) {
        return;  // another op in this slot: fresh weights
      }
      auto it = from.find(name);
      if (it == from.end() || it->second.sizes() != into.sizes() ||
          it->second.scalar_type() != into.scalar_type()) {
        return;
      }
      into.copy_(it->second);
      ++out.tensors_copied;
      if (parameter) out.parameters_copied += into.numel();
    };
    for (auto& p : child->named_parameters(/*recurse=*/true)) {
      take(p.key(), p.value(), /*parameter=*/true);
    }
    for (auto& b : child->named_buffers(/*recurse=*/true)) {
      take(b.key(), b.value(), /*parameter=*/false);
    }
    return out;
  });
}

}  // namespace amoeba
