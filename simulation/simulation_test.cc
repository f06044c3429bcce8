// Runs the protocol simulation over many seeds (CI: 2,000 schedules, in
// two shards of 1,000). A
// violation names its seed; replay it with
//   bazel run //simulation:simulation_bench -- --seed=S --schedules=1
#include "simulation/simulation.h"

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>

#include "absl/strings/str_cat.h"
#include "catch2/catch.hpp"
#include "glog/logging.h"
#include "testing/test_files.h"

namespace amoeba::sim {
namespace {

// SQLite's fsyncs cost nothing in memory; the store is still a real file.
std::string ScratchDir(const std::string& name) {
  if (access("/dev/shm", W_OK) == 0) {
    return absl::StrCat("/dev/shm/amoeba-sim-", getpid(), "-", name);
  }
  return TestTempPath(name);
}

int Schedules() {
  const char* env = std::getenv("AMOEBA_SIM_SCHEDULES");
  return env != nullptr ? std::atoi(env) : 2000;
}

// Bazel's test sharding (shard_count in BUILD): this process runs the
// seeds s with (s - 1) % shards == index, so two shards run at once on two
// cores and no single test action runs long.
struct Shard {
  int index = 0;
  int count = 1;
};
Shard ThisShard() {
  Shard shard;
  const char* index = std::getenv("TEST_SHARD_INDEX");
  const char* count = std::getenv("TEST_TOTAL_SHARDS");
  if (index != nullptr && count != nullptr && std::atoi(count) > 0) {
    shard.index = std::atoi(index);
    shard.count = std::atoi(count);
  }
  // Tells Bazel this test knows about sharding.
  if (const char* status = std::getenv("TEST_SHARD_STATUS_FILE")) {
    std::ofstream touch(status);
  }
  return shard;
}

TEST_CASE(
    "the protocol keeps its promises under every fault, over many schedules") {
  FLAGS_minloglevel = 2;  // the search logs every child; keep errors only
  SimulationReport total;
  int stopped = 0;
  const int schedules = Schedules();
  const Shard shard = ThisShard();
  for (int seed = 1 + shard.index; seed <= schedules; seed += shard.count) {
    SimulationOptions options;
    options.seed = static_cast<uint64_t>(seed);
    options.dir = ScratchDir("schedule");
    const SimulationReport r = RunSimulation(options);
    if (!r.status.ok()) {
      FAIL(r.status.message()
           << "\nlast events:\n"
           << r.trace
           << "replay: bazel run //simulation:simulation_bench -- --seed="
           << seed << " --schedules=1");
    }
    Accumulate(r, &total);
    stopped += r.stopped ? 1 : 0;
  }
  std::cout << "shard " << shard.index + 1 << " of " << shard.count << ": "
            << (schedules - shard.index + shard.count - 1) / shard.count
            << " of " << schedules << " schedules, " << total.completed
            << " children completed; injected: " << total.dropped
            << " lost messages, " << total.duplicated << " duplicated, "
            << total.late << " late, " << total.worker_crashes
            << " worker crashes, " << total.worker_stops << " worker stops, "
            << total.controller_crashes << " controller crashes, "
            << total.operator_actions << " operator actions (" << stopped
            << " searches stopped), " << total.intruder_reports
            << " intruder reports; final training: " << total.final_jobs
            << " jobs, " << total.checkpoints << " checkpoints kept, "
            << total.resumes << " resumes, " << total.slow_uploads
            << " uploads ending late; " << total.data_refusals
            << " tasks handed back for lack of data; "
            << total.old_worker_tasks << " tasks taken by workers too old "
            << "for recipes; inheritance: " << total.weights_kept
            << " weights kept, " << total.inherited << " children inherited, "
            << total.inherit_misses << " trained fresh" << std::endl;
  // The faults did happen.
  CHECK(total.controller_crashes > 0);
  CHECK(total.worker_crashes > 0);
  CHECK(total.dropped > 0);
  CHECK(total.intruder_reports > 0);
  CHECK(total.data_refusals > 0);
  CHECK(total.old_worker_tasks > 0);
  // Final jobs were drawn in, and some resumed from a checkpoint.
  CHECK(total.final_jobs > 0);
  CHECK(total.resumes > 0);
  CHECK(total.slow_uploads > 0);
  // Inheriting searches were drawn in; most children got their parent's
  // weights, and some could not (lost messages, restarts).
  CHECK(total.weights_kept > 0);
  CHECK(total.inherited > 0);
  CHECK(total.inherit_misses > 0);
}

TEST_CASE("a seed replays exactly") {
  FLAGS_minloglevel = 2;
  SimulationOptions options;
  options.seed = 77;
  options.dir = ScratchDir("replay");
  const SimulationReport a = RunSimulation(options);
  const SimulationReport b = RunSimulation(options);
  REQUIRE(a.status.ok());
  CHECK(a.steps == b.steps);
  CHECK(a.simulated_seconds == b.simulated_seconds);
  CHECK(a.dropped == b.dropped);
  CHECK(a.completed == b.completed);
}

}  // namespace
}  // namespace amoeba::sim
