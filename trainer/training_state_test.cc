#include "trainer/training_state.h"

#include <torch/serialize.h>

#include <sstream>

#include "catch2/catch.hpp"

namespace amoeba {
namespace {

TrainingState SmallState() {
  TrainingState s;
  s.key = "search s, child 1";
  s.epoch = 2;
  s.epochs = 5;
  s.step = 20;
  s.images_seen = 1280;
  s.train_seconds = 3.5;
  s.validation_accuracy = 0.25;
  s.order_rng = {1, 2, 3, 4};
  s.augment_rng = at::detail::createCPUGenerator(7).get_state();
  s.training_rng = at::detail::createCPUGenerator(8).get_state();
  s.optimizer = {torch::ones({3}), torch::Tensor(), torch::zeros({2, 2})};
  s.network = {{"conv.weight", torch::full({2, 3}, 0.5)},
               {"bn.running_mean", torch::zeros({2})}};
  return s;
}

TEST_CASE("a training state round-trips") {
  auto bytes = SerializeTrainingState(SmallState());
  REQUIRE(bytes.ok());
  auto parsed = ParseTrainingState(*bytes);
  REQUIRE(parsed.ok());
  CHECK(parsed->key == "search s, child 1");
  CHECK(parsed->epoch == 2);
  CHECK(parsed->step == 20);
  CHECK(parsed->order_rng == Rng::State{1, 2, 3, 4});
  REQUIRE(parsed->optimizer.size() == 3);
  CHECK(!parsed->optimizer[1].defined());
  CHECK(parsed->optimizer[2].sizes() == torch::IntArrayRef({2, 2}));
  REQUIRE(parsed->network.size() == 2);
  CHECK(parsed->network[0].first == "conv.weight");
  CHECK(parsed->network[0].second.equal(torch::full({2, 3}, 0.5)));
}

// A state as the writer lays it out, with counts that the file chooses.
std::string StateWithCounts(int64_t optimizer_count, int64_t network_count) {
  const TrainingState s = SmallState();
  torch::serialize::OutputArchive archive;
  archive.write("format", c10::IValue(int64_t{1}));
  archive.write("key", c10::IValue(s.key));
  archive.write("epoch", c10::IValue(int64_t{2}));
  archive.write("epochs", c10::IValue(int64_t{5}));
  archive.write("step", c10::IValue(int64_t{20}));
  archive.write("images_seen", c10::IValue(int64_t{1280}));
  archive.write("train_seconds", c10::IValue(3.5));
  archive.write("validation_accuracy", c10::IValue(0.25));
  archive.write("order_rng", torch::tensor({1, 2, 3, 4}, torch::kInt64));
  archive.write("augment_rng", s.augment_rng);
  archive.write("training_rng", s.training_rng);
  archive.write("optimizer.count", c10::IValue(optimizer_count));
  archive.write("network.count", c10::IValue(network_count));
  std::ostringstream out;
  archive.save_to(out);
  return out.str();
}

TEST_CASE("counts read from a training state are bounded before they size anything") {
  // 2^40 optimizer entries would ask for 8 TB of tensor handles.
  auto huge = ParseTrainingState(StateWithCounts(int64_t{1} << 40, 0));
  REQUIRE(absl::IsInvalidArgument(huge.status()));
  CHECK_THAT(std::string(huge.status().message()),
             Catch::Contains("optimizer.count is 1099511627776, outside 0.."));
  auto negative = ParseTrainingState(StateWithCounts(0, -3));
  REQUIRE(absl::IsInvalidArgument(negative.status()));
  CHECK_THAT(std::string(negative.status().message()),
             Catch::Contains("network.count is -3"));
  // Within the bound: an ordinary parse error names the missing entry.
  auto missing = ParseTrainingState(StateWithCounts(0, 2));
  REQUIRE(absl::IsInvalidArgument(missing.status()));
  CHECK(ParseTrainingState(StateWithCounts(0, 0)).ok());
}

}  // namespace
}  // namespace amoeba
