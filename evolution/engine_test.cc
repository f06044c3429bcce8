#include "evolution/engine.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <vector>

#include "catch2/catch.hpp"
#include "genotype/fingerprint.h"
#include "evolution/landscape.h"
#include "genotype/mutation.h"
#include "genotype/text.h"

namespace amoeba {
namespace {

EngineConfig Config(Algorithm algorithm, int p, int s, int64_t budget) {
  EngineConfig c;
  c.algorithm = algorithm;
  c.population_size = p;
  c.sample_size = s;
  c.budget = budget;
  c.seed = 42;
  return c;
}

// Completes children in creation order with fitness = f(id).
template <typename Fitness>
std::vector<NewChild> RunSynchronously(Engine& engine, int64_t children,
                                       Fitness fitness) {
  std::vector<NewChild> made;
  for (int64_t i = 0; i < children && engine.WantsChild(0); ++i) {
    NewChild child = engine.CreateChild();
    engine.AddResult(child.id, child.genotype, fitness(child.id));
    made.push_back(std::move(child));
  }
  return made;
}

TEST_CASE("The first P children are random, then mutations of members") {
  Engine engine(Config(Algorithm::kAging, 10, 3, 100));
  const auto children = RunSynchronously(engine, 100, [](int64_t id) {
    return static_cast<double>(id % 7);
  });
  REQUIRE(children.size() == 100);
  for (int i = 0; i < 10; ++i) CHECK(children[i].parent_id == -1);
  for (int i = 10; i < 100; ++i) {
    REQUIRE(children[i].parent_id >= 1);
    CHECK(children[i].parent_id < children[i].id);
  }
  CHECK(engine.Finished());
  CHECK_FALSE(engine.WantsChild(0));
}

TEST_CASE("Aging: the oldest member dies") {
  Engine engine(Config(Algorithm::kAging, 5, 2, 1000));
  std::vector<int64_t> died;
  for (int i = 0; i < 12; ++i) {
    NewChild child = engine.CreateChild();
    // The best child ever (fitness rises with id) still dies of age.
    const auto dead = engine.AddResult(child.id, child.genotype, child.id);
    if (dead) died.push_back(*dead);
  }
  CHECK(died == std::vector<int64_t>{1, 2, 3, 4, 5, 6, 7});
  std::vector<int64_t> alive;
  for (const Member& m : engine.population()) alive.push_back(m.id);
  CHECK(alive == std::vector<int64_t>{8, 9, 10, 11, 12});
}

TEST_CASE("Non-aging: the worst of the sample dies, the best survives age") {
  Engine engine(Config(Algorithm::kNonAging, 20, 5, 100000));
  // Child 1 is the best forever; others are mediocre.
  std::map<int64_t, double> fitness;
  int worse_than_median = 0;
  int deaths = 0;
  for (int i = 0; i < 2000; ++i) {
    NewChild child = engine.CreateChild();
    const double f = child.id == 1 ? 1.0 : 0.01 * (child.id % 50);
    fitness[child.id] = f;
    std::vector<double> before;
    for (const Member& m : engine.population()) before.push_back(m.fitness);
    const auto dead = engine.AddResult(child.id, child.genotype, f);
    if (!dead) continue;
    ++deaths;
    std::sort(before.begin(), before.end());
    if (fitness[*dead] <= before[before.size() / 2]) ++worse_than_median;
  }
  bool best_alive = false;
  for (const Member& m : engine.population()) best_alive |= m.id == 1;
  // Worst of 5 draws: below the median with probability 1 - 0.5^5.
  CHECK(best_alive);
  CHECK(worse_than_median > deaths * 0.9);
}

TEST_CASE("Parents are the fittest of S drawn with replacement") {
  constexpr int kP = 10;
  constexpr int kS = 3;
  Engine engine(Config(Algorithm::kAging, kP, kS, 1000000));
  // Fill the population: member with id k has fitness rank k-1.
  for (int i = 0; i < kP; ++i) {
    NewChild child = engine.CreateChild();
    engine.AddResult(child.id, child.genotype, static_cast<double>(child.id));
  }
  std::map<int64_t, int> wins;
  constexpr int kDraws = 30000;
  for (int i = 0; i < kDraws; ++i) ++wins[engine.CreateChild().parent_id];
  // With replacement: P(rank k wins) = ((k+1)^3 - k^3) / 1000. Without
  // replacement the best would win 30% and ranks 0-1 never.
  for (int rank = 0; rank < kP; ++rank) {
    const double expected =
        (std::pow(rank + 1, kS) - std::pow(rank, kS)) / std::pow(kP, kS);
    const double sd = std::sqrt(expected * (1 - expected) / kDraws);
    INFO("rank " << rank);
    CHECK(wins[rank + 1] / static_cast<double>(kDraws) ==
          Approx(expected).margin(5 * sd + 1e-4));
  }
  CHECK(wins[1] > 0);  // the worst can win only by being drawn S times
  CHECK(wins[10] / static_cast<double>(kDraws) < 0.285);
}

TEST_CASE("Random search: every child is random") {
  Engine engine(Config(Algorithm::kRandom, 5, 2, 50));
  for (const NewChild& c :
       RunSynchronously(engine, 50, [](int64_t id) { return id * 1.0; })) {
    CHECK(c.parent_id == -1);
  }
}

TEST_CASE("Budget counts completed children; failures do not count") {
  Engine engine(Config(Algorithm::kAging, 3, 2, 5));
  CHECK(engine.WantsChild(4));
  CHECK_FALSE(engine.WantsChild(5));
  // Two children fail: created, never completed.
  engine.CreateChild();
  engine.CreateChild();
  CHECK(engine.completed() == 0);
  RunSynchronously(engine, 10, [](int64_t) { return 0.5; });
  CHECK(engine.completed() == 5);
  CHECK(engine.next_id() == 8);
  CHECK(engine.Finished());
}

TEST_CASE("Deterministic for a seed; restored state continues exactly") {
  auto run = [](Engine& engine, int n) {
    std::string log;
    for (const NewChild& c : RunSynchronously(engine, n, [](int64_t id) {
           return static_cast<double>((id * 37) % 101);
         })) {
      log += std::to_string(c.parent_id) + ":" + FormatGenotype(c.genotype) + "|";
    }
    return log;
  };
  EngineConfig config = Config(Algorithm::kNonAging, 8, 3, 1000);
  Engine a(config);
  Engine b(config);
  CHECK(run(a, 40) == run(b, 40));
  const EngineState saved = a.state();
  const std::string continued = run(a, 40);
  auto restored = Engine::Restore(config, saved);
  REQUIRE(restored.ok());
  CHECK(run(*restored, 40) == continued);
  Engine same_seed(config);
  config.seed = 43;
  Engine other_seed(config);
  CHECK(run(other_seed, 40) != run(same_seed, 40));
}

TEST_CASE("An engine restored through the store's text form continues exactly") {
  // Search::Open rebuilds members from their canonical text; the restored
  // engine must mutate exactly what the uninterrupted one would.
  auto run = [](Engine& engine, int children) {
    std::string log;
    for (const NewChild& c : RunSynchronously(engine, children, [](int64_t id) {
           return static_cast<double>((id * 7919) % 1000) / 1000.0;
         })) {
      log += CanonicalText(c.genotype) + "\n";
    }
    return log;
  };
  for (Algorithm algorithm : {Algorithm::kAging, Algorithm::kNonAging}) {
    EngineConfig config = Config(algorithm, 6, 3, 1000);
    Engine a(config);
    run(a, 30);
    EngineState saved = a.state();
    for (Member& m : saved.population) {
      m.genotype = ParseGenotype(CanonicalText(m.genotype)).value();
    }
    auto restored = Engine::Restore(config, saved);
    REQUIRE(restored.ok());
    CHECK(run(*restored, 60) == run(a, 60));
  }
}

TEST_CASE("De-duplication avoids re-evaluating a fingerprint") {
  auto duplicates = [](bool dedup) {
    EngineConfig config = Config(Algorithm::kAging, 5, 5, 100000);
    config.deduplicate = dedup;
    Engine engine(config);
    std::set<uint64_t> seen;
    int dup = 0;
    for (const NewChild& c :
         RunSynchronously(engine, 600, [](int64_t) { return 0.5; })) {
      if (!seen.insert(Fingerprint(c.genotype)).second) ++dup;
    }
    return dup;
  };
  CHECK(duplicates(false) > 50);  // identity mutations repeat the parent
  CHECK(duplicates(true) == 0);
}

TEST_CASE("Configurations and restored states are validated") {
  EngineConfig c;
  CHECK(ValidateEngineConfig(c).ok());
  c.sample_size = 101;
  CHECK_THAT(std::string(ValidateEngineConfig(c).message()),
             Catch::Contains("sample size S must be in 1..P (100), got 101"));
  c = EngineConfig();
  c.population_size = 1;
  CHECK_FALSE(ValidateEngineConfig(c).ok());
  c = EngineConfig();
  c.budget = 0;
  CHECK_FALSE(ValidateEngineConfig(c).ok());
  EngineState bad;
  CHECK_FALSE(Engine::Restore(EngineConfig(), bad).ok());  // zero RNG
  CHECK(AlgorithmFromName("non-aging").value() == Algorithm::kNonAging);
  CHECK_FALSE(AlgorithmFromName("ga").ok());
}

}  // namespace
}  // namespace amoeba

namespace amoeba {
namespace {

// Sequential runs on the structured landscape: the mean fitness of the last
// `tail` children of each of `repeats` searches.
double MeanOfLast(Algorithm algorithm, int repeats, int64_t budget, int tail,
                  double rl_learning_rate = 0.2) {
  double sum = 0;
  for (int r = 0; r < repeats; ++r) {
    EngineConfig config = Config(algorithm, 20, 5, budget);
    config.seed = 1000 + r;
    config.rl_learning_rate = rl_learning_rate;
    Engine engine(config);
    std::vector<double> fitness;
    while (engine.WantsChild(0)) {
      NewChild child = engine.CreateChild();
      const double f = StructuredFitness(child.genotype, 7);
      fitness.push_back(f);
      engine.AddResult(child.id, child.genotype, f);
    }
    for (size_t i = fitness.size() - tail; i < fitness.size(); ++i) {
      sum += fitness[i];
    }
  }
  return sum / (repeats * tail);
}

TEST_CASE("On a structured landscape evolution and REINFORCE beat random") {
  const double aging = MeanOfLast(Algorithm::kAging, 5, 300, 50);
  const double non_aging = MeanOfLast(Algorithm::kNonAging, 5, 300, 50);
  const double reinforce = MeanOfLast(Algorithm::kReinforce, 5, 300, 50);
  const double random = MeanOfLast(Algorithm::kRandom, 5, 300, 50);
  WARN("mean fitness of the last 50 of 300 (5 seeds): aging "
       << aging << ", non-aging " << non_aging << ", reinforce " << reinforce
       << ", random " << random);
  CHECK(aging > random + 0.1);
  CHECK(non_aging > random + 0.1);
  CHECK(reinforce > random + 0.02);
}

TEST_CASE("REINFORCE: results move the policy toward what scored well") {
  ReinforcePolicy policy(0.5);
  Genotype good = RandomGenotype(*std::make_unique<Rng>(3));
  good.normal.ops[0] = good.normal.ops[1] = Op::kSepConv3x3;
  Genotype bad = good;
  bad.normal.ops[0] = bad.normal.ops[1] = Op::kMaxPool3x3;
  const double before = policy.OpProbability(CellType::kNormal, 0, Op::kSepConv3x3);
  CHECK(before == Approx(1.0 / kNumOps));
  for (int i = 0; i < 50; ++i) {
    policy.Update(good, 0.9);
    policy.Update(bad, 0.5);
  }
  CHECK(policy.OpProbability(CellType::kNormal, 0, Op::kSepConv3x3) > 2 * before);
  CHECK(policy.OpProbability(CellType::kNormal, 0, Op::kMaxPool3x3) < before);
  CHECK(policy.updates() == 100);
  CHECK(policy.baseline() > 0.5);
  CHECK(policy.baseline() < 0.9);
  // Sampled children follow the policy.
  Rng rng(5);
  int sep = 0;
  for (int i = 0; i < 400; ++i) {
    const Genotype g = policy.Sample(rng);
    REQUIRE(ValidateGenotype(g).ok());
    sep += g.normal.ops[0] == Op::kSepConv3x3;
  }
  CHECK(sep > 400 * 2 / kNumOps);
}

TEST_CASE("REINFORCE: a restored engine continues the same policy exactly") {
  EngineConfig config = Config(Algorithm::kReinforce, 10, 3, 200);
  Engine a(config);
  for (int i = 0; i < 60; ++i) {
    NewChild child = a.CreateChild();
    a.AddResult(child.id, child.genotype, StructuredFitness(child.genotype, 1));
  }
  EngineState saved = a.state();
  REQUIRE_FALSE(saved.algorithm_state.empty());
  auto b = Engine::Restore(config, saved);
  REQUIRE(b.ok());
  for (int i = 0; i < 40; ++i) {
    NewChild x = a.CreateChild();
    NewChild y = b->CreateChild();
    REQUIRE(CanonicalText(x.genotype) == CanonicalText(y.genotype));
    const double f = StructuredFitness(x.genotype, 1);
    a.AddResult(x.id, x.genotype, f);
    b->AddResult(y.id, y.genotype, f);
  }
  CHECK(a.algorithm_state() == b->algorithm_state());
  saved.algorithm_state = "reinforce-1 not a policy";
  CHECK(Engine::Restore(config, saved).status().code() ==
        absl::StatusCode::kInvalidArgument);
  // Other algorithms keep no state of their own.
  EngineState aging = Engine(Config(Algorithm::kAging, 10, 3, 20)).state();
  CHECK(aging.algorithm_state.empty());
  aging.algorithm_state = "x";
  CHECK_FALSE(Engine::Restore(Config(Algorithm::kAging, 10, 3, 20), aging).ok());
}

TEST_CASE("The structured landscape depends on the canonical form only") {
  Rng rng(11);
  for (int i = 0; i < 200; ++i) {
    const Genotype g = RandomGenotype(rng);
    const double f = StructuredFitness(g, 3);
    CHECK(f > 0.05);
    CHECK(f < 0.95);
    CHECK(StructuredFitness(Canonicalize(g), 3) == f);
  }
  // Seeds make different landscapes.
  const Genotype g = RandomGenotype(rng);
  CHECK(StructuredFitness(g, 3) != StructuredFitness(g, 4));
}

}  // namespace
}  // namespace amoeba
