// Runs many schedules of the protocol simulation and prints schedules/s and
// the faults injected (docs/benchmarks.md). With --seed=S --schedules=1 it
// replays one schedule and prints its trace on a violation.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>

#include "absl/strings/str_cat.h"
#include "gflags/gflags.h"
#include "glog/logging.h"
#include "simulation/simulation.h"

DEFINE_uint64(seed, 1, "first seed");
DEFINE_int32(schedules, 100000, "schedules to run (seeds seed, seed+1, ...)");
DEFINE_string(dir, "", "scratch folder (default: /dev/shm, else /tmp)");
DEFINE_bool(keep_going, false, "continue after a violation");

int main(int argc, char** argv) {
  gflags::SetUsageMessage(
      "simulation_bench [--seed=S] [--schedules=N]: the protocol simulation");
  gflags::ParseCommandLineFlags(&argc, &argv, true);
  FLAGS_minloglevel = 2;
  google::InitGoogleLogging(argv[0]);
  std::string dir = FLAGS_dir;
  if (dir.empty()) {
    dir = absl::StrCat(access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp",
                       "/amoeba-sim-bench-", getpid());
  }
  amoeba::sim::SimulationReport total;
  int64_t violations = 0;
  int64_t stopped = 0;
  const auto start = std::chrono::steady_clock::now();
  int run = 0;
  for (int i = 0; i < FLAGS_schedules; ++i) {
    ++run;
    amoeba::sim::SimulationOptions options;
    options.seed = FLAGS_seed + static_cast<uint64_t>(i);
    options.dir = dir;
    const amoeba::sim::SimulationReport r = amoeba::sim::RunSimulation(options);
    amoeba::sim::Accumulate(r, &total);
    stopped += r.stopped ? 1 : 0;
    if (!r.status.ok()) {
      ++violations;
      std::cout << "VIOLATION " << r.status.message() << "\n" << r.trace;
      if (!FLAGS_keep_going) break;
    }
    if ((i + 1) % 10000 == 0) {
      std::cerr << (i + 1) << " schedules..." << std::endl;
    }
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  std::printf(
      "schedules: %d in %.1f s (%.1f schedules/s), %lld steps, %.0f simulated "
      "hours\n",
      run, seconds, run / seconds, static_cast<long long>(total.steps),
      total.simulated_seconds / 3600);
  std::printf(
      "children completed: %lld; searches stopped by an operator: %lld\n",
      static_cast<long long>(total.completed), static_cast<long long>(stopped));
  std::printf(
      "injected: %lld lost messages, %lld duplicated requests, %lld late "
      "messages, %lld call timeouts, %lld partitions, %lld worker crashes, "
      "%lld worker stops, "
      "%lld controller crashes, %lld operator actions, %lld intruder reports\n",
      static_cast<long long>(total.dropped),
      static_cast<long long>(total.duplicated),
      static_cast<long long>(total.late),
      static_cast<long long>(total.timeouts),
      static_cast<long long>(total.partitions),
      static_cast<long long>(total.worker_crashes),
      static_cast<long long>(total.worker_stops),
      static_cast<long long>(total.controller_crashes),
      static_cast<long long>(total.operator_actions),
      static_cast<long long>(total.intruder_reports));
  std::printf(
      "final training: %lld jobs, %lld checkpoints kept, %lld resumes, "
      "%lld uploads ending late\n",
      static_cast<long long>(total.final_jobs),
      static_cast<long long>(total.checkpoints),
      static_cast<long long>(total.resumes),
      static_cast<long long>(total.slow_uploads));
  std::printf("violations: %lld\n", static_cast<long long>(violations));
  return violations == 0 ? 0 : 1;
}
