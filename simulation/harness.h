// The simulation harness: the real controller (Search, LeaseTable, SQLite
// store) and simulated workers running the real WorkerCore, under a seeded
// scheduler (world.h) and an adversarial network (network.h). One Harness
// runs one seed (RunSimulation in simulation.h is its public face); its
// parts are in harness.cc (world and faults), harness_routing.cc (RPCs to
// handlers) and harness_checks.cc (the invariants). Internal to simulation/.
#ifndef AMOEBA_SIMULATION_HARNESS_H_
#define AMOEBA_SIMULATION_HARNESS_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "controller/controller.h"
#include "controller/search.h"
#include "simulation/network.h"
#include "simulation/sim_worker.h"
#include "simulation/simulation.h"
#include "simulation/world.h"
#include "store/checkpoint_store.h"

namespace amoeba::sim {

inline constexpr int64_t kMaxSteps = 5000000;
inline constexpr char kIntruder[] = "intruder";

class Harness {
 public:
  explicit Harness(const SimulationOptions& options);
  SimulationReport Run();

 private:
  void Violation(const std::string& what) {
    if (violation_.ok()) {
      violation_ = absl::InternalError(
          absl::StrCat("seed ", o_.seed, " at ",
                       absl::SixDigits(world_.seconds()), "s: ", what));
    }
  }
  // One search of the controller, with what the harness knows of it.
  struct SimSearch {
    std::string name;
    SearchOptions options;
    bool created = false;
    bool paused = false;
    bool stopped = false;
    absl::Time stop_time;
    int64_t highest_child = 0;
    // The shadow engine: the same Engine, fed the calls the controller's
    // must have made (a new child for every new id handed out, a result for
    // every recorded success), so the population and every child are
    // checked against what the algorithm says from the same history.
    std::unique_ptr<Engine> shadow;
    std::map<int64_t, Genotype> shadow_genotypes;
    // The parent of each child, as the shadow engine made it (-1: random).
    std::map<int64_t, int64_t> shadow_parents;
    // Children a worker saw acknowledged as recorded, with their fitness.
    std::map<int64_t, double> acked;
    // Early stopping: every answer given to a hurdle report, by child and
    // epoch (it may never change, restarts included), and the report at
    // which each child was first told to stop (its fitness is what the
    // child must be recorded with).
    std::map<std::pair<int64_t, int>, bool> hurdle_answers;
    std::map<int64_t, HurdleReport> stopped_early;
    // Final training (CreateFinal of the search `final_of` once it is
    // finished; never when that search was stopped or yields no model).
    std::string final_of;
    v1::CreateFinalRequest final_request;
    bool abandoned = false;
    // Workers that handed back a task for lack of the dataset, and the
    // controller accepted it: their incarnation then, and the controller
    // restarts counted then (the controller forgets it on a restart).
    std::map<std::string, std::pair<uint64_t, int64_t>> refused_by;
    // Long tasks: the newest checkpoint epoch acknowledged to any worker,
    // by child.
    std::map<int64_t, int> checkpoint_acked;
    // The highest epoch of an accepted progress report, by child.
    std::map<int64_t, int> progress_epoch;
    // The fitness a success of `report` must be recorded with.
    double RecordedFitness(const v1::ResultReport& report) const {
      auto it = stopped_early.find(report.model_id());
      return it != stopped_early.end() ? it->second.fitness : report.fitness();
    }
  };

  // The world, drawn from the seed in this order (the order is part of
  // the schedule a seed names).
  SimSearch DrawSearch(int index);
  // Half the schedules finalize the first search's best models: long tasks
  // with checkpoints, resumed by the next holder.
  void MaybeAddFinalSearch();
  void StartWorkers();
  void OpenController();
  void CrashController();
  // Creates searches_[index] on the controller (retried while it is down).
  void CreateSearchLater(size_t index, absl::Duration after);
  // Creates the final training searches_[index] once its source search is
  // finished (polled).
  void CreateFinalLater(size_t index, absl::Duration after);
  std::pair<absl::Status, std::string> HandleCheckpoint(
      Rpc rpc, const std::string& bytes);
  // SimulationOptions::slow_upload: opens the upload now, ends it later.
  std::pair<absl::Status, std::string> StartSlowUpload(
      const v1::CheckpointChunk& chunk, bool holder);
  void FinishSlowUpload(uint64_t id);
  // A task handed out must name the newest checkpoint acknowledged for its
  // child (or a newer one): never less.
  void ObserveCheckpointEpoch(SimSearch& search, const v1::Task& task);
  // A task handed out that did not train yet while a child of the same
  // search with an acknowledged checkpoint waits for a worker: the trained
  // one must go first.
  void ObserveTrainedFirst(SimSearch& search, const v1::Task& task);
  void OnResume(const std::string& worker, const v1::Task& task,
                const v1::CheckpointChunk& checkpoint);
  // A child starts from the weights it downloaded: they must be its own
  // parent's (the shadow engine's), as the task said.
  void OnInherit(const std::string& worker, const v1::Task& task,
                 const absl::Status& status,
                 const v1::CheckpointChunk& weights);
  // The weights kept on disk are of models still needed (unfinished, in
  // the population, or parent of an unfinished child), from the rows.
  void CheckWeights(const SimSearch& search,
                    const std::vector<ModelRecord>& models);
  SimSearch* SimSearchNamed(const std::string& name);
  Search* Live(const SimSearch& search);
  std::pair<absl::Status, std::string> Handle(Rpc rpc,
                                              const std::string& bytes);
  std::pair<absl::Status, std::string> HandleResult(const std::string& bytes);
  void OnAck(const v1::ResultReport& report, const v1::ResultAck& ack);
  // A progress report answered by the controller: its early-stopping answer
  // is checked against every earlier one.
  void ObserveProgress(const v1::ProgressReport& report,
                       const Search::ProgressAnswer& answer);
  void OnTake(const std::string& worker, const v1::Task& task);
  void DrawRecipe(uint64_t seed, v1::TrainingRecipe& recipe);
  // A task of `sim` answered to `worker` (incarnation `incarnation`): never
  // to a worker that said it lacks the search's data, until it restarts.
  void ObserveDataRefusals(SimSearch& sim, const v1::Task& task,
                           const std::string& worker, uint64_t incarnation);
  // The recipe a task of `sim` must carry: every field, as created (a final
  // search: its source's, with the request's on top).
  v1::TrainingRecipe ExpectedRecipe(const SimSearch& sim);
  // The shadow engine: the same Engine, fed the calls the controller's must
  // have made (a new child for every new id handed out, a result for every
  // recorded success), so the population and every child are checked
  // against what the algorithm says from the same history.
  void ObserveTask(SimSearch& search, const v1::Task& task);
  void ObserveSuccess(SimSearch& search, const v1::ResultReport& report);
  void ChaosTick();
  void ExpireTick();
  void EndFaults();
  void Intrude();
  void RestartLater(SimWorker* worker);
  void CheckStep();
  void CheckStore(bool at_end);
  // Every step: charges, completions, acknowledged results, the budget.
  // At the end of a search that was not stopped, also the two below.
  void CheckSearchRows(SimSearch& search, const std::vector<ModelRecord>& models,
                       bool at_end);
  // Every child ended and the budget is met (final jobs: each done or
  // failed once, no checkpoint left behind).
  void CheckFinishedSearch(const SimSearch& search,
                           const std::vector<ModelRecord>& models,
                           const std::vector<const ModelRecord*>& done);
  // The population is the one the algorithm keeps from the same history.
  void CheckPopulation(const SimSearch& search,
                       const std::vector<const ModelRecord*>& done);
  SimWorker* WorkerNamed(const std::string& id);
  std::optional<Lease> LeaseOf(const std::string& search, int64_t child);
  bool AllDone();

  const SimulationOptions o_;
  World world_;
  Network network_;
  ControllerDefaults defaults_;
  std::string store_path_;
  std::unique_ptr<Controller> controller_;
  std::vector<SimSearch> searches_;
  std::vector<std::unique_ptr<SimWorker>> workers_;
  // Workers of the version before training recipes (by id).
  std::set<std::string> old_workers_;
  bool faults_on_ = true;
  bool intruder_registered_ = false;
  std::map<std::tuple<std::string, int64_t, int>, absl::Time> orphan_since_;
  absl::Status violation_;
  SimulationReport report_;
  // Uploads whose stream has not ended (slow_upload), by id. Declared after
  // controller_: they hold its checkpoint store and go first.
  struct OpenUpload {
    v1::CheckpointHeader header;
    std::unique_ptr<CheckpointStore::Upload> upload;  // null: newer kept
  };
  std::map<uint64_t, OpenUpload> open_uploads_;
  uint64_t next_upload_ = 0;
};

}  // namespace amoeba::sim

#endif  // AMOEBA_SIMULATION_HARNESS_H_
