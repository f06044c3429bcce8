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

namespace amoeba {
namespace {

absl::Status FromGrpc(const grpc::Status& s) {
  return absl::Status(static_cast<absl::StatusCode>(s.error_code()),
                      s.error_message());
}

bool Transient(grpc::StatusCode code) {
  return code == grpc::StatusCode::UNAVAILABLE ||
         code == grpc::StatusCode::DEADLINE_EXCEEDED ||
         code == grpc::StatusCode::INTERNAL ||
         code == grpc::StatusCode::RESOURCE_EXHAUSTED ||
         code == grpc::StatusCode::ABORTED || code == grpc::StatusCode::UNKNOWN ||
         code == grpc::StatusCode::CANCELLED;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// Writes `data` to `path` atomically and durably (temporary file, fsync,
// rename, fsync of the folder).
bool WriteDurably(const std::string& dir, const std::string& path,
                  const std::string& data) {
  const std::string tmp = path + ".tmp";
  const int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) return false;
  bool ok = write(fd, data.data(), data.size()) ==
            static_cast<ssize_t>(data.size());
  ok = ok && fsync(fd) == 0;
  close(fd);
  ok = ok && std::rename(tmp.c_str(), path.c_str()) == 0;
  const int dir_fd = open(dir.c_str(), O_RDONLY);
  if (dir_fd >= 0) {
    fsync(dir_fd);
    close(dir_fd);
  }
  return ok;
}

std::vector<std::string> SpoolFiles(const std::string& dir) {
  std::vector<std::string> files;
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return files;
  while (dirent* entry = readdir(d)) {
    const std::string name = entry->d_name;
    if (absl::EndsWith(name, ".result")) files.push_back(dir + "/" + name);
  }
  closedir(d);
  return files;
}

}  // namespace

Worker::Worker(WorkerOptions options, std::unique_ptr<Evaluator> evaluator)
    : options_(std::move(options)), evaluator_(std::move(evaluator)) {}

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
  thread_local std::mt19937_64 jitter(std::random_device{}());
  const double base = absl::ToDoubleSeconds(options_.initial_backoff) *
                      std::pow(2.0, std::min(failures - 1, 16));
  const double capped = std::min(base, absl::ToDoubleSeconds(options_.max_backoff));
  const double wait =
      capped * std::uniform_real_distribution<double>(0.5, 1.5)(jitter);
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

bool Worker::Deliver(const std::string& spool_file, absl::Notification* stop,
                     std::optional<v1::GetTaskResponse>* next) {
  v1::ResultReport report;
  if (!report.ParseFromString(ReadFile(spool_file))) {
    LOG(ERROR) << "spool file " << spool_file << " is corrupt; removing it";
    std::remove(spool_file.c_str());
    return true;
  }
  report.set_next_task(next != nullptr);
  for (int failures = 1;; ++failures) {
    v1::ResultAck ack;
    const grpc::Status s = stub_->ReportResult(Context().get(), report, &ack);
    if (s.ok()) {
      if (report.ok() && ack.recorded()) ++delivered_;
      if (!ack.recorded()) {
        LOG(INFO) << "result of child " << report.model_id()
                  << " was a duplicate (another worker finished it first)";
      }
      // A controller that predates next_task leaves `next` unset; the slot
      // then asks with GetTask as before.
      if (next != nullptr && ack.has_next()) *next = ack.next();
      std::remove(spool_file.c_str());
      return true;
    }
    if (s.error_code() == grpc::StatusCode::FAILED_PRECONDITION) {
      // The controller restarted and no longer knows us.
      if (!RegisterWithBackoff(stop).ok()) return false;
      continue;
    }
    if (!Transient(s.error_code())) {
      LOG(ERROR) << "controller rejected the result of child "
                 << report.model_id() << ": " << s.error_message()
                 << "; dropping it";
      std::remove(spool_file.c_str());
      return true;
    }
    if (stop->HasBeenNotified()) {
      LOG(WARNING) << "stopping with the result of child " << report.model_id()
                   << " still spooled in " << spool_file
                   << "; it is sent at the next start";
      return false;
    }
    if (!Backoff(failures,
                 absl::StrCat("cannot deliver the result of child ",
                              report.model_id(), " (", s.error_message(), ")"),
                 stop)) {
      return false;
    }
  }
}

void Worker::DeliverSpool(absl::Notification* stop) {
  for (const std::string& file : SpoolFiles(options_.spool_dir)) {
    LOG(INFO) << "delivering spooled result " << file;
    if (!Deliver(file, stop)) return;
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
    v1::HeartbeatResponse response;
    const grpc::Status s = stub_->Heartbeat(Context().get(), request, &response);
    if (s.error_code() == grpc::StatusCode::FAILED_PRECONDITION) {
      RegisterWithBackoff(stop).IgnoreError();
    }
  }
}

void Worker::SlotLoop(int slot, absl::Notification* stop) {
  int failures = 0;
  // The answer that came with the last result's ack, if any: it stands for a
  // GetTask call.
  std::optional<v1::GetTaskResponse> next;
  while (!stop->HasBeenNotified() && !finished_ && !refused_) {
    v1::GetTaskResponse response;
    grpc::Status s;
    if (next.has_value()) {
      response = std::move(*next);
      next.reset();
    } else {
      v1::GetTaskRequest request;
      request.set_worker_id(options_.worker_id);
      s = stub_->GetTask(Context().get(), request, &response);
    }
    if (!s.ok()) {
      if (s.error_code() == grpc::StatusCode::FAILED_PRECONDITION) {
        if (!RegisterWithBackoff(stop).ok()) return;
        continue;
      }
      if (s.error_code() == grpc::StatusCode::UNAUTHENTICATED) {
        LOG(ERROR) << "the controller refused this worker: " << s.error_message();
        refused_ = true;
        return;
      }
      if (!Backoff(++failures,
                   absl::StrCat("slot ", slot, ": controller ",
                                options_.controller, " unreachable (",
                                s.error_message(), ")"),
                   stop)) {
        return;
      }
      continue;
    }
    if (failures > 0) {
      LOG(INFO) << "slot " << slot << ": controller reachable again";
      failures = 0;
      DeliverSpool(stop);
    }
    if (response.search_finished()) {
      LOG(INFO) << "the search is finished";
      finished_ = true;
      return;
    }
    if (!response.has_task()) {
      stop->WaitForNotificationWithTimeout(
          absl::Milliseconds(std::max(10, response.retry_after_ms())));
      continue;
    }
    const v1::Task& task = response.task();
    LOG(INFO) << "slot " << slot << ": received child " << task.model_id()
              << " (attempt " << task.attempt() << ")";
    std::atomic<bool> cancelled_by_controller{false};
    EvaluationCallbacks callbacks;
    callbacks.should_cancel = [&] {
      return stop->HasBeenNotified() || cancelled_by_controller.load();
    };
    callbacks.on_progress = [&](const EvaluationProgress& p) {
      v1::ProgressReport report;
      report.set_worker_id(options_.worker_id);
      report.set_model_id(task.model_id());
      report.set_attempt(task.attempt());
      report.set_epoch(p.epoch);
      report.set_epochs(p.epochs);
      report.set_train_loss(p.train_loss);
      report.set_train_accuracy(p.train_accuracy);
      report.set_validation_accuracy(p.validation_accuracy);
      report.set_images_per_second(p.images_per_second);
      v1::ProgressAck ack;
      if (stub_->ReportProgress(Context().get(), report, &ack).ok() && ack.cancel()) {
        LOG(INFO) << "controller cancelled child " << task.model_id();
        cancelled_by_controller = true;
      }
    };
    const absl::Time start = absl::Now();
    const EvaluationResult result = evaluator_->Evaluate(task, callbacks);
    if (cancelled_by_controller) continue;  // reassigned or stopped: moot
    v1::ResultReport report = ReportFor(task);
    report.set_ok(result.ok);
    report.set_fitness(result.fitness);
    report.set_parameters(result.parameters);
    report.set_multiply_adds(result.multiply_adds);
    report.set_train_seconds(result.train_seconds);
    report.set_images_per_second(result.images_per_second);
    report.set_diverged(result.diverged);
    report.set_failure(result.cancelled && stop->HasBeenNotified()
                           ? "worker stopping"
                           : result.failure);
    if (result.ok) {
      LOG(INFO) << "slot " << slot << ": child " << task.model_id()
                << " finished: fitness " << result.fitness << " in "
                << absl::FormatDuration(absl::Trunc(absl::Now() - start,
                                                    absl::Milliseconds(100)));
    } else {
      LOG(WARNING) << "slot " << slot << ": child " << task.model_id()
                   << " failed: " << report.failure();
    }
    const std::string file =
        absl::StrFormat("%s/%d-%d.result", options_.spool_dir, task.model_id(),
                        task.attempt());
    if (!WriteDurably(options_.spool_dir, file, report.SerializeAsString())) {
      LOG(ERROR) << "cannot write spool file " << file
                 << "; sending the result without a spool copy";
    }
    // A stopping worker asks for nothing more.
    if (!Deliver(file, stop, stop->HasBeenNotified() ? nullptr : &next)) return;
  }
  // Stopped while a child came with the last ack: hand it back at once
  // rather than let its lease run out.
  if (next.has_value() && next->has_task()) ReleaseUnstarted(next->task());
}

v1::ResultReport Worker::ReportFor(const v1::Task& task) const {
  v1::ResultReport report;
  report.set_worker_id(options_.worker_id);
  report.set_model_id(task.model_id());
  report.set_attempt(task.attempt());
  report.set_evaluator(evaluator_->name());
  return report;
}

void Worker::ReleaseUnstarted(const v1::Task& task) {
  v1::ResultReport report = ReportFor(task);
  report.set_ok(false);
  report.set_failure("worker stopping");
  v1::ResultAck ack;
  const grpc::Status s = stub_->ReportResult(Context().get(), report, &ack);
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
  mkdir(options_.spool_dir.c_str(), 0755);
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
  channel_ = grpc::CreateChannel(options_.controller, credentials);
  stub_ = v1::Controller::NewStub(channel_);

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
