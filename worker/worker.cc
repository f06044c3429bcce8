#include "worker/worker.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "glog/logging.h"
#include "settings/recipes.h"
#include "worker/worker_metrics.h"

namespace amoeba {
namespace {

absl::Status FromGrpc(const grpc::Status& s) {
  return absl::Status(static_cast<absl::StatusCode>(s.error_code()),
                      s.error_message());
}

bool Transient(grpc::StatusCode code) {
  return IsTransient(static_cast<absl::StatusCode>(code));
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

}  // namespace

Worker::Worker(WorkerOptions options, std::unique_ptr<Evaluator> evaluator)
    : options_(std::move(options)),
      evaluator_(std::move(evaluator)),
      spool_(options_.spool_dir) {}

std::unique_ptr<grpc::ClientContext> Worker::Context() const {
  auto context = std::make_unique<grpc::ClientContext>();
  if (!options_.token.empty()) {
    context->AddMetadata("authorization", "Bearer " + options_.token);
  }
  context->set_deadline(std::chrono::system_clock::now() +
                        absl::ToChronoMilliseconds(options_.rpc_deadline));
  return context;
}

bool Worker::Backoff(int failures, const std::string& why,
                     absl::Notification* stop) {
  if (options_.metrics != nullptr) options_.metrics->ControllerUnreachable();
  thread_local std::mt19937_64 jitter(std::random_device{}());
  const double base = absl::ToDoubleSeconds(options_.initial_backoff) *
                      std::pow(2.0, std::min(failures - 1, 16));
  const double capped =
      std::min(base, absl::ToDoubleSeconds(options_.max_backoff));
  // Jitter below the cap, so no wait exceeds --max_backoff_s.
  const double wait =
      capped * std::uniform_real_distribution<double>(0.5, 1.0)(jitter);
  LOG(WARNING) << why << "; retrying in " << absl::StrFormat("%.1f", wait)
               << "s (attempt " << failures << ")";
  return !stop->WaitForNotificationWithTimeout(absl::Seconds(wait));
}

absl::Status Worker::RegisterWithBackoff(absl::Notification* stop) {
  v1::RegisterRequest request;
  request.set_worker_id(options_.worker_id);
  char host[256] = {0};
  gethostname(host, sizeof(host) - 1);
  request.set_host(host);
  request.set_device(options_.device);
  request.set_capacity(options_.slots);
  request.set_evaluator(evaluator_->name());
  request.set_incarnation(core_->incarnation());
  request.add_features(kTrainingRecipeFeature);
  request.add_features(kWeightInheritanceFeature);
  for (int failures = 1; !stop->HasBeenNotified(); ++failures) {
    v1::RegisterResponse response;
    const grpc::Status s = stub_->Register(Context().get(), request, &response);
    if (s.ok()) {
      heartbeat_ms_ = std::max(100, response.heartbeat_interval_ms());
      LOG(INFO) << "registered with " << options_.controller << " as "
                << options_.worker_id << " (" << options_.slots << " slot(s), "
                << evaluator_->name() << " evaluator)";
      return absl::OkStatus();
    }
    if (s.error_code() == grpc::StatusCode::UNAUTHENTICATED ||
        s.error_code() == grpc::StatusCode::PERMISSION_DENIED) {
      LOG(ERROR) << "the controller refused this worker: " << s.error_message()
                 << " (check --token_file)";
      refused_ = true;
      return FromGrpc(s);
    }
    if (!Transient(s.error_code())) return FromGrpc(s);
    if (!Backoff(failures,
                 absl::StrCat("controller ", options_.controller,
                              " unreachable (", s.error_message(), ")"),
                 stop)) {
      break;
    }
  }
  return absl::CancelledError("stopped before registering");
}

bool Worker::Deliver(v1::ResultReport report, const std::string& spool_file,
                     absl::Notification* stop, int slot,
                     std::optional<NextAnswer>* next) {
  report.set_next_task(next != nullptr);
  const TaskKey key{report.search_id(), report.model_id(), report.attempt()};
  // `child_done`: the controller acknowledged this success, recorded or
  // not (a success goes unrecorded only when its child is finished), so it is
  // done and its checkpoint may go. Anything else keeps the checkpoint:
  // after a failure the child is retried from it, and a result refused for
  // good says nothing of the child, which another worker may be training
  // from it.
  auto done = [&](bool child_done) {
    if (!spool_file.empty()) spool_.Remove(spool_file);
    if (child_done) checkpointer_->Forget(key.search_id, key.child);
    core_->Delivered(key);
    return true;
  };
  for (int failures = 1;; ++failures) {
    *report.mutable_view() = core_->BeginRequest();
    v1::ResultAck ack;
    const grpc::Status s = stub_->ReportResult(Context().get(), report, &ack);
    // The task in the answer is held before the request counts as settled:
    // a view sent in between by another slot would otherwise call its lease
    // an orphan.
    if (s.ok() && next != nullptr && ack.has_next()) {
      *next = NextAnswer{ack.next(), core_->TakeTask(slot, ack.next())};
    }
    core_->EndRequest(report.view().sequence());
    if (s.ok()) {
      if (report.ok() && ack.recorded()) ++delivered_;
      if (!ack.recorded()) {
        LOG(INFO) << "result of child " << key.child << " attempt " << key.attempt
                  << " not recorded (finished elsewhere, or a stale attempt)";
      }
      // A controller that predates next_task leaves `next` unset; the slot
      // then asks with GetTask as before.
      return done(report.ok());
    }
    if (s.error_code() == grpc::StatusCode::FAILED_PRECONDITION) {
      // The controller restarted and no longer knows us.
      if (!RegisterWithBackoff(stop).ok()) return false;
      continue;
    }
    if (!Transient(s.error_code())) {
      LOG(ERROR) << "controller rejected the result of child " << key.child << ": "
                 << s.error_message() << "; dropping it";
      return done(/*child_done=*/false);
    }
    if (stop->HasBeenNotified()) {
      LOG(WARNING) << "stopping with the result of child " << key.child
                   << (spool_file.empty()
                           ? " unsent (its spool write had failed): it is lost"
                           : " still spooled in " + spool_file +
                                 "; it is sent at the next start");
      return false;
    }
    if (!Backoff(failures,
                 absl::StrCat("cannot deliver the result of child ", key.child,
                              " (", s.error_message(), ")"),
                 stop)) {
      return false;
    }
  }
}

void Worker::DeliverSpool(absl::Notification* stop) {
  for (const std::string& file : spool_.List()) {
    absl::StatusOr<v1::ResultReport> report = spool_.Read(file);
    if (!report.ok()) {
      LOG(ERROR) << report.status() << "; removing it";
      spool_.Remove(file);
      continue;
    }
    LOG(INFO) << "delivering spooled result " << file;
    if (!Deliver(*std::move(report), file, stop)) return;
  }
}

void Worker::HeartbeatLoop(absl::Notification* stop) {
  // Short waits so the loop ends soon after the slots do.
  absl::Time next = absl::Now() + absl::Milliseconds(heartbeat_ms_.load());
  while (!slots_done_) {
    if (stop->WaitForNotificationWithTimeout(absl::Milliseconds(50))) return;
    if (absl::Now() < next) continue;
    next = absl::Now() + absl::Milliseconds(heartbeat_ms_.load());
    v1::HeartbeatRequest request;
    request.set_worker_id(options_.worker_id);
    *request.mutable_view() = core_->BeginRequest();
    v1::HeartbeatResponse response;
    const grpc::Status s =
        stub_->Heartbeat(Context().get(), request, &response);
    core_->EndRequest(request.view().sequence());
    if (s.ok()) core_->Cancel(response.cancel());
    if (s.error_code() == grpc::StatusCode::FAILED_PRECONDITION) {
      RegisterWithBackoff(stop).IgnoreError();
    }
  }
}

bool Worker::NextTask(int slot, absl::Notification* stop,
                      std::optional<NextAnswer>* next, v1::Task* task) {
  for (int failures = 0; !stop->HasBeenNotified() && !finished_ && !refused_;) {
    v1::GetTaskResponse response;
    std::optional<v1::Task> taken;
    if (next->has_value()) {
      response = std::move((*next)->response);
      taken = std::move((*next)->task);
      next->reset();
    } else {
      v1::GetTaskRequest request;
      request.set_worker_id(options_.worker_id);
      *request.mutable_view() = core_->BeginRequest();
      const grpc::Status s =
          stub_->GetTask(Context().get(), request, &response);
      // Held before settled (see Deliver).
      if (s.ok()) taken = core_->TakeTask(slot, response);
      core_->EndRequest(request.view().sequence());
      if (s.error_code() == grpc::StatusCode::FAILED_PRECONDITION) {
        if (!RegisterWithBackoff(stop).ok()) return false;
        continue;
      }
      if (s.error_code() == grpc::StatusCode::UNAUTHENTICATED) {
        LOG(ERROR) << "the controller refused this worker: "
                   << s.error_message();
        refused_ = true;
        return false;
      }
      if (!s.ok()) {
        if (!Backoff(++failures,
                     absl::StrCat("slot ", slot, ": controller ",
                                  options_.controller, " unreachable (",
                                  s.error_message(), ")"),
                     stop)) {
          return false;
        }
        continue;
      }
      if (failures > 0) {
        LOG(INFO) << "slot " << slot << ": controller reachable again";
        failures = 0;
        DeliverSpool(stop);
      }
    }
    if (taken.has_value()) {
      *task = *std::move(taken);
      return true;
    }
    if (response.search_finished() && options_.exit_when_finished) {
      LOG(INFO) << "every search of the controller is finished";
      finished_ = true;
      return false;
    }
    if (!response.has_task()) {
      // Nothing left anywhere: ask less often until a search is created.
      const int wait_ms = std::max(response.search_finished() ? 5000 : 10,
                                   response.retry_after_ms());
      stop->WaitForNotificationWithTimeout(absl::Milliseconds(wait_ms));
    }
  }
  return false;
}

std::optional<v1::ResultReport> Worker::RunTask(int slot, const v1::Task& task,
                                                absl::Notification* stop) {
  LOG(INFO) << "slot " << slot << ": received child " << task.model_id()
            << " (attempt " << task.attempt() << ")";
  EvaluationCallbacks callbacks;
  callbacks.should_cancel = [&] {
    return stop->HasBeenNotified() || core_->Cancelled(slot);
  };
  // The epoch the controller said to stop at (early stopping), asked by
  // the evaluator right after it reported that epoch. A report that did not
  // get through stops nothing: the child trains on.
  int stop_at_epoch = 0;
  WorkerMetrics* const metrics = options_.metrics;
  absl::Time epoch_start = absl::Now();
  callbacks.on_progress = [&](const EvaluationProgress& p) {
    if (metrics != nullptr) {
      const absl::Time now = absl::Now();
      metrics->EpochDone(now - epoch_start, p.images_per_second);
      epoch_start = now;
    }
    const v1::ProgressReport report = core_->Progress(task, p);
    v1::ProgressAck ack;
    if (!stub_->ReportProgress(Context().get(), report, &ack).ok()) return;
    if (ack.cancel()) core_->CancelSlot(slot);
    if (ack.stop()) stop_at_epoch = p.epoch;
  };
  callbacks.stop_early = [&](const EvaluationProgress& p) {
    return stop_at_epoch != 0 && stop_at_epoch == p.epoch;
  };
  AddCheckpointCallbacks(task, &callbacks);
  AddWeightCallbacks(task, &callbacks);
  const absl::Time start = absl::Now();
  if (metrics != nullptr) metrics->SlotStarted();
  const EvaluationResult result = evaluator_->Evaluate(task, callbacks);
  std::optional<v1::ResultReport> report =
      core_->Finish(slot, task, result, stop->HasBeenNotified());
  if (metrics != nullptr) {
    metrics->SlotEnded();
    using Outcome = WorkerMetrics::Outcome;
    metrics->Finished(
        !report.has_value() ? Outcome::kCancelled
        : report->ok()      ? Outcome::kDone
        : report->preempted() || !report->missing_data().empty()
            ? Outcome::kHandedBack
            : Outcome::kFailed,
        absl::Now() - start);
  }
  if (!report.has_value()) {
    LOG(INFO) << "slot " << slot << ": child " << task.model_id()
              << " cancelled by the controller";
  } else if (result.ok) {
    LOG(INFO) << "slot " << slot << ": child " << task.model_id()
              << (result.stopped_epoch > 0
                      ? absl::StrCat(" stopped early at epoch ",
                                     result.stopped_epoch)
                      : std::string(" finished"))
              << ": fitness " << result.fitness << " in "
              << absl::FormatDuration(
                     absl::Trunc(absl::Now() - start, absl::Milliseconds(100)));
  } else {
    LOG(WARNING) << "slot " << slot << ": child " << task.model_id()
                 << " failed: " << report->failure();
  }
  return report;
}

void Worker::SlotLoop(int slot, absl::Notification* stop) {
  // The answer that came with the last result's ack, if any: it stands for
  // a GetTask call.
  std::optional<NextAnswer> next;
  v1::Task task;
  while (NextTask(slot, stop, &next, &task)) {
    std::optional<v1::ResultReport> report = RunTask(slot, task, stop);
    if (!report.has_value()) continue;
    absl::StatusOr<std::string> file = spool_.Write(*report);
    if (!file.ok()) {
      LOG(ERROR) << file.status()
                 << "; sending the result without a spool copy";
    }
    // A stopping worker asks for nothing more.
    const bool stopping = stop->HasBeenNotified();
    if (!Deliver(*std::move(report), file.ok() ? *file : "", stop,
                 stopping ? -1 : slot, stopping ? nullptr : &next)) {
      break;
    }
  }
  // Stopped while a task came with the last ack: hand it back at once
  // rather than let its lease run out.
  if (next.has_value() && next->task.has_value()) HandBack(slot, *next->task);
}

void Worker::HandBack(int slot, const v1::Task& task) {
  EvaluationResult unstarted;
  unstarted.cancelled = true;
  std::optional<v1::ResultReport> report =
      core_->Finish(slot, task, unstarted, /*stopping=*/true);
  if (!report.has_value()) return;
  report->set_failure("worker stopping (handed back unstarted)");
  *report->mutable_view() = core_->BeginRequest();
  v1::ResultAck ack;
  const grpc::Status s = stub_->ReportResult(Context().get(), *report, &ack);
  core_->EndRequest(report->view().sequence());
  core_->Delivered(TaskKey::Of(task));
  LOG(INFO) << "handed child " << task.model_id() << " back unstarted"
            << (s.ok() ? "" : " (not reached: its lease will expire)");
}

absl::Status Worker::Run(absl::Notification* stop) {
  if (options_.slots < 1 || options_.slots > 64) {
    return absl::InvalidArgumentError(
        absl::StrCat("--slots must be in 1..64, got ", options_.slots));
  }
  if (options_.worker_id.empty()) {
    return absl::InvalidArgumentError("worker id is empty");
  }
  if (absl::Status s = spool_.Init(); !s.ok()) return s;
  // The start time in microseconds, or more: larger than any earlier
  // process of this worker recorded in its spool, so the controller tells
  // this incarnation from those even if the clock went back.
  absl::StatusOr<uint64_t> incarnation = spool_.NextIncarnation(
      static_cast<uint64_t>(absl::ToUnixMicros(absl::Now())));
  if (!incarnation.ok()) return incarnation.status();
  core_ = std::make_unique<WorkerCore>(options_.worker_id, options_.slots,
                                       *incarnation, evaluator_->name());
  std::shared_ptr<grpc::ChannelCredentials> credentials =
      grpc::InsecureChannelCredentials();
  if (!options_.tls_ca_file.empty()) {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = ReadFile(options_.tls_ca_file);
    if (!options_.tls_cert_file.empty()) {
      ssl.pem_cert_chain = ReadFile(options_.tls_cert_file);
      ssl.pem_private_key = ReadFile(options_.tls_key_file);
    }
    credentials = grpc::SslCredentials(ssl);
  }
  // gRPC's own reconnect backoff grows to 120 s by default, whatever our
  // retry loop does: a worker then came back up to ~90 s after the
  // controller did. Capping it at max_backoff keeps the promise of the flag.
  grpc::ChannelArguments arguments;
  // gRPC adds up to 20% jitter on top of its maximum.
  const int max_backoff_ms = static_cast<int>(std::max<int64_t>(
      100, absl::ToInt64Milliseconds(options_.max_backoff) * 4 / 5));
  const int initial_backoff_ms = static_cast<int>(std::min<int64_t>(
      max_backoff_ms, std::max<int64_t>(100, absl::ToInt64Milliseconds(
                                                 options_.initial_backoff))));
  arguments.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, initial_backoff_ms);
  arguments.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, initial_backoff_ms);
  arguments.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, max_backoff_ms);
  channel_ =
      grpc::CreateCustomChannel(options_.controller, credentials, arguments);
  stub_ = v1::Controller::NewStub(channel_);
  if (options_.checkpoint_dir.empty()) {
    checkpointer_ = std::make_unique<ControllerCheckpointer>(
        stub_.get(), options_.worker_id,
        [this] { return Context(); }, options_.checkpoint_deadline);
  } else {
    checkpointer_ = std::make_unique<FolderCheckpointer>(options_.checkpoint_dir);
  }
  // Weights always travel through the controller, which knows which models
  // are alive.
  weights_ = std::make_unique<ControllerCheckpointer>(
      stub_.get(), options_.worker_id, [this] { return Context(); },
      options_.checkpoint_deadline, Carries::kWeights);

  absl::Status registered = RegisterWithBackoff(stop);
  if (!registered.ok()) {
    return stop->HasBeenNotified() ? absl::OkStatus() : registered;
  }
  DeliverSpool(stop);
  std::thread heartbeat([this, stop] { HeartbeatLoop(stop); });
  std::vector<std::thread> slots;
  for (int i = 0; i < options_.slots; ++i) {
    slots.emplace_back([this, i, stop] { SlotLoop(i, stop); });
  }
  for (auto& t : slots) t.join();
  slots_done_ = true;
  heartbeat.join();
  if (refused_) {
    return absl::UnauthenticatedError("the controller refused this worker");
  }
  LOG(INFO) << "worker done: " << delivered_ << " result(s) delivered";
  return absl::OkStatus();
}

}  // namespace amoeba
