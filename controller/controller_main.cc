// amoeba-controller: runs the searches of one store as a gRPC service.
//
//   amoeba-controller --store=searches.db --listen=0.0.0.0 --port=50051
//   amoeba search create --controller=head:50051 --population_size=100 ...
//
// Searches are created at run time (CreateSearch, `amoeba search create`).
// The search flags (--algorithm, --population_size, --budget, the training
// settings, ...) still create a first search when any is given and the
// store holds none; when it holds searches, they must match the first one
// (or the one --search_id names), so restarting with the same flags resumes
// the same search, and settings that contradict the stored ones are refused
// with the name of the setting.
// SIGTERM/SIGINT: stop accepting calls, finish running ones, close the store.
#include <cstdlib>
#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "common/atomic_file.h"
#include "common/daemon_setup.h"
#include "settings/program_help.h"
#include "common/stop_signals.h"
#include "settings/search_flags.h"
#include "controller/controller.h"
#include "controller/controller_metrics.h"
#include "controller/server.h"
#include "metrics/metrics_server.h"
#include "gflags/gflags.h"
#include "glog/logging.h"

DEFINE_string(store, "amoeba_search.db", "SQLite file of the searches");
DEFINE_string(search_id, "",
              "id of the search the search flags create or resume (default: "
              "generated; on a store with searches, the first one)");
// Deprecated spelling of --search_seed, kept so that existing units start.
DEFINE_uint64(seed, 1, "deprecated: use --search_seed");
DEFINE_int32(heartbeat_s, 10, "how often workers should heartbeat");
DEFINE_string(checkpoint_dir, "",
              "where checkpoints uploaded by workers are kept (final "
              "training); empty: <store>.checkpoints beside the store");
DEFINE_string(weights_dir, "",
              "where the trained weights of searches with inheritance are "
              "kept (living models only); empty: <store>.weights beside the "
              "store");
DEFINE_int64(max_checkpoint_bytes, int64_t{4} << 30,
             "largest checkpoint a worker may upload");
DEFINE_int32(max_checkpoint_uploads, 4,
             "checkpoint uploads streaming to disk at once; more are refused "
             "and tried again at the worker's next checkpoint");
DEFINE_string(listen, "127.0.0.1", "address to listen on (0.0.0.0: all)");
DEFINE_int32(port, 50051, "port (0: any free one)");
DEFINE_string(port_file, "", "write the port listened on to this file");
DEFINE_string(token_file, "",
              "file holding the shared token that worker and admin RPCs must "
              "carry (read-only RPCs stay open)");
DEFINE_int32(max_watchers, 64,
             "WatchEvents streams served at once (each holds a thread)");
DEFINE_bool(insecure, false,
            "allow listening beyond loopback without --token_file (logged "
            "as a warning)");
DEFINE_string(tls_cert, "", "PEM certificate (enables TLS)");
DEFINE_string(tls_key, "", "PEM private key");
DEFINE_string(metrics_listen, "",
              "HOST:PORT to export Prometheus metrics on (GET /metrics; "
              "port 0: any free one); empty: off. Loopback unless you "
              "give another address");
DEFINE_string(metrics_port_file, "",
              "write the metrics port listened on to this file");
DEFINE_string(tls_client_ca, "", "PEM CA of client certificates (mutual TLS)");

namespace {

int Fail(const std::string& message) {
  LOG(ERROR) << message;
  std::cerr << "amoeba-controller: " << message << std::endl;
  return 2;
}

// The lease and retry settings new searches get unless they say otherwise.
absl::StatusOr<amoeba::ControllerDefaults> DefaultsFromFlags() {
  amoeba::ControllerDefaults defaults;
  defaults.lease_timeout = absl::Seconds(FLAGS_lease_timeout_s);
  defaults.heartbeat_interval = absl::Seconds(FLAGS_heartbeat_s);
  defaults.max_attempts = FLAGS_max_attempts;
  if (defaults.lease_timeout < absl::Milliseconds(100) ||
      defaults.heartbeat_interval <= absl::ZeroDuration() ||
      defaults.heartbeat_interval >= defaults.lease_timeout) {
    return absl::InvalidArgumentError(
        "--heartbeat_s must be positive and shorter than --lease_timeout_s");
  }
  return defaults;
}

// The first search the flags describe, or nullopt when no search flag is
// given. The same flags, conversion and checks as `amoeba search create`
// and the CreateSearch RPC (SearchOptionsFromConfig validates).
absl::StatusOr<std::optional<amoeba::SearchOptions>> FirstSearchFromFlags(
    const amoeba::ControllerDefaults& defaults) {
  amoeba::v1::SearchConfig config = amoeba::SearchConfigFromFlags();
  if (amoeba::FlagGiven("seed")) {
    if (amoeba::FlagGiven("search_seed")) {
      return absl::InvalidArgumentError(
          "give --search_seed only (--seed is its old name)");
    }
    LOG(WARNING) << "--seed is deprecated: use --search_seed";
    config.set_seed(FLAGS_seed);
  }
  if (!amoeba::SearchFlagsGiven() && !amoeba::FlagGiven("search_id") &&
      !amoeba::FlagGiven("seed")) {
    return std::nullopt;
  }
  auto options = amoeba::SearchOptionsFromConfig(config, defaults);
  if (!options.ok()) return options.status();
  return std::optional<amoeba::SearchOptions>(*std::move(options));
}

// Where and how to listen. Refused (before the store is created or
// locked) when it would listen beyond loopback without a token.
absl::StatusOr<amoeba::ControllerServer::Spec> ServerSpecFromFlags() {
  amoeba::ControllerServer::Spec spec;
  if (!FLAGS_token_file.empty()) {
    auto token = amoeba::ReadTokenFile(FLAGS_token_file);
    if (!token.ok()) return token.status();
    spec.token = *std::move(token);
  }
  spec.address = FLAGS_listen;
  spec.port = FLAGS_port;
  spec.insecure = FLAGS_insecure;
  spec.max_watchers = FLAGS_max_watchers;
  spec.tls_cert_file = FLAGS_tls_cert;
  spec.tls_key_file = FLAGS_tls_key;
  spec.tls_client_ca_file = FLAGS_tls_client_ca;
  if (auto s = amoeba::ControllerServer::CheckSecurity(spec); !s.ok()) return s;
  return spec;
}

// The store, its checkpoints and the controller over them, with the first
// search created (or checked against the stored one) when the flags give one.
absl::StatusOr<std::unique_ptr<amoeba::Controller>> OpenController(
    const amoeba::ControllerDefaults& defaults,
    const std::optional<amoeba::SearchOptions>& first_search) {
  auto store = amoeba::Store::Open(FLAGS_store);
  if (!store.ok()) return store.status();
  const std::string checkpoint_dir = FLAGS_checkpoint_dir.empty()
                                         ? FLAGS_store + ".checkpoints"
                                         : FLAGS_checkpoint_dir;
  auto checkpoints = amoeba::CheckpointStore::Open(
      {checkpoint_dir, FLAGS_max_checkpoint_bytes,
       FLAGS_max_checkpoint_uploads});
  if (!checkpoints.ok()) {
    return absl::Status(
        checkpoints.status().code(),
        absl::StrCat("--checkpoint_dir / --max_checkpoint_bytes / "
                     "--max_checkpoint_uploads: ",
                     checkpoints.status().message()));
  }
  // Weights are saved models, far smaller than training states; the same
  // limits apply.
  auto weights = amoeba::CheckpointStore::Open(
      {FLAGS_weights_dir.empty() ? FLAGS_store + ".weights" : FLAGS_weights_dir,
       FLAGS_max_checkpoint_bytes, FLAGS_max_checkpoint_uploads});
  if (!weights.ok()) {
    return absl::Status(
        weights.status().code(),
        absl::StrCat("--weights_dir: ", weights.status().message()));
  }
  auto controller = amoeba::Controller::Open(
      std::move(*store), defaults, amoeba::Clock::Real(),
      std::move(*checkpoints), std::move(*weights));
  if (!controller.ok()) return controller.status();
  if (first_search.has_value()) {
    auto search =
        (*controller)->CreateOrCheckFirstSearch(FLAGS_search_id, *first_search);
    if (!search.ok()) return search.status();
  } else if ((*controller)->Searches().empty()) {
    LOG(INFO) << "no search yet: create one with `amoeba search create` or "
                 "the CreateSearch RPC";
  }
  return controller;
}

// A line per search every 30 s until `stop`. The controller never stops on
// its own when its searches finish: operators query finished searches.
void LogUntilStopped(amoeba::Controller& controller, absl::Notification& stop) {
  while (!stop.WaitForNotificationWithTimeout(absl::Seconds(30))) {
    for (amoeba::Search* search : controller.Searches()) {
      const auto status = search->Status();
      LOG(INFO) << "search " << status.search_id() << ": "
                << amoeba::v1::SearchState_Name(status.state()) << ", "
                << status.done() << "/" << status.config().budget()
                << " done, " << status.running() << " running, "
                << status.failed() << " failed, best "
                << status.best().fitness() << ", workers online "
                << status.workers_online();
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  const std::string usage =
      "amoeba-controller: runs the searches of a store (docs/operations.md)";
  if (amoeba::PrintHelpIfAsked(
          argc, argv, usage,
          {"controller/controller_main.cc", "settings/search_flags.cc",
           "settings/training_flags.cc"})) {
    return 0;
  }
  gflags::SetUsageMessage(usage);
  gflags::ParseCommandLineFlags(&argc, &argv, true);
  amoeba::DisableMutexDeadlockDetection();
  FLAGS_logtostderr = true;
  google::InitGoogleLogging(argv[0]);

  const auto defaults = DefaultsFromFlags();
  if (!defaults.ok()) return Fail(std::string(defaults.status().message()));
  const auto first_search = FirstSearchFromFlags(*defaults);
  if (!first_search.ok()) return Fail(std::string(first_search.status().message()));
  auto spec = ServerSpecFromFlags();
  if (!spec.ok()) return Fail(std::string(spec.status().message()));
  // Bound before the store is opened: a metrics port in use refuses the
  // start with nothing touched.
  std::unique_ptr<amoeba::MetricsServer> metrics_server;
  if (!FLAGS_metrics_listen.empty()) {
    auto started = amoeba::MetricsServer::Start({FLAGS_metrics_listen});
    if (!started.ok()) {
      return Fail(absl::StrCat("--metrics_listen: ", started.status().message()));
    }
    metrics_server = *std::move(started);
  }
  auto controller = OpenController(*defaults, *first_search);
  if (!controller.ok()) return Fail(std::string(controller.status().message()));
  // On every way out, scrapes stop before the controller goes.
  struct StopServingFirst {
    std::unique_ptr<amoeba::MetricsServer>& server;
    ~StopServingFirst() { server.reset(); }
  } stop_serving_first{metrics_server};
  std::unique_ptr<amoeba::ControllerMetrics> metrics;
  if (metrics_server != nullptr) {
    metrics = std::make_unique<amoeba::ControllerMetrics>(controller->get(),
                                                          *metrics_server);
    spec->metrics = metrics.get();
    LOG(INFO) << "metrics on " << FLAGS_metrics_listen << " (port "
              << metrics_server->port() << "), GET /metrics";
    if (!FLAGS_metrics_port_file.empty()) {
      const absl::Status written = amoeba::WriteFileAtomically(
          FLAGS_metrics_port_file, absl::StrCat(metrics_server->port(), "\n"));
      if (!written.ok()) {
        return Fail(absl::StrCat("--metrics_port_file: ", written.message()));
      }
    }
  }
  auto server = amoeba::ControllerServer::Start(*spec, controller->get());
  if (!server.ok()) return Fail(std::string(server.status().message()));
  if (!FLAGS_port_file.empty()) {
    const absl::Status written = amoeba::WriteFileAtomically(
        FLAGS_port_file, absl::StrCat((*server)->port(), "\n"));
    if (!written.ok()) return Fail(absl::StrCat("--port_file: ", written.message()));
  }

  absl::Notification stop;
  amoeba::StopOnSignals signals(&stop);
  LogUntilStopped(**controller, stop);
  LOG(INFO) << "shutting down";
  (*server)->Shutdown(absl::Seconds(10));
  server->reset();
  // No scrape may read the controller once it is gone.
  metrics_server.reset();
  metrics.reset();
  controller->reset();  // closes the store after its last group commit
  LOG(INFO) << "stopped cleanly";
  return 0;
}
