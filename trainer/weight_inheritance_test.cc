// Weight inheritance between real networks of a parent and its mutated
// children.
#include "trainer/weight_inheritance.h"

#include <string>

#include <map>

#include "catch2/catch.hpp"
#include "genotype/known_cells.h"
#include "trainer/same_weights.h"
#include "trainer/saved_model.h"
#include "trainer/train.h"

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

// Fashion-MNIST from Debian's package, cut small.
const PreparedData& SmallData() {
  static const PreparedData data = [] {
    DataOptions options;
    options.validation_images = 100;
    options.max_train_images = 300;
    auto split = LoadDataSplit(options);
    REQUIRE(split.ok());
    auto prepared = PrepareData(*split, torch::kCPU);
    REQUIRE(prepared.ok());
    return *prepared;
  }();
  return data;
}

TrainOptions OneEpoch() {
  TrainOptions o;
  o.epochs = 1;
  o.batch_size = 64;
  o.learning_rate = 0.05;
  o.augment = DefaultAugmentation(DatasetKind::kFashionMnist);
  o.device.threads = 1;
  return o;
}

TEST_CASE("A child trains from its parent's weights, the same every time, "
          "and resumes exactly") {
  const PreparedData& data = SmallData();
  NetworkOptions network;
  network.filters = 4;
  auto trained = TrainGenotype(AmoebaNetA(), network, data, OneEpoch());
  REQUIRE(trained.ok());
  // As the weights travel between machines: through their bytes.
  auto bytes = SerializeModel(*trained);
  REQUIRE(bytes.ok());
  auto parent = ParseModel(*bytes, "the parent");
  REQUIRE(parent.ok());
  CHECK(absl::IsInvalidArgument(
      ParseModel(bytes->substr(0, bytes->size() / 2), "half").status()));

  Genotype child = AmoebaNetA();
  child.normal.ops[2] = Op::kSepConv5x5;
  auto a = TrainGenotype(child, network, data, OneEpoch(), {}, {}, &*parent);
  auto b = TrainGenotype(child, network, data, OneEpoch(), {}, {}, &*parent);
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  CHECK(a->result.inherited);
  CHECK(a->result.inherited_parameters > 0);
  CHECK(a->result.inherited_parameters < a->result.inheritable_parameters);
  CHECK(a->result.inheritance_error.empty());
  CHECK(a->result.validation_accuracy == b->result.validation_accuracy);
  RequireSameWeights(a->network, b->network);
  auto fresh = TrainGenotype(child, network, data, OneEpoch());
  REQUIRE(fresh.ok());
  CHECK_FALSE(fresh->result.inherited);
  CHECK_FALSE(torch::equal(fresh->network->parameters()[0],
                           a->network->parameters()[0]));

  // Checkpointed after epoch 1 of 2 and resumed: the same as uninterrupted.
  TrainOptions two = OneEpoch();
  two.epochs = 2;
  two.checkpoint_every = 1;
  two.checkpoint_key = "inheriting child";
  std::map<int, std::string> states;
  TrainCallbacks callbacks;
  callbacks.save_checkpoint = [&](int epoch, const std::string& state) {
    states[epoch] = state;
  };
  auto whole = TrainGenotype(child, network, data, two, callbacks, {}, &*parent);
  REQUIRE(whole.ok());
  REQUIRE(states.count(1) == 1);
  auto resumed =
      TrainGenotype(child, network, data, two, {}, states[1], &*parent);
  REQUIRE(resumed.ok());
  CHECK(resumed->result.validation_accuracy ==
        whole->result.validation_accuracy);
  RequireSameWeights(whole->network, resumed->network);

  // A parent of another width: the child trains from fresh weights and
  // says why.
  NetworkOptions wider = network;
  wider.filters = 6;
  auto other = TrainGenotype(child, wider, data, OneEpoch(), {}, {}, &*parent);
  REQUIRE(other.ok());
  CHECK_FALSE(other->result.inherited);
  CHECK(other->result.inherited_parameters == 0);
  CHECK_THAT(other->result.inheritance_error,
             Catch::Contains("other options"));
}

}  // namespace
}  // namespace amoeba
