// amoeba-worker: one daemon per GPU (or per CPU host). Connects to the
// controller, trains each child it receives and reports its fitness.
//
//   amoeba-worker --controller=head:50051 --device=cuda:0
//
// SIGTERM (systemd stop) ends the running evaluation within one training
// step, tells the controller, and exits: within --rpc_deadline_s plus one
// step.
#include <unistd.h>

#include <iostream>
#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "common/atomic_file.h"
#include "common/daemon_setup.h"
#include "settings/program_help.h"
#include "common/stop_signals.h"
#include "gflags/gflags.h"
#include "metrics/metrics_server.h"
#include "trainer/cpu_allocator.h"
#include "trainer/device_options.h"
#include "trainer/logging.h"
#include "worker/libtorch_evaluator.h"
#include "worker/simulated_evaluator.h"
#include "worker/spool.h"
#include "worker/worker.h"
#include "worker/worker_metrics.h"

DEFINE_string(controller, "127.0.0.1:50051", "controller address host:port");
DEFINE_string(worker_id, "",
              "stable worker id (default: <host name>:<device>)");
DEFINE_string(device, "cpu", "cpu, cuda or cuda:N");
DEFINE_int32(threads, 0, "CPU threads for training (0 = all cores)");
DEFINE_int32(slots, 1, "children evaluated at once on this device");
DEFINE_bool(cuda_graphs, false,
            "CUDA: replay each child's training step from a CUDA graph "
            "(CMake build against a CUDA LibTorch 2+; steps with dropout, "
            "drop path, gradient clipping or fp16 run eagerly)");
DEFINE_bool(stream_per_slot, true,
            "CUDA: each slot's kernels on a stream of its own, so that the "
            "slots' children overlap on the GPU (false: the shared default "
            "stream)");
DEFINE_string(evaluator, "libtorch",
              "libtorch (real training) or simulated (a labelled stand-in "
              "for scale and fault tests)");
DEFINE_double(simulated_seconds, 1.0, "simulated evaluator: time per child");
DEFINE_double(simulated_noise, 0.01, "simulated evaluator: fitness noise");
DEFINE_string(simulated_landscape, "structured",
              "simulated evaluator: structured (additive plus pairwise "
              "terms; algorithms can be compared) or hash (no structure)");
DEFINE_double(simulated_curve_spread, 1.0,
              "simulated evaluator: how much learning-curve shapes differ "
              "between genotypes, 0 (one shape: early fitness ranks children "
              "as final fitness does, up to noise) to 1 (early fitness says "
              "little)");
DEFINE_uint64(simulated_seed, 1, "simulated evaluator: landscape and noise seed");
DEFINE_string(data_dir, "",
              "dataset folder (default: the dataset's own): one FOLDER for "
              "every dataset, or NAME=FOLDER,... per dataset (cifar10=/data/"
              "cifar,fashion_mnist=/data/fm)");
DEFINE_int32(decode_threads, 0,
             "threads decoding an image folder's batches (0 = the cores "
             "the training threads leave free)");
DEFINE_int32(data_cache_mb, 4096,
             "memory for datasets kept loaded (one per dataset settings of "
             "the searches served; least recently used leaves first)");
DEFINE_string(token_file, "", "file holding the controller's shared token");
DEFINE_string(tls_ca, "", "PEM CA of the controller's certificate (TLS)");
DEFINE_string(tls_cert, "", "PEM client certificate (mutual TLS)");
DEFINE_string(tls_key, "", "PEM client key (mutual TLS)");
DEFINE_string(spool_dir, "amoeba-worker-spool",
              "folder for results not yet acknowledged by the controller");
DEFINE_int32(rpc_deadline_s, 10, "deadline of each call to the controller");
DEFINE_int32(max_backoff_s, 30, "longest wait between reconnection attempts");
DEFINE_string(checkpoint_dir, "",
              "checkpoints of long tasks (final training) in this folder, "
              "shared by the fleet (e.g. NFS); empty: uploaded to the "
              "controller");
DEFINE_string(metrics_listen, "",
              "HOST:PORT to export Prometheus metrics on (GET /metrics; "
              "port 0: any free one); empty: off");
DEFINE_string(metrics_port_file, "",
              "write the metrics port listened on to this file");
DEFINE_bool(exit_when_finished, true,
            "exit once every search of the controller is finished; false "
            "for a fleet daemon that serves searches created later");

namespace {

// The daemon's connection, spool and identity settings.
absl::StatusOr<amoeba::WorkerOptions> WorkerOptionsFromFlags() {
  amoeba::WorkerOptions options;
  options.controller = FLAGS_controller;
  options.device = FLAGS_device;
  options.slots = FLAGS_slots;
  options.spool_dir = FLAGS_spool_dir;
  options.tls_ca_file = FLAGS_tls_ca;
  options.tls_cert_file = FLAGS_tls_cert;
  options.tls_key_file = FLAGS_tls_key;
  options.rpc_deadline = absl::Seconds(FLAGS_rpc_deadline_s);
  options.max_backoff = absl::Seconds(FLAGS_max_backoff_s);
  options.exit_when_finished = FLAGS_exit_when_finished;
  options.checkpoint_dir = FLAGS_checkpoint_dir;
  options.worker_id = FLAGS_worker_id;
  if (options.worker_id.empty()) {
    char host[256] = {0};
    gethostname(host, sizeof(host) - 1);
    options.worker_id = absl::StrCat(host, ":", FLAGS_device);
  }
  if (!FLAGS_token_file.empty()) {
    auto token = amoeba::ReadTokenFile(FLAGS_token_file);
    if (!token.ok()) return token.status();
    options.token = *std::move(token);
  }
  return options;
}

absl::StatusOr<std::unique_ptr<amoeba::Evaluator>> LibTorchEvaluatorFromFlags() {
  amoeba::DeviceOptions device;
  device.device = FLAGS_device;
  device.threads = FLAGS_threads;
  device.stream_per_thread = FLAGS_stream_per_slot;
  device.cuda_graphs = FLAGS_cuda_graphs;
  if (auto s = amoeba::CheckDevice(device); !s.ok()) return s;
  if (FLAGS_decode_threads < 0 || FLAGS_decode_threads > 256) {
    return absl::InvalidArgumentError(
        "--decode_threads must be in 0..256 (0 = the free cores)");
  }
  if (FLAGS_data_cache_mb < 1) {
    return absl::InvalidArgumentError("--data_cache_mb must be >= 1");
  }
  auto data_dirs = amoeba::ParseDataDirs(FLAGS_data_dir);
  if (!data_dirs.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--data_dir: ", data_dirs.status().message()));
  }
  return std::unique_ptr<amoeba::Evaluator>(
      std::make_unique<amoeba::LibTorchEvaluator>(
          device, *std::move(data_dirs), int64_t{FLAGS_data_cache_mb} << 20,
          FLAGS_decode_threads));
}

absl::StatusOr<std::unique_ptr<amoeba::Evaluator>> SimulatedEvaluatorFromFlags() {
  LOG(WARNING) << "SIMULATED evaluator: fitness values are synthetic, for "
                  "testing the distributed system only";
  if (FLAGS_simulated_landscape != "structured" &&
      FLAGS_simulated_landscape != "hash") {
    return absl::InvalidArgumentError(
        "--simulated_landscape must be structured or hash");
  }
  if (!(FLAGS_simulated_curve_spread >= 0 &&
        FLAGS_simulated_curve_spread <= 1)) {
    return absl::InvalidArgumentError(
        "--simulated_curve_spread must be in [0, 1]");
  }
  return std::unique_ptr<amoeba::Evaluator>(
      std::make_unique<amoeba::SimulatedEvaluator>(
          absl::Seconds(FLAGS_simulated_seconds), FLAGS_simulated_noise,
          FLAGS_simulated_seed,
          FLAGS_simulated_landscape == "hash" ? amoeba::Landscape::kHash
                                              : amoeba::Landscape::kStructured,
          FLAGS_simulated_curve_spread));
}

absl::StatusOr<std::unique_ptr<amoeba::Evaluator>> EvaluatorFromFlags() {
  if (FLAGS_evaluator == "libtorch") return LibTorchEvaluatorFromFlags();
  if (FLAGS_evaluator == "simulated") return SimulatedEvaluatorFromFlags();
  return absl::InvalidArgumentError(
      "--evaluator must be libtorch or simulated");
}

}  // namespace

int main(int argc, char** argv) {
  const std::string usage =
      "amoeba-worker: evaluates children for a controller "
      "(docs/operations.md)";
  if (amoeba::PrintHelpIfAsked(argc, argv, usage, {"worker/worker_main.cc"})) {
    return 0;
  }
  gflags::SetUsageMessage(usage);
  gflags::ParseCommandLineFlags(&argc, &argv, true);
  amoeba::DisableMutexDeadlockDetection();
  // Before any thread uses LibTorch: reuse large CPU blocks across training
  // steps instead of faulting them in again every step.
  amoeba::InstallCachingCpuAllocator();
  FLAGS_logtostderr = true;
  google::InitGoogleLogging(argv[0]);

  auto options = WorkerOptionsFromFlags();
  if (!options.ok()) {
    std::cerr << "amoeba-worker: " << options.status().message() << std::endl;
    return 2;
  }
  auto evaluator = EvaluatorFromFlags();
  if (!evaluator.ok()) {
    std::cerr << "amoeba-worker: " << evaluator.status().message() << std::endl;
    return 2;
  }
  std::unique_ptr<amoeba::MetricsServer> metrics_server;
  std::unique_ptr<amoeba::WorkerMetrics> metrics;
  if (!FLAGS_metrics_listen.empty()) {
    auto started = amoeba::MetricsServer::Start({FLAGS_metrics_listen});
    if (!started.ok()) {
      std::cerr << "amoeba-worker: --metrics_listen: "
                << started.status().message() << std::endl;
      return 2;
    }
    metrics_server = *std::move(started);
    metrics = std::make_unique<amoeba::WorkerMetrics>(*metrics_server,
                                                      options->slots);
    options->metrics = metrics.get();
    if (!FLAGS_metrics_port_file.empty()) {
      const absl::Status written = amoeba::WriteFileAtomically(
          FLAGS_metrics_port_file,
          absl::StrCat(metrics_server->port(), "\n"));
      if (!written.ok()) {
        std::cerr << "amoeba-worker: --metrics_port_file: "
                  << written.message() << std::endl;
        return 2;
      }
    }
    // Read from the folder, not the worker: scrapes may come until the
    // server is destroyed, after the worker.
    metrics_server->AddGauge(
        "amoeba_worker_spooled_results",
        "results in the spool, not yet acknowledged by the controller",
        [spool = amoeba::Spool(FLAGS_spool_dir)] {
          return static_cast<double>(spool.List().size());
        });
    LOG(INFO) << "metrics on " << FLAGS_metrics_listen << " (port "
              << metrics_server->port() << "), GET /metrics";
  }
  absl::Status status;
  {
    absl::Notification stop;
    amoeba::StopOnSignals signals(&stop);
    amoeba::Worker worker(*std::move(options), *std::move(evaluator));
    status = worker.Run(&stop);
  }
  if (!status.ok()) {
    LOG(ERROR) << "worker ended: " << status;
    return status.code() == absl::StatusCode::kUnauthenticated ? 3 : 1;
  }
  LOG(INFO) << "worker exited cleanly";
  return 0;
}
