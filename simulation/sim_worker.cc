#include "simulation/sim_worker.h"

#include <algorithm>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "worker/checkpointer.h"
#include "genotype/fingerprint.h"
#include "genotype/genotype_proto.h"
#include "glog/logging.h"
#include "settings/recipes.h"

namespace amoeba::sim {
namespace {

// A fitness that depends only on the genotype, so every evaluation of a
// child gives the same value and the checker can recognise it.
double FitnessOf(const v1::Task& task) {
  auto genotype = GenotypeFromProto(task.genotype());
  const uint64_t fp = genotype.ok() ? Fingerprint(*genotype) : 0;
  return static_cast<double>(fp % 10000) / 10000.0;
}

// The validation fitness at `epoch` on the way to FitnessOf(task): lower
// early, rising; -1 (not measured) past the last epoch.
double ValidationAt(const v1::Task& task, int epoch) {
  if (epoch >= task.settings().epochs()) return -1;
  return FitnessOf(task) * (0.5 + 0.5 * epoch / task.settings().epochs());
}

}  // namespace

std::string SimulatedWeights(const std::string& search_id, int64_t child) {
  return absl::StrCat("weights of ", search_id, " child ", child);
}

std::string SimulatedCheckpoint(const v1::Task& task, int epoch) {
  return absl::StrCat(task.search_id(), "#", task.model_id(), " ",
                      task.genotype_text(), " after epoch ", epoch);
}

SimWorker::SimWorker(World* world, Network* network, std::string id, int slots,
                     std::string spool_dir, WorkerBehaviour behaviour,
                     WorkerObserver observer)
    : world_(world),
      network_(network),
      id_(std::move(id)),
      slot_count_(slots),
      spool_(std::move(spool_dir)),
      behaviour_(behaviour),
      observer_(std::move(observer)) {}

template <typename Request, typename Answer>
void SimWorker::Send(
    Rpc rpc, const Request& request,
    std::function<void(const absl::Status&, const Answer&)> done) {
  const uint64_t generation = generation_;
  ++outstanding_;
  network_->Call(id_, rpc, request.SerializeAsString(),
                 [this, generation, done = std::move(done)](
                     const absl::Status& status, const std::string& bytes) {
                   if (generation != generation_) return;  // that process died
                   --outstanding_;
                   Answer answer;
                   if (status.ok() && !answer.ParseFromString(bytes)) {
                     done(absl::InternalError("unparsable answer"), answer);
                     return;
                   }
                   done(status, answer);
                 });
}

void SimWorker::Start() {
  CHECK(!alive_);
  alive_ = true;
  ++generation_;
  ++starts_;
  outstanding_ = 0;
  finished_ = false;
  registering_ = false;
  after_register_.clear();
  core_ = std::make_unique<WorkerCore>(id_, slot_count_, ++incarnation_,
                                       "simulated");
  slots_.assign(slot_count_, Slot{});
  world_->Trace(id_, " starts (incarnation ", incarnation_, ")");
  CHECK(spool_.Init().ok());
  Register([this] {
    DeliverSpool(spool_.List(), [this] {
      for (int slot = 0; slot < slot_count_; ++slot) Ask(slot);
      HeartbeatTick(generation_);
    });
  });
}

void SimWorker::Crash() {
  if (!alive_) return;
  world_->Trace(id_, " crashes");
  alive_ = false;
  ++generation_;
  core_.reset();
  slots_.clear();
  outstanding_ = 0;
}

void SimWorker::Stop() {
  if (!alive_) return;
  world_->Trace(id_, " stops");
  EvaluationResult cancelled;
  cancelled.cancelled = true;
  for (int slot = 0; slot < slot_count_; ++slot) {
    if (!slots_[slot].running) continue;
    slots_[slot].running = false;
    std::optional<v1::ResultReport> report =
        core_->Finish(slot, slots_[slot].task, cancelled, /*stopping=*/true);
    if (!report.has_value()) continue;
    absl::StatusOr<std::string> file = spool_.Write(*report);
    *report->mutable_view() = core_->BeginRequest();
    Send<v1::ResultReport, v1::ResultAck>(
        Rpc::kResult, *report,
        [this, report = *report, file](const absl::Status& status,
                                       const v1::ResultAck& ack) {
          core_->EndRequest(report.view().sequence());
          if (!status.ok()) return;  // stays spooled for the next start
          if (observer_.on_ack) observer_.on_ack(report, ack);
          if (file.ok()) spool_.Remove(*file);
          core_->Delivered({report.search_id(), report.model_id(), report.attempt()});
        });
  }
  ++generation_;  // the slots' timers end here; the hand-backs still land
  const uint64_t stopping = generation_;
  world_->After(absl::Seconds(1), [this, stopping] {
    if (generation_ == stopping) Crash();
  });
}

void SimWorker::Backoff(std::function<void()> retry) {
  const uint64_t generation = generation_;
  world_->After(world_->Between(absl::Milliseconds(250), absl::Seconds(2)),
                [this, generation, retry = std::move(retry)] {
                  if (generation == generation_) retry();
                });
}

void SimWorker::Register(std::function<void()> then) {
  after_register_.push_back(std::move(then));
  if (registering_) return;
  registering_ = true;
  v1::RegisterRequest request;
  request.set_worker_id(id_);
  request.set_capacity(slot_count_);
  request.set_evaluator("simulated");
  request.set_incarnation(incarnation_);
  if (!behaviour_.old_version) {
    request.add_features(kTrainingRecipeFeature);
    request.add_features(kWeightInheritanceFeature);
  }
  Send<v1::RegisterRequest, v1::RegisterResponse>(
      Rpc::kRegister, request,
      [this](const absl::Status& status, const v1::RegisterResponse&) {
        registering_ = false;
        if (!status.ok()) {
          Backoff([this] { Register([] {}); });
          return;
        }
        std::vector<std::function<void()>> then;
        then.swap(after_register_);
        for (auto& fn : then) fn();
      });
}

void SimWorker::DeliverSpool(std::vector<std::string> files,
                             std::function<void()> then) {
  while (!files.empty()) {
    const std::string file = files.back();
    files.pop_back();
    absl::StatusOr<v1::ResultReport> report = spool_.Read(file);
    if (!report.ok()) {
      spool_.Remove(file);
      continue;
    }
    world_->Trace(id_, " delivers spooled ", file.substr(file.rfind('/') + 1));
    Deliver(*std::move(report), file, /*slot=*/-1,
            [this, files, then] { DeliverSpool(files, then); });
    return;
  }
  then();
}

void SimWorker::Ask(int slot) {
  if (finished_) return;
  Slot& s = slots_[slot];
  if (s.next.has_value()) {
    v1::GetTaskResponse answer = std::move(*s.next);
    s.next.reset();
    Continue(slot, answer, std::move(s.next_task));
    s.next_task.reset();
    return;
  }
  v1::GetTaskRequest request;
  request.set_worker_id(id_);
  *request.mutable_view() = core_->BeginRequest();
  const uint64_t sequence = request.view().sequence();
  Send<v1::GetTaskRequest, v1::GetTaskResponse>(
      Rpc::kGetTask, request,
      [this, slot, sequence](const absl::Status& status,
                             const v1::GetTaskResponse& answer) {
        if (status.ok()) {
          TakeThenSettle(slot, sequence, answer);
          return;
        }
        core_->EndRequest(sequence);
        if (status.code() == absl::StatusCode::kFailedPrecondition) {
          Register([this, slot] { Ask(slot); });
        } else {
          Backoff([this, slot] { Ask(slot); });
        }
      });
}

void SimWorker::TakeThenSettle(int slot, uint64_t sequence,
                               const v1::GetTaskResponse& answer) {
  std::optional<v1::Task> task = core_->TakeTask(slot, answer);
  if (task.has_value() && observer_.on_take) observer_.on_take(id_, *task);
  const uint64_t generation = generation_;
  world_->After(world_->Between(absl::ZeroDuration(), absl::Milliseconds(300)),
                [this, generation, slot, sequence, answer, task] {
                  if (generation != generation_) return;
                  core_->EndRequest(sequence);
                  Continue(slot, answer, task);
                });
}

void SimWorker::Continue(int slot, const v1::GetTaskResponse& answer,
                         std::optional<v1::Task> task) {
  if (task.has_value()) {
    slots_[slot].task = *std::move(task);
    Run(slot);
    return;
  }
  if (answer.search_finished() && behaviour_.exit_when_finished) {
    finished_ = true;
    return;
  }
  const uint64_t generation = generation_;
  const absl::Duration wait =
      answer.has_task()
          ? absl::ZeroDuration()
          : absl::Milliseconds(std::max(10, answer.retry_after_ms()));
  world_->After(wait, [this, generation, slot] {
    if (generation == generation_) Ask(slot);
  });
}

void SimWorker::Run(int slot) {
  Slot& s = slots_[slot];
  s.running = true;
  const uint64_t run = ++s.run;
  world_->Trace(id_, "/", slot, " runs child ", s.task.model_id(), " attempt ",
                s.task.attempt());
  const absl::Duration duration =
      world_->Between(behaviour_.min_evaluation, behaviour_.max_evaluation);
  EvaluationResult result;
  if (behaviour_.lacks_data_of.count(s.task.search_id()) > 0) {
    // As the real evaluator: the data does not load, nothing trains.
    result.missing_data = true;
    result.failure = "dataset not on this host (simulated)";
    FinishAfter(absl::Seconds(1), slot, run, result);
    return;
  }
  if (world_->Chance(behaviour_.diverged)) {
    result.diverged = true;
    result.failure = "loss diverged (simulated)";
  } else if (world_->Chance(behaviour_.worker_error)) {
    result.failure = "worker error (simulated)";
  } else {
    result.ok = true;
    result.fitness = FitnessOf(s.task);
  }
  if (s.task.settings().checkpoint_every() > 0) {
    RunLong(slot, run, result);
    return;
  }
  auto train = [this, slot, run, duration, result](bool inherited) mutable {
    // The simulated network counts its trainable scalars; an inheriting
    // one copied most of them.
    if (result.ok) {
      result.parameters = 1000;
      result.inherited_parameters = inherited ? 900 : 0;
    }
    const uint64_t generation = generation_;
    world_->After(behaviour_.progress, [this, generation, slot, run] {
      if (generation == generation_) ProgressTick(slot, run, 1);
    });
    FinishAfter(duration, slot, run, result);
  };
  if (s.task.inherit_from() > 0) {
    FetchParentWeights(slot, run, std::move(train));
  } else {
    train(false);
  }
}

void SimWorker::FetchParentWeights(int slot, uint64_t run,
                                   std::function<void(bool inherited)> then) {
  const v1::Task task = slots_[slot].task;
  v1::CheckpointRequest request;
  request.set_worker_id(id_);
  request.set_search_id(task.search_id());
  request.set_model_id(task.model_id());
  request.set_attempt(task.attempt());
  request.set_parent_weights(true);
  Send<v1::CheckpointRequest, v1::CheckpointChunk>(
      Rpc::kDownloadCheckpoint, request,
      [this, slot, run, task, then](const absl::Status& status,
                                    const v1::CheckpointChunk& weights) {
        if (slots_[slot].run != run || !slots_[slot].running) return;
        if (observer_.on_inherit) observer_.on_inherit(id_, task, status, weights);
        world_->Trace(id_, "/", slot, " starts ", task.search_id(), " child ",
                      task.model_id(),
                      status.ok() ? absl::StrCat(" from the weights of parent ",
                                                 task.inherit_from())
                                  : absl::StrCat(" from fresh weights (",
                                                 status.message(), ")"));
        then(status.ok());
      });
}

void SimWorker::UploadWeightsThenFinish(int slot, uint64_t run,
                                        const EvaluationResult& result) {
  const v1::Task task = slots_[slot].task;
  v1::CheckpointChunk chunk;
  const std::string weights =
      SimulatedWeights(task.search_id(), task.model_id());
  *chunk.mutable_header() =
      CheckpointHeaderFor(id_, task, task.settings().epochs(), weights);
  chunk.mutable_header()->set_weights(true);
  chunk.set_data(weights);
  Send<v1::CheckpointChunk, v1::CheckpointAck>(
      Rpc::kUploadCheckpoint, chunk,
      [this, slot, run, task, result](const absl::Status& status,
                                      const v1::CheckpointAck&) {
        if (status.ok() && observer_.on_weights_ack) {
          observer_.on_weights_ack(task);
        }
        if (slots_[slot].run != run || !slots_[slot].running) return;
        Finish(slot, result);
      });
}

void SimWorker::FinishAfter(absl::Duration delay, int slot, uint64_t run,
                            const EvaluationResult& result) {
  const uint64_t generation = generation_;
  world_->After(delay, [this, generation, slot, run, result] {
    if (generation != generation_ || slots_[slot].run != run ||
        !slots_[slot].running) {
      return;
    }
    if (result.ok && slots_[slot].task.keep_weights() &&
        !core_->Cancelled(slot)) {
      UploadWeightsThenFinish(slot, run, result);
      return;
    }
    Finish(slot, result);
  });
}

void SimWorker::RunLong(int slot, uint64_t run,
                        const EvaluationResult& outcome) {
  const v1::Task task = slots_[slot].task;
  if (task.checkpoint_epoch() <= 0) {
    LongEpoch(slot, run, 1, outcome);
    return;
  }
  v1::CheckpointRequest request;
  request.set_worker_id(id_);
  request.set_search_id(task.search_id());
  request.set_model_id(task.model_id());
  request.set_attempt(task.attempt());
  Send<v1::CheckpointRequest, v1::CheckpointChunk>(
      Rpc::kDownloadCheckpoint, request,
      [this, slot, run, outcome, task](const absl::Status& status,
                                       const v1::CheckpointChunk& checkpoint) {
        if (slots_[slot].run != run || !slots_[slot].running) return;
        int from = 0;
        if (status.ok()) {
          if (observer_.on_resume) observer_.on_resume(id_, task, checkpoint);
          from = checkpoint.header().epoch();
          world_->Trace(id_, "/", slot, " resumes ", task.search_id(),
                        " child ", task.model_id(), " after epoch ", from);
        } else {
          // As the daemon: a checkpoint that cannot be fetched is lost
          // work, not a failed task.
          world_->Trace(id_, "/", slot, " starts ", task.search_id(),
                        " child ", task.model_id(),
                        " over: no checkpoint (", status.message(), ")");
        }
        LongEpoch(slot, run, from + 1, outcome);
      });
}

void SimWorker::LongEpoch(int slot, uint64_t run, int epoch,
                          const EvaluationResult& outcome) {
  const uint64_t generation = generation_;
  world_->After(behaviour_.progress, [this, generation, slot, run, epoch,
                                      outcome] {
    if (generation != generation_) return;
    Slot& s = slots_[slot];
    if (s.run != run || !s.running) return;
    if (FinishIfCancelled(slot)) return;
    const v1::Task& task = s.task;
    const int epochs = task.settings().epochs();
    if (epoch >= epochs) {
      Finish(slot, outcome);
      return;
    }
    EvaluationProgress progress;
    progress.epoch = epoch;
    progress.epochs = epochs;
    Send<v1::ProgressReport, v1::ProgressAck>(
        Rpc::kProgress, core_->Progress(task, progress),
        [this, slot, run](const absl::Status& status,
                          const v1::ProgressAck& ack) {
          if (status.ok() && slots_[slot].run == run && ack.cancel()) {
            core_->CancelSlot(slot);
          }
        });
    if (epoch % task.settings().checkpoint_every() == 0) {
      UploadCheckpoint(task, epoch);
    }
    LongEpoch(slot, run, epoch + 1, outcome);
  });
}

void SimWorker::UploadCheckpoint(const v1::Task& task, int epoch) {
  v1::CheckpointChunk chunk;
  const std::string state = SimulatedCheckpoint(task, epoch);
  *chunk.mutable_header() = CheckpointHeaderFor(id_, task, epoch, state);
  chunk.set_data(state);
  Send<v1::CheckpointChunk, v1::CheckpointAck>(
      Rpc::kUploadCheckpoint, chunk,
      [this, task](const absl::Status& status, const v1::CheckpointAck& ack) {
        if (status.ok() && observer_.on_checkpoint_ack) {
          observer_.on_checkpoint_ack(task, ack.epoch());
        }
      });
}

bool SimWorker::FinishIfCancelled(int slot) {
  if (!core_->Cancelled(slot)) return false;
  EvaluationResult cancelled;
  cancelled.cancelled = true;
  cancelled.failure = "cancelled";
  Finish(slot, cancelled);
  return true;
}

void SimWorker::ProgressTick(int slot, uint64_t run, int epoch) {
  Slot& s = slots_[slot];
  if (s.run != run || !s.running) return;
  if (FinishIfCancelled(slot)) return;
  EvaluationProgress progress;
  progress.epoch = epoch;
  progress.validation_accuracy = ValidationAt(s.task, epoch);
  const v1::ProgressReport report = core_->Progress(s.task, progress);
  Send<v1::ProgressReport, v1::ProgressAck>(
      Rpc::kProgress, report,
      [this, slot, run, epoch, progress](const absl::Status& status,
                                         const v1::ProgressAck& ack) {
        if (!status.ok() || slots_[slot].run != run) return;
        if (ack.cancel()) core_->CancelSlot(slot);
        // Told to stop: the evaluation ends now with the fitness it had at
        // that epoch (unless it ended meanwhile).
        if (ack.stop() && !ack.cancel() && slots_[slot].running) {
          EvaluationResult stopped;
          stopped.ok = true;
          stopped.fitness = progress.validation_accuracy;
          stopped.stopped_epoch = epoch;
          Finish(slot, stopped);
        }
      });
  const uint64_t generation = generation_;
  world_->After(behaviour_.progress, [this, generation, slot, run, epoch] {
    if (generation == generation_) ProgressTick(slot, run, epoch + 1);
  });
}

void SimWorker::Finish(int slot, const EvaluationResult& result) {
  Slot& s = slots_[slot];
  s.running = false;
  std::optional<v1::ResultReport> report =
      core_->Finish(slot, s.task, result, /*stopping=*/false);
  if (!report.has_value()) {
    world_->Trace(id_, "/", slot, " drops cancelled child ", s.task.model_id());
    Ask(slot);
    return;
  }
  std::string file;
  if (world_->Chance(behaviour_.spool_write_fails)) {
    world_->Trace(id_, "/", slot, " cannot spool child ", s.task.model_id());
  } else {
    absl::StatusOr<std::string> written = spool_.Write(*report);
    CHECK(written.ok()) << written.status();
    file = *written;
  }
  Deliver(*std::move(report), file, slot, [this, slot] { Ask(slot); });
}

void SimWorker::Deliver(v1::ResultReport report, std::string spool_file,
                        int slot, std::function<void()> then) {
  report.set_next_task(slot >= 0);
  *report.mutable_view() = core_->BeginRequest();
  Send<v1::ResultReport, v1::ResultAck>(
      Rpc::kResult, report,
      [this, report, spool_file, slot, then](const absl::Status& status,
                                             const v1::ResultAck& ack) {
        if (status.ok() && slot >= 0 && ack.has_next()) {
          // Held before settled, as in the daemon.
          slots_[slot].next = ack.next();
          slots_[slot].next_task = core_->TakeTask(slot, ack.next());
          if (slots_[slot].next_task.has_value() && observer_.on_take) {
            observer_.on_take(id_, *slots_[slot].next_task);
          }
        }
        core_->EndRequest(report.view().sequence());
        auto done = [&] {
          if (!spool_file.empty()) spool_.Remove(spool_file);
          core_->Delivered({report.search_id(), report.model_id(), report.attempt()});
          then();
        };
        if (status.ok()) {
          if (observer_.on_ack) observer_.on_ack(report, ack);
          done();
        } else if (status.code() == absl::StatusCode::kFailedPrecondition) {
          Register([this, report, spool_file, slot, then] {
            Deliver(report, spool_file, slot, then);
          });
        } else if (!IsTransient(status.code())) {
          world_->Trace(id_, " result of child ", report.model_id(),
                        " refused: ", status.message());
          done();
        } else {
          Backoff([this, report, spool_file, slot, then] {
            Deliver(report, spool_file, slot, then);
          });
        }
      });
}

void SimWorker::HeartbeatTick(uint64_t generation) {
  if (generation != generation_ || finished_) return;
  v1::HeartbeatRequest request;
  request.set_worker_id(id_);
  *request.mutable_view() = core_->BeginRequest();
  const uint64_t sequence = request.view().sequence();
  Send<v1::HeartbeatRequest, v1::HeartbeatResponse>(
      Rpc::kHeartbeat, request,
      [this, sequence](const absl::Status& status,
                       const v1::HeartbeatResponse& answer) {
        core_->EndRequest(sequence);
        if (status.ok()) {
          core_->Cancel(answer.cancel());
          if (answer.search_finished() && behaviour_.exit_when_finished) {
            finished_ = true;
          }
        } else if (status.code() == absl::StatusCode::kFailedPrecondition) {
          Register([] {});
        }
      });
  world_->After(behaviour_.heartbeat,
                [this, generation] { HeartbeatTick(generation); });
}

std::vector<std::string> SimWorker::ChildrenInTwoSlots() {
  std::vector<std::string> twice;
  if (!alive_) return twice;
  std::set<std::pair<std::string, int64_t>> seen;
  for (int slot = 0; slot < slot_count_; ++slot) {
    const Slot& s = slots_[slot];
    if (!s.running || core_->Cancelled(slot)) continue;
    if (!seen.insert({s.task.search_id(), s.task.model_id()}).second) {
      twice.push_back(
          absl::StrCat(s.task.search_id(), " child ", s.task.model_id()));
    }
  }
  return twice;
}

}  // namespace amoeba::sim

namespace amoeba::sim {

int SimWorker::RunningNotCancelled(const std::string& search_id) {
  if (!alive_) return 0;
  int running = 0;
  for (int slot = 0; slot < slot_count_; ++slot) {
    if (slots_[slot].running && !core_->Cancelled(slot) &&
        slots_[slot].task.search_id() == search_id) {
      ++running;
    }
  }
  return running;
}

}  // namespace amoeba::sim
