// How the harness delivers a worker's RPC to the controller: the handler it
// reaches, the slow uploads it holds open, and what the worker does with the
// answer (acks, takes, resumes), observed for the checks.
#include "simulation/harness.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/match.h"
#include "absl/strings/str_format.h"
#include "common/checkpoint_file.h"
#include "controller/controller.h"
#include "controller/search.h"
#include "store/store.h"
#include "genotype/text.h"
#include "settings/recipes.h"
#include "simulation/network.h"
#include "simulation/sim_worker.h"
#include "simulation/world.h"

namespace amoeba::sim {

std::pair<absl::Status, std::string> Harness::Handle(Rpc rpc,
                                                     const std::string& bytes) {
  switch (rpc) {
    case Rpc::kRegister: {
      v1::RegisterRequest request;
      request.ParseFromString(bytes);
      absl::Status s = controller_->Register(request);
      v1::RegisterResponse response;
      return {s, response.SerializeAsString()};
    }
    case Rpc::kGetTask: {
      v1::GetTaskRequest request;
      request.ParseFromString(bytes);
      auto response = controller_->GetTask(request);
      if (!response.ok()) return {response.status(), ""};
      if (response->has_task()) {
        SimSearch* sim = SimSearchNamed(response->task().search_id());
        if (sim == nullptr) {
          Violation("a task names no search of the controller");
          return {absl::OkStatus(), response->SerializeAsString()};
        }
        ObserveTask(*sim, response->task());
        ObserveCheckpointEpoch(*sim, response->task());
        ObserveTrainedFirst(*sim, response->task());
        ObserveDataRefusals(*sim, response->task(), request.worker_id(),
                            request.view().incarnation());
        world_.Trace("controller: ", response->task().search_id(), " child ",
                     response->task().model_id(),
                     " attempt ", response->task().attempt(), " -> ",
                     request.worker_id(), " (request ",
                     request.view().sequence(), ")");
      }
      return {absl::OkStatus(), response->SerializeAsString()};
    }
    case Rpc::kProgress: {
      v1::ProgressReport request;
      request.ParseFromString(bytes);
      auto answer = controller_->ReportProgress(request);
      if (!answer.ok()) return {answer.status(), ""};
      ObserveProgress(request, *answer);
      v1::ProgressAck ack;
      ack.set_cancel(answer->cancel);
      ack.set_stop(answer->stop);
      return {absl::OkStatus(), ack.SerializeAsString()};
    }
    case Rpc::kResult:
      return HandleResult(bytes);
    case Rpc::kUploadCheckpoint:
    case Rpc::kDownloadCheckpoint:
      return HandleCheckpoint(rpc, bytes);
    case Rpc::kHeartbeat: {
      v1::HeartbeatRequest request;
      request.ParseFromString(bytes);
      auto response = controller_->Heartbeat(request);
      if (!response.ok()) return {response.status(), ""};
      return {absl::OkStatus(), response->SerializeAsString()};
    }
  }
  return {absl::InternalError("unknown rpc"), ""};
}

std::pair<absl::Status, std::string> Harness::HandleResult(
    const std::string& bytes) {
  v1::ResultReport report;
  report.ParseFromString(bytes);
  // A failure may act only on the current lease: another worker's lease of
  // the child must come through untouched.
  const std::optional<Lease> before =
      LeaseOf(report.search_id(), report.model_id());
  v1::ResultAck ack;
  auto recorded = controller_->ReportResult(
      report, report.next_task() ? ack.mutable_next() : nullptr);
  if (!report.ok() && before.has_value() &&
      before->worker_id != report.worker_id()) {
    const std::optional<Lease> after =
        LeaseOf(report.search_id(), report.model_id());
    if (!after.has_value() || after->worker_id != before->worker_id ||
        after->attempt != before->attempt) {
      Violation(absl::StrCat("a failure of child ", report.model_id(),
                             " attempt ", report.attempt(), " from ",
                             report.worker_id(), " disturbed attempt ",
                             before->attempt, " on ", before->worker_id));
    }
  }
  SimSearch* owner = SimSearchNamed(report.search_id());
  // A refusal the controller applied (a failure is "recorded" when it
  // released its lease; a stale one is not).
  if (recorded.ok() && *recorded && owner != nullptr &&
      !report.missing_data().empty()) {
    ++report_.data_refusals;
    owner->refused_by[report.worker_id()] = {report.view().incarnation(),
                                             report_.controller_crashes};
    if (const std::optional<Lease> after =
            LeaseOf(report.search_id(), report.model_id());
        after.has_value() && after->attempt == report.attempt()) {
      Violation(absl::StrCat("a refusal of ", report.search_id(), " child ",
                             report.model_id(), " by ", report.worker_id(),
                             " left its lease in place"));
    }
  }
  if (recorded.ok() && *recorded && report.ok()) {
    if (owner == nullptr) {
      Violation("a result of no search was recorded");
    } else {
      ObserveSuccess(*owner, report);
    }
  }
  if (recorded.ok() && ack.next().has_task()) {
    SimSearch* next = SimSearchNamed(ack.next().task().search_id());
    if (next == nullptr) {
      Violation("a task names no search of the controller");
    } else {
      ObserveTask(*next, ack.next().task());
      ObserveCheckpointEpoch(*next, ack.next().task());
      ObserveTrainedFirst(*next, ack.next().task());
      ObserveDataRefusals(*next, ack.next().task(), report.worker_id(),
                          report.view().incarnation());
    }
    world_.Trace("controller: ", ack.next().task().search_id(), " child ",
                 ack.next().task().model_id(),
                 " attempt ", ack.next().task().attempt(), " -> ",
                 report.worker_id(), " (in an ack)");
  }
  world_.Trace("controller: result of ", report.search_id(), " child ",
               report.model_id(), " attempt ",
               report.attempt(), " from ", report.worker_id(),
               report.ok() ? " ok" : " failed",
               report.preempted() ? " (preempted)" : "", ": ",
               recorded.ok() ? (*recorded ? "recorded" : "not recorded")
                             : recorded.status().ToString());
  if (!recorded.ok()) return {recorded.status(), ""};
  ack.set_recorded(*recorded);
  return {absl::OkStatus(), ack.SerializeAsString()};
}

std::pair<absl::Status, std::string> Harness::HandleCheckpoint(
    Rpc rpc, const std::string& bytes) {
  if (rpc == Rpc::kDownloadCheckpoint) {
    v1::CheckpointRequest request;
    request.ParseFromString(bytes);
    auto checkpoint = controller_->GetCheckpoint(request);
    if (!checkpoint.ok()) return {checkpoint.status(), ""};
    v1::CheckpointChunk chunk;
    chunk.mutable_header()->set_epoch(checkpoint->epoch);
    chunk.set_data(checkpoint->payload);
    return {absl::OkStatus(), chunk.SerializeAsString()};
  }
  v1::CheckpointChunk chunk;
  chunk.ParseFromString(bytes);
  const v1::CheckpointHeader& h = chunk.header();
  const std::optional<Lease> lease = LeaseOf(h.search_id(), h.model_id());
  const bool holder = lease.has_value() && lease->worker_id == h.worker_id() &&
                      lease->attempt == h.attempt();
  if (faults_on_ && world_.Chance(o_.slow_upload)) {
    return StartSlowUpload(chunk, holder);
  }
  auto kept = controller_->PutCheckpoint(h, chunk.data());
  world_.Trace("controller: checkpoint of ", h.search_id(), " child ",
               h.model_id(), " attempt ", h.attempt(), " epoch ", h.epoch(),
               " from ", h.worker_id(), ": ",
               kept.ok() ? absl::StrCat("keeps ", *kept)
                         : kept.status().ToString());
  if (kept.ok() && !holder) {
    Violation(absl::StrCat("a checkpoint of ", h.search_id(), " child ",
                           h.model_id(), " from ", h.worker_id(),
                           ", which does not hold it, was kept"));
  }
  if (!kept.ok()) return {kept.status(), ""};
  v1::CheckpointAck ack;
  ack.set_epoch(*kept);
  return {absl::OkStatus(), ack.SerializeAsString()};
}

std::pair<absl::Status, std::string> Harness::StartSlowUpload(
    const v1::CheckpointChunk& chunk, bool holder) {
  const v1::CheckpointHeader& h = chunk.header();
  auto upload = controller_->BeginCheckpoint(h);
  world_.Trace("controller: slow checkpoint upload of ", h.search_id(),
               " child ", h.model_id(), " attempt ", h.attempt(), " epoch ",
               h.epoch(), " from ", h.worker_id(), " opened: ",
               upload.ok() ? "ok" : upload.status().ToString());
  if (!upload.ok()) return {upload.status(), ""};
  if (!holder) {
    Violation(absl::StrCat("an upload of ", h.search_id(), " child ",
                           h.model_id(), " from ", h.worker_id(),
                           ", which does not hold it, was opened"));
  }
  if (*upload != nullptr) {
    if (absl::Status s = (*upload)->Append(chunk.data()); !s.ok()) {
      return {s, ""};
    }
  }
  const uint64_t id = next_upload_++;
  open_uploads_.emplace(id, OpenUpload{h, *std::move(upload)});
  ++report_.slow_uploads;
  world_.After(world_.Between(absl::Seconds(1), absl::Seconds(60)),
               [this, id] { FinishSlowUpload(id); });
  // The worker stops waiting before the stream ends.
  return {absl::DeadlineExceededError("the upload is still streaming"), ""};
}

void Harness::FinishSlowUpload(uint64_t id) {
  auto it = open_uploads_.find(id);
  if (it == open_uploads_.end()) return;  // the controller crashed meanwhile
  OpenUpload open = std::move(it->second);
  open_uploads_.erase(it);
  const v1::CheckpointHeader& h = open.header;
  auto kept = controller_->CommitCheckpoint(h, std::move(open.upload));
  world_.Trace("controller: slow checkpoint upload of ", h.search_id(),
               " child ", h.model_id(), " attempt ", h.attempt(), " ended: ",
               kept.ok() ? absl::StrCat("keeps ", *kept)
                         : kept.status().ToString());
  SimSearch* sim = SimSearchNamed(h.search_id());
  Search* search = sim != nullptr ? Live(*sim) : nullptr;
  if (search == nullptr || search->IsUnfinished(h.model_id())) return;
  if (kept.ok()) {
    Violation(absl::StrCat("a checkpoint of finished ", h.search_id(),
                           " child ", h.model_id(), " was acknowledged"));
  }
  // A done child keeps no checkpoint (one failed for good may until the
  // controller's next start).
  auto model = search->GetModel(h.model_id());
  if (model.ok() && model->model().state() == v1::MODEL_DONE &&
      std::filesystem::exists(absl::StrCat(o_.dir, "/checkpoints/",
                                           h.search_id(), "/", h.model_id(),
                                           ".ckpt"))) {
    Violation(absl::StrCat("a checkpoint of finished ", h.search_id(),
                           " child ", h.model_id(),
                           " is kept after an upload ended late"));
  }
}

void Harness::OnAck(const v1::ResultReport& report, const v1::ResultAck& ack) {
  if (!report.ok() || !ack.recorded()) return;
  SimSearch* sim = SimSearchNamed(report.search_id());
  if (sim == nullptr) {
    Violation("a result of no search was acknowledged as recorded");
    return;
  }
  if (sim->acked.count(report.model_id()) > 0) {
    Violation(absl::StrCat(sim->name, " child ", report.model_id(),
                           " was acknowledged as recorded twice"));
  }
  sim->acked[report.model_id()] = sim->RecordedFitness(report);
}

v1::TrainingRecipe Harness::ExpectedRecipe(const SimSearch& sim) {
  if (sim.final_of.empty()) return CompleteRecipe(sim.options.settings.recipe());
  const SimSearch* source = SimSearchNamed(sim.final_of);
  v1::TrainingRecipe recipe =
      CompleteRecipe(source->options.settings.recipe());
  recipe.MergeFrom(sim.final_request.settings().recipe());
  return recipe;
}

void Harness::ObserveDataRefusals(SimSearch& sim, const v1::Task& task,
                                  const std::string& worker,
                                  uint64_t incarnation) {
  auto refused = sim.refused_by.find(worker);
  if (refused == sim.refused_by.end()) return;
  if (refused->second.first == incarnation &&
      refused->second.second == report_.controller_crashes) {
    Violation(absl::StrCat(sim.name, " child ", task.model_id(),
                           " handed to ", worker, ", which said it lacks "
                           "the search's data (same process, no controller "
                           "restart since)"));
  }
}

// A task a worker accepts from an answer is still its lease: nothing may
// release a lease while its answer is on the way (the grant is not settled
// until the task is held), unless the child finished meanwhile or an
// operator stopped the search.
void Harness::OnTake(const std::string& worker, const v1::Task& task) {
  SimSearch* sim = SimSearchNamed(task.search_id());
  // The recipe travels whole with every task, restarts included.
  if (sim != nullptr &&
      task.settings().recipe().SerializeAsString() !=
          ExpectedRecipe(*sim).SerializeAsString()) {
    Violation(absl::StrCat(worker, " took ", task.search_id(), " child ",
                           task.model_id(), " with the recipe {",
                           task.settings().recipe().ShortDebugString(),
                           "}, created with {",
                           ExpectedRecipe(*sim).ShortDebugString(), "}"));
  }
  // A worker that would ignore the recipe never gets a task that has one.
  if (old_workers_.count(worker) > 0) {
    ++report_.old_worker_tasks;
    if (NeedsRecipeSupport(task.settings().recipe()) || task.keep_weights()) {
      Violation(absl::StrCat(worker, " (a version that ignores recipes) took ",
                             task.search_id(), " child ", task.model_id(),
                             " with the recipe {",
                             task.settings().recipe().ShortDebugString(), "}"));
    }
  }
  Search* search = sim != nullptr ? Live(*sim) : nullptr;
  if (search == nullptr || sim->stopped) return;
  const std::optional<Lease> lease = LeaseOf(task.search_id(), task.model_id());
  if (lease.has_value() && lease->worker_id == worker &&
      lease->attempt == task.attempt()) {
    return;
  }
  auto model = search->GetModel(task.model_id());
  if (model.ok() && (model->model().state() == v1::MODEL_DONE ||
                     model->model().state() == v1::MODEL_FAILED)) {
    return;
  }
  Violation(absl::StrCat(worker, " took ", task.search_id(), " child ",
                         task.model_id(), " attempt ",
                         task.attempt(), " whose lease was already released"));
}

void Harness::OnResume(const std::string& worker, const v1::Task& task,
                       const v1::CheckpointChunk& checkpoint) {
  ++report_.resumes;
  const int epoch = checkpoint.header().epoch();
  if (checkpoint.data() != SimulatedCheckpoint(task, epoch)) {
    Violation(absl::StrCat(worker, " resumed ", task.search_id(), " child ",
                           task.model_id(), " from a checkpoint of another "
                           "job or epoch: '", checkpoint.data(), "'"));
  }
  if (epoch < task.checkpoint_epoch() ||
      epoch >= task.settings().epochs()) {
    Violation(absl::StrCat(worker, " resumed ", task.search_id(), " child ",
                           task.model_id(), " at epoch ", epoch,
                           "; the task promised ", task.checkpoint_epoch()));
  }
}

}  // namespace amoeba::sim
