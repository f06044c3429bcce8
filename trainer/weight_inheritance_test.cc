// Weight inheritance between real networks of a parent and its mutated
// children.
#include "trainer/weight_inheritance.h"

#include <string>

#include "catch2/catch.hpp"
#include "genotype/known_cells.h"

namespace amoeba {
namespace {

NetworkOptions Small(int filters = 8) {
  NetworkOptions o;  // N=1, 28x28x1, 10 classes
  o.filters = filters;
  o.aux_head = true;
  return o;
}

// A network with weights unlike any fresh initialisation, and running
// statistics unlike a fresh batch norm's.
Network Trained(const Genotype& genotype, const NetworkOptions& options) {
  torch::manual_seed(1);
  Network net(genotype, options);
  torch::NoGradGuard no_grad;
  for (auto& p : net->parameters()) p.add_(0.5);
  for (auto& b : net->buffers()) {
    if (b.is_floating_point()) b.add_(0.25);
  }
  return net;
}

bool Same(Network& a, Network& b, const std::string& name) {
  auto pa = a->named_parameters(true), pb = b->named_parameters(true);
  if (pa.contains(name)) return torch::equal(pa[name], pb[name]);
  auto ba = a->named_buffers(true), bb = b->named_buffers(true);
  return torch::equal(ba[name], bb[name]);
}

TEST_CASE("An identity child inherits every tensor and computes as its parent") {
  const Genotype genotype = AmoebaNetA();
  Network parent = Trained(genotype, Small());
  torch::manual_seed(2);
  Network child(genotype, Small());
  auto inherited = InheritWeights(genotype, parent, genotype, child);
  REQUIRE(inherited.ok());
  CHECK(inherited->tensors_copied == inherited->tensors);
  CHECK(inherited->parameters_copied == inherited->parameters);
  CHECK(inherited->fraction() == 1.0);
  CHECK(inherited->parameters == child->num_parameters(true));
  parent->eval();
  child->eval();
  const torch::Tensor x = torch::randn({2, 1, 28, 28});
  CHECK(torch::equal(parent->forward(x).logits, child->forward(x).logits));
}

TEST_CASE("An op mutation leaves that slot's tensors fresh and copies the rest") {
  const Genotype parent_genotype = AmoebaNetA();
  Genotype child_genotype = parent_genotype;
  // Normal slot 2 (AmoebaNet-A: sep_conv_3x3) becomes a 5x5: its depthwise
  // weights change shape, its pointwise and batch norms do not, and none
  // of them may be taken from the 3x3.
  REQUIRE(child_genotype.normal.ops[2] == Op::kSepConv3x3);
  child_genotype.normal.ops[2] = Op::kSepConv5x5;
  Network parent = Trained(parent_genotype, Small());
  torch::manual_seed(2);
  Network child(child_genotype, Small());
  torch::manual_seed(2);
  Network fresh(child_genotype, Small());
  auto inherited = InheritWeights(parent_genotype, parent, child_genotype, child);
  REQUIRE(inherited.ok());
  CHECK(inherited->tensors_copied < inherited->tensors);
  CHECK(inherited->fraction() > 0.7);
  CHECK(inherited->fraction() < 1.0);
  int slot_tensors = 0;
  for (const auto& p : child->named_parameters(true)) {
    const std::string& name = p.key();
    INFO(name);
    if (name.find("_normal.ops.2.") != std::string::npos) {
      ++slot_tensors;
      CHECK(Same(child, fresh, name));  // the child's own initialisation
    } else {
      CHECK(Same(child, parent, name));
    }
  }
  CHECK(slot_tensors > 0);
  // Batch norm's running statistics follow the same rule.
  for (const auto& b : child->named_buffers(true)) {
    if (!b.value().is_floating_point()) continue;
    INFO(b.key());
    const bool in_slot = b.key().find("_normal.ops.2.") != std::string::npos;
    CHECK(Same(child, in_slot ? fresh : parent, b.key()));
  }
}

TEST_CASE("A parent of another network shape gives nothing") {
  const Genotype genotype = AmoebaNetA();
  Network parent = Trained(genotype, Small(8));
  torch::manual_seed(2);
  Network child(genotype, Small(12));
  torch::manual_seed(2);
  Network fresh(genotype, Small(12));
  auto inherited = InheritWeights(genotype, parent, genotype, child);
  CHECK(absl::IsFailedPrecondition(inherited.status()));
  for (const auto& p : child->named_parameters(true)) {
    CHECK(Same(child, fresh, p.key()));
  }
}

}  // namespace
}  // namespace amoeba
