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
#include <fstream>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "common/daemon_setup.h"
#include "common/stop_signals.h"
#include "common/training_flags.h"
#include "controller/controller.h"
#include "controller/service.h"
#include "gflags/gflags.h"
#include "glog/logging.h"

DEFINE_string(store, "amoeba_search.db", "SQLite file of the searches");
DEFINE_string(search_id, "",
              "id of the search the search flags create or resume (default: "
              "generated; on a store with searches, the first one)");
DEFINE_double(weight, 1, "share of the fleet of the search the flags create");
DEFINE_string(algorithm, "aging", "aging, non_aging, random or reinforce");
DEFINE_double(rl_learning_rate, 0.2, "reinforce only: the policy's learning rate");
DEFINE_int32(population_size, 100, "P");
DEFINE_int32(sample_size, 25, "S");
DEFINE_int64(budget, 1000, "children to evaluate");
DEFINE_uint64(seed, 1, "search seed");
DEFINE_bool(deduplicate, false, "re-mutate children already evaluated");
DEFINE_int32(lease_timeout_s, 120, "a silent worker loses its child after this");
DEFINE_int32(heartbeat_s, 10, "how often workers should heartbeat");
DEFINE_int32(max_attempts, 3,
             "failures charged to a child (worker errors, expired leases; "
             "not preemption) before it is given up");
DEFINE_string(checkpoint_dir, "",
              "where checkpoints uploaded by workers are kept (final "
              "training); empty: <store>.checkpoints beside the store");
DEFINE_int64(max_checkpoint_bytes, int64_t{4} << 30,
             "largest checkpoint a worker may upload");
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
DEFINE_string(tls_client_ca, "", "PEM CA of client certificates (mutual TLS)");

namespace {

// Whether any flag that describes a search was given.
bool SearchFlagsGiven() {
  for (const char* name :
       {"search_id", "algorithm", "population_size", "sample_size", "budget",
        "seed", "deduplicate", "weight", "rl_learning_rate"}) {
    if (amoeba::FlagGiven(name)) return true;
  }
  return amoeba::TrainingFlagsGiven();
}

int Fail(const std::string& message) {
  LOG(ERROR) << message;
  std::cerr << "amoeba-controller: " << message << std::endl;
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  gflags::SetUsageMessage(
      "amoeba-controller: runs the searches of a store (docs/operations.md)");
  gflags::ParseCommandLineFlags(&argc, &argv, true);
  amoeba::DisableMutexDeadlockDetection();
  FLAGS_logtostderr = true;
  google::InitGoogleLogging(argv[0]);

  amoeba::ControllerDefaults defaults;
  defaults.lease_timeout = absl::Seconds(FLAGS_lease_timeout_s);
  defaults.heartbeat_interval = absl::Seconds(FLAGS_heartbeat_s);
  defaults.max_attempts = FLAGS_max_attempts;
  if (defaults.lease_timeout < absl::Milliseconds(100) ||
      defaults.heartbeat_interval <= absl::ZeroDuration() ||
      defaults.heartbeat_interval >= defaults.lease_timeout) {
    return Fail(
        "--heartbeat_s must be positive and shorter than --lease_timeout_s");
  }

  amoeba::SearchOptions options;
  auto algorithm = amoeba::AlgorithmFromName(FLAGS_algorithm);
  if (!algorithm.ok()) return Fail(std::string(algorithm.status().message()));
  options.engine.algorithm = *algorithm;
  options.engine.population_size = FLAGS_population_size;
  options.engine.sample_size = FLAGS_sample_size;
  options.engine.budget = FLAGS_budget;
  options.engine.seed = FLAGS_seed;
  options.engine.deduplicate = FLAGS_deduplicate;
  options.engine.rl_learning_rate = FLAGS_rl_learning_rate;
  options.settings = amoeba::TrainingSettingsFromFlags();
  options.lease_timeout = absl::Seconds(FLAGS_lease_timeout_s);
  options.heartbeat_interval = absl::Seconds(FLAGS_heartbeat_s);
  options.max_attempts = FLAGS_max_attempts;
  options.weight = FLAGS_weight;
  const bool first_search = SearchFlagsGiven();
  if (first_search) {
    if (auto s = amoeba::ValidateSearchOptions(options); !s.ok()) {
      return Fail(std::string(s.message()));
    }
  }

  std::string token;
  if (!FLAGS_token_file.empty()) {
    auto read = amoeba::ReadTokenFile(FLAGS_token_file);
    if (!read.ok()) return Fail(std::string(read.status().message()));
    token = *std::move(read);
  }

  amoeba::ControllerServer::Spec spec;
  spec.address = FLAGS_listen;
  spec.port = FLAGS_port;
  spec.token = token;
  spec.insecure = FLAGS_insecure;
  spec.max_watchers = FLAGS_max_watchers;
  spec.tls_cert_file = FLAGS_tls_cert;
  spec.tls_key_file = FLAGS_tls_key;
  spec.tls_client_ca_file = FLAGS_tls_client_ca;
  // Refused before the store is created or locked.
  if (auto s = amoeba::ControllerServer::CheckSecurity(spec); !s.ok()) {
    return Fail(std::string(s.message()));
  }

  auto store = amoeba::Store::Open(FLAGS_store);
  if (!store.ok()) return Fail(std::string(store.status().message()));
  const std::string checkpoint_dir = FLAGS_checkpoint_dir.empty()
                                         ? FLAGS_store + ".checkpoints"
                                         : FLAGS_checkpoint_dir;
  auto checkpoints = amoeba::CheckpointStore::Open(
      {checkpoint_dir, FLAGS_max_checkpoint_bytes});
  if (!checkpoints.ok()) {
    return Fail(absl::StrCat("--checkpoint_dir / --max_checkpoint_bytes: ",
                             checkpoints.status().message()));
  }
  auto controller =
      amoeba::Controller::Open(std::move(*store), defaults,
                               amoeba::Clock::Real(), std::move(*checkpoints));
  if (!controller.ok()) {
    return Fail(std::string(controller.status().message()));
  }
  if (first_search) {
    auto search =
        (*controller)->CreateOrCheckFirstSearch(FLAGS_search_id, options);
    if (!search.ok()) return Fail(std::string(search.status().message()));
  } else if ((*controller)->Searches().empty()) {
    LOG(INFO) << "no search yet: create one with `amoeba search create` or "
                 "the CreateSearch RPC";
  }

  auto server = amoeba::ControllerServer::Start(spec, controller->get());
  if (!server.ok()) return Fail(std::string(server.status().message()));
  if (!FLAGS_port_file.empty()) {
    const std::string tmp = FLAGS_port_file + ".tmp";
    std::ofstream(tmp) << (*server)->port() << "\n";
    std::rename(tmp.c_str(), FLAGS_port_file.c_str());
  }

  absl::Notification stop;
  amoeba::StopOnSignals signals(&stop);
  // Also stop on our own once the search is finished and idle for a while?
  // No: operators query finished searches; they stop the service.
  while (!stop.WaitForNotificationWithTimeout(absl::Seconds(30))) {
    for (amoeba::Search* search : (*controller)->Searches()) {
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
  LOG(INFO) << "shutting down";
  (*server)->Shutdown(absl::Seconds(10));
  server->reset();
  controller->reset();  // closes the store after its last group commit
  LOG(INFO) << "stopped cleanly";
  return 0;
}
