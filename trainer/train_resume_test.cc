// Final training's promise: a run resumed from its checkpoint ends bit for
// bit as the uninterrupted run; a checkpoint that is not this run's is
// refused; the weight average is part of the state. Real training, small.
// LibTorch's headers before Catch2's (glog's CHECK must not replace it).
#include "trainer/train.h"
#include "trainer/training_state.h"
#include "trainer/weight_average.h"

#include <map>
#include <string>
#include <vector>

#include "catch2/catch.hpp"
#include "genotype/known_cells.h"
#include "trainer/same_weights.h"
#include "trainer/small_training.h"

namespace amoeba {
namespace {

// Final training's options: drop path, dropout, an auxiliary head and
// augmentation all draw random numbers, so a resumed run that restored any
// generator wrongly would end with other weights.
struct ResumableRun {
  NetworkOptions network = Tiny(4);
  TrainOptions options = Quick(3);
  ResumableRun() {
    network.drop_path = 0.2;
    network.drop_path_schedule = DropPathSchedule::kTime;
    network.dropout = 0.3;
    network.aux_head = true;
    options.augment.cutout = 8;
    // The weight average is state too: a resume that lost it would end
    // with other weights.
    options.ema_decay = 0.99;
    options.checkpoint_every = 1;
    options.checkpoint_key = "search s, child 7";
  }
};

TEST_CASE("a run resumed from a checkpoint ends bit for bit as an uninterrupted one") {
  const PreparedData& data = SmallFashionMnist(300, 100);
  const Genotype genotype = AmoebaNetA();
  ResumableRun run;
  std::map<int, std::string> states;
  TrainCallbacks callbacks;
  callbacks.save_checkpoint = [&](int epoch, const std::string& state) {
    states[epoch] = state;
  };
  auto whole = TrainGenotype(genotype, run.network, data, run.options, callbacks);
  REQUIRE(whole.ok());
  // After epochs 1 and 2, not after the last.
  REQUIRE(states.size() == 2);
  REQUIRE(states.count(1) == 1);
  REQUIRE(states.count(2) == 1);
  for (int from : {1, 2}) {
    INFO("resumed after epoch " << from);
    std::vector<int> epochs;
    TrainCallbacks resumed_callbacks;
    resumed_callbacks.on_progress = [&](const TrainProgress& p) {
      if (p.end_of_epoch) epochs.push_back(p.epoch);
    };
    auto resumed = TrainGenotype(genotype, run.network, data, run.options,
                                 resumed_callbacks, states[from]);
    REQUIRE(resumed.ok());
    REQUIRE(epochs.front() == from + 1);  // nothing trained twice
    REQUIRE(epochs.back() == 3);
    REQUIRE(resumed->result.validation_accuracy ==
            whole->result.validation_accuracy);
    REQUIRE(resumed->result.steps == whole->result.steps);
    RequireSameWeights(*whole, *resumed);
  }
}

TEST_CASE("a checkpoint of another job, run or a damaged one is refused") {
  const PreparedData& data = SmallFashionMnist(300, 100);
  const Genotype genotype = AmoebaNetA();
  ResumableRun run;
  std::string state;
  TrainCallbacks callbacks;
  callbacks.save_checkpoint = [&](int epoch, const std::string& s) {
    if (epoch == 1) state = s;
  };
  REQUIRE(TrainGenotype(genotype, run.network, data, run.options, callbacks)
              .ok());
  REQUIRE(!state.empty());
  auto refused = [&](const NetworkOptions& network, const TrainOptions& options,
                     const std::string& bytes) {
    auto r = TrainGenotype(genotype, network, data, options, {}, bytes);
    REQUIRE(r.status().code() == absl::StatusCode::kFailedPrecondition);
    return std::string(r.status().message());
  };
  TrainOptions other_job = run.options;
  other_job.checkpoint_key = "search s, child 8";
  REQUIRE_THAT(refused(run.network, other_job, state),
               Catch::Contains("of job 'search s, child 7'"));
  TrainOptions longer = run.options;
  longer.epochs = 4;
  REQUIRE_THAT(refused(run.network, longer, state),
               Catch::Contains("epoch 1 of 3"));
  NetworkOptions wider = run.network;
  wider.filters = 6;
  REQUIRE_THAT(refused(wider, run.options, state),
               Catch::Contains("network tensor"));
  REQUIRE_THAT(refused(run.network, run.options,
                       state.substr(0, state.size() / 2)),
               Catch::Contains("not a complete training state"));
  // One generator's state damaged, the other's fine: refused before either
  // generator or the optimizer is touched.
  auto parsed = ParseTrainingState(state);
  REQUIRE(parsed.ok());
  parsed->training_rng = torch::zeros({3}, torch::kUInt8);
  auto damaged = SerializeTrainingState(*parsed);
  REQUIRE(damaged.ok());
  REQUIRE_THAT(refused(run.network, run.options, *damaged),
               Catch::Contains("damaged generator state"));
  // A state without the weight average into a run that keeps one.
  parsed = ParseTrainingState(state);
  REQUIRE(parsed.ok());
  REQUIRE(!parsed->average.empty());
  parsed->average.clear();
  auto no_average = SerializeTrainingState(*parsed);
  REQUIRE(no_average.ok());
  REQUIRE_THAT(refused(run.network, run.options, *no_average),
               Catch::Contains("weight average"));
}

TEST_CASE("the weight average follows TensorFlow's update and is what a run "
          "evaluates and hands over") {
  torch::manual_seed(3);
  Network net(AmoebaNetA(), Tiny(4));
  const torch::Tensor first = net->parameters()[0].detach().clone();
  WeightAverage average(net, 0.9);
  {
    torch::NoGradGuard no_grad;
    net->parameters()[0].add_(1.0);
  }
  average.Update(1);  // decay min(0.9, 2/11)
  const double keep = 2.0 / 11.0;
  CHECK(torch::allclose(average.State()[0], first + (1 - keep), 1e-6, 1e-6));
  {
    WeightAverage::Scope scope(average);
    CHECK(torch::allclose(net->parameters()[0], average.State()[0]));
  }
  CHECK(torch::allclose(net->parameters()[0], first + 1));
  // Batch norm's statistics are averaged; its step counters are not.
  size_t floating_buffers = 0;
  for (const auto& b : net->buffers()) floating_buffers += b.is_floating_point();
  CHECK(average.State().size() ==
        net->parameters().size() + floating_buffers);

  const PreparedData& data = SmallFashionMnist(256, 128);
  TrainOptions o = Quick(2);
  o.ema_decay = 0.9;
  const auto averaged = TrainGenotype(AmoebaNetA(), Tiny(4), data, o);
  REQUIRE(averaged.ok());
  o.ema_decay = 0;
  const auto plain = TrainGenotype(AmoebaNetA(), Tiny(4), data, o);
  REQUIRE(plain.ok());
  // The network handed over holds the average, and its accuracy is the
  // run's result.
  Network handed = averaged->network;
  CHECK_FALSE(torch::equal(handed->parameters()[0],
                           plain->network->parameters()[0]));
  const auto accuracy = EvaluateAccuracy(handed, data.validation,
                                         averaged->normalizer, torch::kCPU, 64);
  REQUIRE(accuracy.ok());
  CHECK(*accuracy == averaged->result.validation_accuracy);
  // A decay of ~0 keeps the latest weights: the plain run's.
  o.ema_decay = 1e-12;
  const auto latest = TrainGenotype(AmoebaNetA(), Tiny(4), data, o);
  REQUIRE(latest.ok());
  CHECK(torch::allclose(latest->network->parameters()[0],
                        plain->network->parameters()[0], 1e-6, 1e-6));
  CHECK(latest->result.validation_accuracy ==
        plain->result.validation_accuracy);
}

}  // namespace
}  // namespace amoeba
