// A deterministic simulation of the whole controller-worker protocol, in the
// spirit of FoundationDB's simulation testing: the real Controller with one
// to three searches (engines, LeaseTables, one real SQLite store), simulated
// workers running the real WorkerCore and Spool, one seeded scheduler and a
// simulated clock, and an adversarial network (simulation/network.h).
// Faults injected: lost, duplicated, delayed (past the deadline) and
// reordered requests and answers; workers cut off by a partition; workers
// that crash (keeping their spool), stop gracefully and restart; a
// controller that crashes and reopens its store; operators creating,
// pausing, resuming and stopping searches; an intruder reporting results
// for children it never held; spool writes that fail.
//
// A controller crash happens between two handled requests. Together with
// lost requests (a crash before the handler's commit) and lost answers (a
// crash after the commit, before the answer left) this covers every point
// at which the controller can die: a handler's writes are durable before
// it answers.
//
// After every step the checker verifies the protocol's promises (see
// CheckStep and CheckEnd in simulation.cc); the first violation ends the
// run with the seed and the last lines of the trace.
#ifndef AMOEBA_SIMULATION_SIMULATION_H_
#define AMOEBA_SIMULATION_SIMULATION_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace amoeba::sim {

struct SimulationOptions {
  uint64_t seed = 1;
  // Scratch folder for the store and the spools (created, then removed).
  std::string dir;
  // Faults are injected during the first `fault_time` of simulated time;
  // after that the network is clean, crashed processes come back, a paused
  // search is resumed, and the search must finish within `settle_time`.
  absl::Duration fault_time = absl::Minutes(10);
  absl::Duration settle_time = absl::Hours(2);
  // 0: drawn from the seed (1..4 workers of 1..4 slots, small P and budget).
  int workers = 0;
  // 0: drawn from the seed (1..3 searches of small P and budget, of aging,
  // non-aging, random or REINFORCE, created
  // at random times while workers run, fair-shared by weights 1..3).
  int searches = 0;
  // Per simulated second while faults are on.
  double worker_crash = 0.004;
  double worker_stop = 0.002;
  double partition = 0.003;  // a worker cut off for 5..60 s
  double controller_crash = 0.003;
  double pause = 0.003;
  double stop = 0.0005;
  double intruder = 0.01;
  double message_fault = 0.04;  // each of drop/dup/late, per message
  double spool_write_fails = 0.02;
  // Per checkpoint upload while faults are on: the header and data arrive,
  // the end of the stream 1..60 s later, after the worker has given up on
  // the call; whatever happens in between (the child's result, a new
  // holder, a controller crash) must not leave a finished child with a
  // checkpoint or count a stale sender's.
  double slow_upload = 0.2;
};

struct SimulationReport {
  absl::Status status;  // OK, or Internal naming the violation
  std::string trace;    // the last lines before a violation
  int64_t steps = 0;
  double simulated_seconds = 0;
  int64_t completed = 0;
  bool stopped = false;  // an operator stopped the search
  // Faults injected.
  int64_t dropped = 0;
  int64_t duplicated = 0;
  int64_t late = 0;
  int64_t timeouts = 0;
  int64_t worker_crashes = 0;
  int64_t worker_stops = 0;
  int64_t partitions = 0;
  int64_t controller_crashes = 0;
  int64_t operator_actions = 0;
  int64_t intruder_reports = 0;
  // Final training: jobs created, checkpoints acknowledged, resumes.
  int64_t final_jobs = 0;
  int64_t checkpoints = 0;
  int64_t resumes = 0;
  int64_t slow_uploads = 0;  // uploads whose stream ended late
  // Weight inheritance: weights acknowledged, children that started from
  // their parent's weights, and those that could not get them.
  int64_t weights_kept = 0;
  int64_t inherited = 0;
  int64_t inherit_misses = 0;
  // Tasks handed back by workers that lack the search's dataset.
  int64_t data_refusals = 0;
  // Tasks taken by workers of the version before training recipes (of
  // searches whose recipe is the default: no other may reach them).
  int64_t old_worker_tasks = 0;
};

// Adds the counts of `one` to `total` (for runs of many schedules).
void Accumulate(const SimulationReport& one, SimulationReport* total);

// Runs one schedule. Deterministic for a seed: the same options give the
// same schedule, faults and outcome.
SimulationReport RunSimulation(const SimulationOptions& options);

}  // namespace amoeba::sim

#endif  // AMOEBA_SIMULATION_SIMULATION_H_
