#include "controller/engine.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <vector>

#include "catch2/catch.hpp"
#include "genotype/fingerprint.h"
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
