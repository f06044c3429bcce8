#include "simulation/simulation.h"

#include "simulation/harness.h"

namespace amoeba::sim {

void Accumulate(const SimulationReport& one, SimulationReport* total) {
  total->steps += one.steps;
  total->simulated_seconds += one.simulated_seconds;
  total->completed += one.completed;
  total->dropped += one.dropped;
  total->duplicated += one.duplicated;
  total->late += one.late;
  total->timeouts += one.timeouts;
  total->worker_crashes += one.worker_crashes;
  total->worker_stops += one.worker_stops;
  total->partitions += one.partitions;
  total->controller_crashes += one.controller_crashes;
  total->data_refusals += one.data_refusals;
  total->old_worker_tasks += one.old_worker_tasks;
  total->operator_actions += one.operator_actions;
  total->intruder_reports += one.intruder_reports;
  total->final_jobs += one.final_jobs;
  total->checkpoints += one.checkpoints;
  total->resumes += one.resumes;
  total->weights_kept += one.weights_kept;
  total->inherited += one.inherited;
  total->inherit_misses += one.inherit_misses;
  total->slow_uploads += one.slow_uploads;
}

SimulationReport RunSimulation(const SimulationOptions& options) {
  Harness harness(options);
  return harness.Run();
}

}  // namespace amoeba::sim
