// `amoeba experiment run` and `amoeba compare` end to end: a real
// controller, four real workers with the simulated evaluator on the
// structured landscape (SIMULATED fitness, not training), all four
// algorithms with five repeats each.
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "catch2/catch.hpp"
#include "testing/test_files.h"
#include "tests/process.h"

namespace amoeba {
namespace {

// The "top-10 mean" column of summary.txt, by algorithm.
std::map<std::string, double> Top10(const std::string& summary) {
  std::map<std::string, double> out;
  std::istringstream lines(summary);
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream fields(line);
    std::string algorithm;
    int repeats = 0;
    int children = 0;
    double mean = 0;
    if (fields >> algorithm >> repeats >> children >> mean && repeats > 0) {
      out[algorithm] = mean;
    }
  }
  return out;
}

// A controller with its store in `dir` and `workers` workers with the
// simulated evaluator, stopped when it goes out of scope.
struct SimulatedFleet {
  SimulatedFleet(const std::string& dir, int workers)
      : controller(kController,
                   {"--store=" + dir + "/s.db", "--port=0",
                    "--port_file=" + dir + "/port", "--lease_timeout_s=5",
                    "--heartbeat_s=1"},
                   dir + "/controller.log") {
    const int port = WaitForPortFile(dir + "/port");
    REQUIRE(port > 0);
    at = "--controller=127.0.0.1:" + std::to_string(port);
    for (int i = 0; i < workers; ++i) {
      const std::string id = "sim-" + std::to_string(i);
      this->workers.push_back(std::make_unique<Process>(
          kWorker,
          std::vector<std::string>{at, "--worker_id=" + id,
                                   "--evaluator=simulated",
                                   "--simulated_seconds=0.01", "--slots=8",
                                   "--spool_dir=" + dir + "/spool-" + id},
          dir + "/" + id + ".log"));
    }
  }
  Process controller;
  std::string at;  // --controller=127.0.0.1:PORT
  std::vector<std::unique_ptr<Process>> workers;
};

TEST_CASE("An experiment of four algorithms runs end to end and compares") {
  const std::string dir = FreshTestDir("experiment");
  SimulatedFleet fleet(dir, 4);
  const std::string& at = fleet.at;
  std::ofstream(dir + "/spec.json")
      << R"({"name": "e2e", "repeats": 5, "config": )"
      << R"({"population_size": 20, "sample_size": 5, "budget": 120}})";
  // A bad spec is refused, naming the problem.
  std::ofstream(dir + "/bad.json") << R"({"name": "x", "algorithms": ["evolve"]})";
  CHECK(RunLogged(std::string(kAmoeba) + " experiment run " + dir +
                      "/bad.json " + at,
                  dir + "/bad.log") == 2);
  CHECK_THAT(ReadWholeFile(dir + "/bad.log"),
             Catch::Contains("unknown algorithm 'evolve'"));

  REQUIRE(RunLogged(std::string(kAmoeba) + " experiment run " + dir +
                        "/spec.json --interval_s=1 --timeout_s=300 " + at,
                    dir + "/experiment.log") == 0);
  const std::string progress = ReadWholeFile(dir + "/experiment.log");
  CHECK_THAT(progress, Catch::Contains("20 searches (aging, non_aging, random, "
                                       "reinforce x 5 repeats); 20 created"));
  CHECK_THAT(progress, Catch::Contains("aging 600/600"));
  // Again: nothing to create, and it is already done.
  REQUIRE(RunLogged(std::string(kAmoeba) + " experiment run " + dir +
                        "/spec.json --interval_s=1 " + at,
                    dir + "/again.log") == 0);
  CHECK_THAT(ReadWholeFile(dir + "/again.log"),
             Catch::Contains("0 created, 20 already there"));

  REQUIRE(RunLogged(std::string(kAmoeba) + " compare " + dir +
                        "/s.db --experiment=e2e --report_dir=" + dir + "/cmp",
                    dir + "/compare.log") == 0);
  const std::string summary = ReadWholeFile(dir + "/cmp/summary.txt");
  const auto top10 = Top10(summary);
  INFO(summary);
  REQUIRE(top10.size() == 4);
  // On this landscape evolution climbs: measured margins over random were
  // +0.0755 (aging) and +0.0710 (non-aging) with these settings; the check
  // asks for half of that, and the rank test over five repeats each for
  // p < 0.05 (the exact test's smallest p here is 2/252).
  CHECK(top10.at("aging") > top10.at("random") + 0.035);
  CHECK(top10.at("non_aging") > top10.at("random") + 0.035);
  CHECK_THAT(summary, Catch::Contains("aging          vs random          difference +"));
  CHECK_THAT(summary, Catch::Contains("p = 0.008"));
  const std::string chart = ReadWholeFile(dir + "/cmp/top10_vs_children.svg");
  for (const char* algorithm : {"aging", "non_aging", "random", "reinforce"}) {
    CHECK_THAT(chart, Catch::Contains(std::string("data-name=\"") + algorithm));
  }
  CHECK_THAT(chart, Catch::Contains("class=\"band\""));
  CHECK_THAT(chart, Catch::Contains(">120</text>"));  // whole-number ticks
  CHECK_THAT(ReadWholeFile(dir + "/cmp/top10_vs_time.svg"),
             Catch::Contains("wall time (minutes)"));
  // An experiment that is not in the store.
  CHECK(RunLogged(std::string(kAmoeba) + " compare " + dir +
                      "/s.db --experiment=nope",
                  dir + "/nope.log") == 1);
}

// The "epochs" and "stopped" columns of summary.txt, by arm.
std::map<std::string, std::pair<double, int>> EpochsAndStopped(
    const std::string& summary) {
  std::map<std::string, std::pair<double, int>> out;
  std::istringstream lines(summary);
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream fields(line);
    std::string arm, plus_minus;
    int repeats = 0, children = 0, stopped = 0;
    double mean = 0, se = 0, best = 0, params = 0, macs = 0, epochs = 0;
    if (fields >> arm >> repeats >> children >> mean >> plus_minus >> se >>
            best >> params >> macs >> epochs >> stopped &&
        repeats > 0) {
      out[arm] = {epochs, stopped};
    }
  }
  return out;
}

TEST_CASE("Arms of one algorithm compare early stopping at equal compute") {
  const std::string dir = FreshTestDir("experiment_arms");
  SimulatedFleet fleet(dir, 2);
  const std::string& at = fleet.at;
  // Bad arms are refused before anything is created.
  const std::vector<std::pair<std::string, std::string>> bad = {
      {R"({"name": "x", "algorithms": ["aging"], "arms": [{"algorithm": "aging"}]})",
       "either algorithms or arms, not both"},
      {R"({"name": "x", "arms": [{"algorithm": "aging"}, {"algorithm": "aging"}]})",
       "two arms named 'aging'"},
      {R"({"name": "x", "arms": [{"name": "a-b", "algorithm": "aging"}]})",
       "arm name 'a-b'"},
  };
  for (const auto& [spec, message] : bad) {
    std::ofstream(dir + "/bad.json", std::ios::trunc) << spec;
    CHECK(RunLogged(std::string(kAmoeba) + " experiment run " + dir +
                        "/bad.json " + at,
                    dir + "/bad.log") == 2);
    CHECK_THAT(ReadWholeFile(dir + "/bad.log"), Catch::Contains(message));
  }
  // Hurdles that the controller refuses: the first search is not created.
  std::ofstream(dir + "/late.json")
      << R"({"name": "late", "repeats": 1, "arms": [{"algorithm": "aging",)"
      << R"( "early_stopping": {"rule": "hurdles", "epochs": [4]}}],)"
      << R"( "config": {"settings": {"epochs": 4}}})";
  CHECK(RunLogged(std::string(kAmoeba) + " experiment run " + dir +
                      "/late.json " + at,
                  dir + "/late.log") == 1);
  CHECK_THAT(ReadWholeFile(dir + "/late.log"), Catch::Contains("epochs"));

  std::ofstream(dir + "/spec.json")
      << R"({"name": "es", "repeats": 3, "arms": [)"
      << R"({"algorithm": "aging"},)"
      << R"({"name": "aging_median", "algorithm": "aging", "budget": 300,)"
      << R"( "early_stopping": {"rule": "median", "epochs": [1, 2],)"
      << R"( "children": 10}}],)"
      << R"( "config": {"population_size": 20, "sample_size": 5, "budget": 100,)"
      << R"( "settings": {"epochs": 4}}})";
  REQUIRE(RunLogged(std::string(kAmoeba) + " experiment run " + dir +
                        "/spec.json --interval_s=1 --timeout_s=300 " + at,
                    dir + "/experiment.log") == 0);
  CHECK_THAT(ReadWholeFile(dir + "/experiment.log"),
             Catch::Contains("6 searches (aging, aging_median x 3 repeats)"));
  REQUIRE(RunLogged(std::string(kAmoeba) + " compare " + dir +
                        "/s.db --experiment=es --report_dir=" + dir + "/cmp",
                    dir + "/compare.log") == 0);
  const std::string summary = ReadWholeFile(dir + "/cmp/summary.txt");
  INFO(summary);
  const auto columns = EpochsAndStopped(summary);
  REQUIRE(columns.size() == 2);
  // Without stopping every child costs its 4 epochs.
  CHECK(columns.at("aging").first == 3 * 100 * 4);
  CHECK(columns.at("aging").second == 0);
  // Median stopping stops children and so trains fewer epochs per child
  // than the 4 * 600 its children would cost in full.
  CHECK(columns.at("aging_median").second > 0);
  CHECK(columns.at("aging_median").first < 3 * 300 * 4);
  CHECK(columns.at("aging_median").first >= 3 * 300 * 4 -
                                                 3 * columns.at("aging_median").second);
  CHECK_THAT(summary, Catch::Contains("at equal compute: 400 epochs trained "
                                      "per search"));
  CHECK_THAT(summary, Catch::Contains("epochs trained until the mean best "
                                      "reached"));
  const std::string chart = ReadWholeFile(dir + "/cmp/best_vs_epochs.svg");
  CHECK_THAT(chart, Catch::Contains("data-name=\"aging_median"));
  CHECK_THAT(chart, Catch::Contains("epochs trained by the search"));
  CHECK_THAT(ReadWholeFile(dir + "/cmp/top10_vs_epochs.svg"),
             Catch::Contains("data-name=\"aging\""));
}

}  // namespace
}  // namespace amoeba
