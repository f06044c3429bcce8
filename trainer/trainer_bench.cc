// trainer_bench: training throughput of the paper's network sizes.
//
//   (a) AmoebaNet-A N=1 F=8 on 28x28x1, batch 64 (the paper's CPU setting)
//   (b) AmoebaNet-A N=3 F=24 on 32x32x3, batch 128 (the paper's search model)
//   (c) the ImageNet network: ImageNet stem, N=6 F=190 on 224x224x3, 1,000
//       classes, aux head (the paper's AmoebaNet-A at F=190), batch
//       --imagenet_batch; the sizes are flags for a dry run on a CPU
//
// --resume_check instead trains each configuration for two epochs with a
// checkpoint after the first, resumes a second run from that checkpoint,
// and compares the two: the final training's exact-resume promise on this
// device (on CUDA as far as its kernels are deterministic).
//
// Runs the real training loop (data resident on the device, normalization,
// augmentation, forward, backward, SGD step) on synthetic images, discards
// warm-up steps, and prints ms per step and images/s. On CUDA it also
// extrapolates one search-phase evaluation: 25 epochs of 45,000 CIFAR-sized
// images plus a 5,000-image validation pass per epoch.
#include <torch/csrc/autograd/profiler_legacy.h>
#include <torch/cuda.h>
#include <torch/utils.h>
#include <torch/version.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "genotype/known_cells.h"
#include "gflags/gflags.h"
#include "trainer/cpu_allocator.h"
#include "trainer/step_graph.h"
#include "trainer/train.h"

DEFINE_string(devices, "auto",
              "comma-separated devices to measure (cpu, cuda); auto = cpu, "
              "plus cuda when present");
DEFINE_string(configs, "a,b", "which configurations: a, b, c");
DEFINE_int32(threads, 0, "CPU threads (0 = all cores)");
DEFINE_int32(cpu_steps, 12, "timed steps per configuration on CPU");
DEFINE_int32(cuda_steps, 200, "timed steps per configuration on CUDA");
DEFINE_int32(warmup_steps, 3, "steps discarded before timing (CUDA: x10)");
DEFINE_string(precision, "auto", "auto, fp32, bf16 or fp16 (CUDA)");
DEFINE_bool(channels_last, true, "channels-last (NHWC) memory format");
DEFINE_bool(caching_allocator, true,
            "reuse large CPU blocks across steps (trainer/cpu_allocator.h), "
            "as amoeba-worker and amoeba train do");
DEFINE_bool(cpu_cache_huge_pages, true,
            "with --caching_allocator: 2 MiB-aligned blocks advised as "
            "transparent huge pages");
DEFINE_string(trace, "",
              "write a Chrome trace (chrome://tracing, Perfetto) of every "
              "LibTorch op of the timed steps to FILE-<config>-<device>.json "
              "(LibTorch's legacy profiler: it slows the ops down unevenly, "
              "so compare traces with traces, not with untraced runs)");
DEFINE_int32(batch_size, 0,
             "training batch size of every configuration (0: its own, 64 or "
             "128); comparing ms/step across sizes tells per-step overhead "
             "(flat) from compute (proportional)");
DEFINE_bool(cuda_graphs, false,
             "CUDA: the measured training replays its step from a CUDA graph "
             "(as amoeba-worker --cuda_graphs)");
DEFINE_bool(plain_step_graph, false,
            "CUDA: also time one plain training step as eager calls and as "
            "a replayed CUDA graph (the difference is host overhead)");
DEFINE_int32(eval_batch_size, 0,
             "batch size of the evaluation pass (0: 64 on CPU, 1024 on CUDA)");
DEFINE_int32(imagenet_n, 6, "configuration (c): cells per stack");
DEFINE_int32(imagenet_f, 190, "configuration (c): filters");
DEFINE_int32(imagenet_size, 224, "configuration (c): image side");
DEFINE_int32(imagenet_batch, 64, "configuration (c): batch size");
DEFINE_bool(resume_check, false,
            "instead of timing: train 2 epochs with a checkpoint after the "
            "first, resume from it, and compare with the uninterrupted run");
DEFINE_int32(resume_batches, 8, "--resume_check: training batches an epoch");

namespace amoeba {
namespace {

struct Config {
  std::string name;
  int n;
  int f;
  int channels;
  int size;
  int batch;
  bool imagenet = false;  // ImageNet stem, 1,000 classes, aux head
};

NetworkOptions BenchNetworkOptions(const Config& c) {
  NetworkOptions network;
  network.cells_per_stack = c.n;
  network.filters = c.f;
  network.input_channels = c.channels;
  network.image_size = c.size;
  if (c.imagenet) {
    network.stem = Stem::kImageNet;
    network.num_classes = 1000;
    network.aux_head = true;
  }
  return network;
}

// Trainable parameters of `c`'s network (aux head excluded, as the paper
// counts them).
int64_t BenchParameters(const Config& c) {
  torch::NoGradGuard no_grad;
  return Network(AmoebaNetA(), BenchNetworkOptions(c))->num_parameters();
}

// `batches` batches of random uint8 images and labels of `c`'s shape, the
// first 4 (at most) also as the validation set, on `device`.
absl::StatusOr<PreparedData> SyntheticData(const Config& c, int64_t batches,
                                           const torch::Device& device) {
  DataSplit split;
  torch::manual_seed(0);
  const int classes = c.imagenet ? 1000 : 10;
  split.train.num_classes = split.validation.num_classes = classes;
  // Drawn as uint8: int64 first would take 8 times the memory (17 GB for
  // 230 batches of 64 at 224 pixels).
  split.train.images = torch::randint(
      0, 256, {batches * c.batch, c.channels, c.size, c.size}, torch::kUInt8);
  split.train.labels = torch::randint(0, classes, {batches * c.batch});
  const int64_t held = std::min<int64_t>(batches, 4) * c.batch;
  split.validation.images = split.train.images.slice(0, 0, held);
  split.validation.labels = split.train.labels.slice(0, 0, held);
  return PrepareData(split, device);
}

struct Measurement {
  double ms_per_step = 0;
  double images_per_second = 0;
  double eval_images_per_second = 0;
  int64_t steps = 0;        // training steps run
  int64_t graph_steps = 0;  // of them replayed from a CUDA graph
};

absl::StatusOr<Measurement> Measure(const Config& c,
                                    const torch::Device& device, int steps,
                                    int warmup) {
  const int total = steps + warmup;
  auto data = SyntheticData(c, total, device);
  if (!data.ok()) return data.status();

  const NetworkOptions network = BenchNetworkOptions(c);
  TrainOptions options;
  options.epochs = 1;
  options.batch_size = c.batch;
  options.learning_rate = 0.01;
  options.augment.crop_padding = c.channels == 3 ? 4 : 2;
  options.augment.horizontal_flip = c.channels == 3;
  options.progress_every_steps = 1;
  options.validate_every_epoch = false;
  options.device.device = device.str();
  options.device.threads = FLAGS_threads;
  options.device.channels_last = FLAGS_channels_last;
  options.device.cuda_graphs = FLAGS_cuda_graphs;
  auto precision = PrecisionFromName(FLAGS_precision);
  if (!precision.ok()) return precision.status();
  options.device.precision = *precision;

  std::vector<double> elapsed;
  // Only the timed steps are traced: warm-up steps include one-time costs
  // (kernel selection, first touch of memory) that would hide the rest.
  std::unique_ptr<torch::autograd::profiler::RecordProfile> trace;
  TrainCallbacks callbacks;
  callbacks.on_progress = [&](const TrainProgress& p) {
    if (device.is_cuda()) torch::cuda::synchronize();
    if (!p.end_of_epoch || elapsed.size() < static_cast<size_t>(total)) {
      // Training time only: the last step of the epoch is followed by a
      // validation pass, which is measured separately below.
      elapsed.push_back(p.train_seconds);
    }
    if (!FLAGS_trace.empty() && elapsed.size() == static_cast<size_t>(warmup)) {
      trace = std::make_unique<torch::autograd::profiler::RecordProfile>(
          absl::StrFormat("%s-%s-%s.json", FLAGS_trace, c.name.substr(1, 1),
                          device.str()));
    }
    if (elapsed.size() == static_cast<size_t>(total)) trace.reset();
  };
  auto model = TrainGenotype(AmoebaNetA(), network, *data, options, callbacks);
  if (!model.ok()) return model.status();
  if (elapsed.size() < static_cast<size_t>(total)) {
    return absl::InternalError("fewer progress reports than steps");
  }
  Measurement m;
  const double seconds = elapsed[total - 1] - elapsed[warmup - 1];
  m.ms_per_step = 1000.0 * seconds / steps;
  m.images_per_second = c.batch * steps / seconds;
  m.steps = model->result.steps;
  m.graph_steps = model->result.graph_steps;

  // Evaluation throughput (for the validation pass of a search evaluation).
  const auto start = std::chrono::steady_clock::now();
  auto accuracy =
      EvaluateAccuracy(model->network, data->train, data->normalizer, device,
                       FLAGS_eval_batch_size, *precision);
  if (!accuracy.ok()) return accuracy.status();
  if (device.is_cuda()) torch::cuda::synchronize();
  const double eval_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  m.eval_images_per_second = data->train.size() / eval_seconds;
  return m;
}

// Two epochs with a checkpoint after the first, then the second epoch again
// from that checkpoint: the same weights and accuracy, or how far apart.
int ResumeCheck(const Config& c, const torch::Device& device) {
  auto data = SyntheticData(c, FLAGS_resume_batches, device);
  if (!data.ok()) {
    std::cout << c.name << ": " << data.status().message() << "\n";
    return 1;
  }
  TrainOptions options;
  options.epochs = 2;
  options.batch_size = c.batch;
  options.learning_rate = 0.01;
  options.augment.crop_padding = 4;
  options.augment.horizontal_flip = true;
  options.augment.cutout = c.size / 4;
  options.ema_decay = 0.99;  // the weight average is resumed state too
  options.checkpoint_every = 1;
  options.checkpoint_key = "trainer_bench resume check";
  options.device.device = device.str();
  options.device.threads = FLAGS_threads;
  options.device.channels_last = FLAGS_channels_last;
  options.device.cuda_graphs = FLAGS_cuda_graphs;
  options.device.precision = *PrecisionFromName(FLAGS_precision);
  NetworkOptions network = BenchNetworkOptions(c);
  network.drop_path = 0.2;  // draws random numbers every step
  network.aux_head = true;
  std::string state;
  TrainCallbacks callbacks;
  callbacks.save_checkpoint = [&](int epoch, const std::string& s) {
    if (epoch == 1) state = s;
  };
  const auto start = std::chrono::steady_clock::now();
  auto whole = TrainGenotype(AmoebaNetA(), network, *data, options, callbacks);
  if (!whole.ok() || state.empty()) {
    std::cout << c.name << ": uninterrupted run: "
              << (whole.ok() ? "no checkpoint" : whole.status().message())
              << "\n";
    return 1;
  }
  auto resumed =
      TrainGenotype(AmoebaNetA(), network, *data, options, {}, state);
  if (!resumed.ok()) {
    std::cout << c.name << ": resumed run: " << resumed.status().message()
              << "\n";
    return 1;
  }
  double max_diff = 0;
  int64_t differing = 0, tensors = 0;
  auto theirs = resumed->network->named_parameters(true);
  for (const auto& p : whole->network->named_parameters(true)) {
    const torch::Tensor other = theirs[p.key()];
    ++tensors;
    if (!torch::equal(p.value(), other)) {
      ++differing;
      max_diff = std::max(
          max_diff,
          (p.value() - other).abs().max().to(torch::kCPU).item<double>());
    }
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  std::cout << absl::StrFormat(
                   "%s on %s: checkpoint of %d bytes after epoch 1 of 2; "
                   "validation accuracy uninterrupted %.6f, resumed %.6f; "
                   "%d of %d parameter tensors differ (max |diff| %.3g): %s "
                   "(%.1f s)\n",
                   c.name, DescribeDevice(device), state.size(),
                   whole->result.validation_accuracy,
                   resumed->result.validation_accuracy, differing, tensors,
                   max_diff, differing == 0 ? "bit for bit" : "NOT identical",
                   seconds)
            << std::flush;
  return 0;
}

int Main() {
  std::vector<std::string> devices;
  if (FLAGS_devices == "auto") {
    devices.push_back("cpu");
    if (torch::cuda::is_available()) devices.push_back("cuda");
  } else {
    devices = absl::StrSplit(FLAGS_devices, ',');
  }
  const std::vector<Config> all = {
      {"(a) AmoebaNet-A N=1 F=8, 28x28x1", 1, 8, 1, 28, 64},
      {"(b) AmoebaNet-A N=3 F=24, 32x32x3", 3, 24, 3, 32, 128},
      {absl::StrFormat("(c) ImageNet net N=%d F=%d, %dx%dx3", FLAGS_imagenet_n,
                       FLAGS_imagenet_f, FLAGS_imagenet_size,
                       FLAGS_imagenet_size),
       FLAGS_imagenet_n, FLAGS_imagenet_f, 3, FLAGS_imagenet_size,
       FLAGS_imagenet_batch, /*imagenet=*/true},
  };
  std::vector<Config> configs;
  if (FLAGS_batch_size < 0) {
    std::cerr << "trainer_bench: --batch_size must be >= 0\n";
    return 2;
  }
  for (Config c : all) {
    if (FLAGS_configs.find(c.name.substr(1, 1)) != std::string::npos) {
      if (FLAGS_batch_size > 0) c.batch = FLAGS_batch_size;
      configs.push_back(c);
    }
  }
  std::cout << absl::StrFormat("LibTorch %s, precision %s\n", TORCH_VERSION,
                               FLAGS_precision);
  if (!FLAGS_resume_check) {
    std::cout << absl::StrFormat("%-36s %-18s %6s %10s %10s %10s\n",
                                 "config", "device", "batch", "ms/step",
                                 "train img/s", "eval img/s");
  }
  int failures = 0;
  for (const std::string& name : devices) {
    DeviceOptions d;
    d.device = name;
    d.threads = FLAGS_threads;
    const auto device = ResolveDevice(d);
    if (!device.ok()) {
      std::cout << name << ": " << device.status().message() << "\n";
      ++failures;
      continue;
    }
    ConfigureRuntime(d, *device);
    const bool cuda = device->is_cuda();
    for (const Config& c : configs) {
      if (FLAGS_resume_check) {
        failures += ResumeCheck(c, *device);
        continue;
      }
      const int steps = cuda ? FLAGS_cuda_steps : FLAGS_cpu_steps;
      const int warmup = cuda ? 10 * FLAGS_warmup_steps : FLAGS_warmup_steps;
      const auto m = Measure(c, *device, steps, warmup);
      if (!m.ok()) {
        std::cout << c.name << " on " << name << ": " << m.status().message()
                  << "\n";
        ++failures;
        continue;
      }
      std::cout << absl::StrFormat("%-36s %-18s %6d %10.2f %10.1f %10.1f\n",
                                   c.name, DescribeDevice(*device), c.batch,
                                   m->ms_per_step, m->images_per_second,
                                   m->eval_images_per_second);
      if (c.imagenet) {
        std::cout << absl::StrFormat(
            "    %.1fM parameters; one ImageNet epoch (1.28M images) at this "
            "rate: %.2f h\n",
            BenchParameters(c) / 1e6,
            1.281167e6 / m->images_per_second / 3600);
      } else if (c.channels == 3) {
        const double search_seconds = 25 * (45000.0 / m->images_per_second +
                                            5000.0 / m->eval_images_per_second);
        std::cout << absl::StrFormat(
            "    one search-phase evaluation (25 epochs x 45k train + 5k "
            "val), extrapolated: %.1f s (%.2f h)\n",
            search_seconds, search_seconds / 3600);
      }
      if (FLAGS_cuda_graphs) {
        std::cout << absl::StrFormat(
            "    steps replayed from a CUDA graph: %d of %d\n",
            m->graph_steps, m->steps);
      }
      if (cuda && FLAGS_plain_step_graph) {
        PlainStepOptions plain;
        plain.network = BenchNetworkOptions(c);
        plain.batch_size = c.batch;
        plain.precision = *PrecisionFromName(FLAGS_precision);
        plain.channels_last = FLAGS_channels_last;
        plain.timed_steps = steps;
        const auto t = TimePlainStep(AmoebaNetA(), plain, *device);
        if (t.ok()) {
          std::cout << absl::StrFormat(
              "    plain step (no augmentation or statistics): eager %.2f "
              "ms, CUDA graph replay %.2f ms; host overhead %.0f%% of the "
              "eager step\n",
              t->eager_ms, t->graph_ms,
              100.0 * (t->eager_ms - t->graph_ms) / t->eager_ms);
        } else {
          std::cout << "    CUDA graph: " << t.status().message() << "\n";
          ++failures;
        }
      }
      std::cout.flush();
    }
  }
  return failures == 0 ? 0 : 1;
}

}  // namespace
}  // namespace amoeba

int main(int argc, char** argv) {
  gflags::SetUsageMessage("trainer_bench: training throughput (see source)");
  gflags::ParseCommandLineFlags(&argc, &argv, true);
  if (FLAGS_caching_allocator) {
    amoeba::CachingCpuAllocatorOptions cache;
    cache.huge_pages = FLAGS_cpu_cache_huge_pages;
    amoeba::InstallCachingCpuAllocator(cache);
  }
  return amoeba::Main();
}
