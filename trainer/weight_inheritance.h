// A child network that starts from its parent's trained weights (Real et
// al. 2017's weight inheritance): the child differs from its parent by one
// op or one input, so most of what the parent learned still fits.
//
// Every parameter and buffer of the child whose place in the network is
// unchanged and whose shape and type are the parent's is copied:
//   * in a cell, the tensors of op slot p (module "...cellK_TYPE.ops.p.")
//     only when that slot holds the same op in both genotypes (an input
//     mutation keeps the op; when its new input has another width the
//     shapes differ and nothing is copied);
//   * everything else (stem, preprocessing, output adapters, head,
//     auxiliary head) by name and shape.
// The rest keeps the child's fresh initialisation. An identity mutation
// copies everything.
//
// Never throws; thread safety: as the networks'.
#ifndef AMOEBA_TRAINER_WEIGHT_INHERITANCE_H_
#define AMOEBA_TRAINER_WEIGHT_INHERITANCE_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "genotype/genotype.h"
#include "trainer/network.h"

namespace amoeba {

struct Inheritance {
  int64_t tensors_copied = 0;
  int64_t tensors = 0;  // of the child
  // Trainable parameters (scalars) copied, of the child's.
  int64_t parameters_copied = 0;
  int64_t parameters = 0;

  double fraction() const {
    return parameters > 0 ? static_cast<double>(parameters_copied) / parameters
                          : 0;
  }
};

// Copies what `child` (genotype `child_genotype`) can take of `parent`
// (genotype `parent_genotype`). FailedPrecondition, copying nothing, when
// the networks' options differ (another N, F, image size, classes or stem:
// the parent is of another search shape); the child then trains from its
// fresh weights.
absl::StatusOr<Inheritance> InheritWeights(const Genotype& parent_genotype,
                                           Network& parent,
                                           const Genotype& child_genotype,
                                           Network& child);

}  // namespace amoeba

#endif  // AMOEBA_TRAINER_WEIGHT_INHERITANCE_H_
