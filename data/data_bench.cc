// data_bench: images per second of the streaming image-folder pipeline per
// core, and its peak memory.
//
// The pipeline is the trainer's own (data/folder_dataset.h): a pass over
// the training files in a shuffled order, read, decoded (TurboJPEG, at a
// reduced scale where the view allows), random-resized crop + flip on
// uint8 (or the evaluation crop), batched, then normalised to float as the
// training step does. Timed with 1, 2, ... decoding threads; per core is
// images per CPU-second of the whole process (decoding threads and the
// thread that batches and normalises, user and system time). Peak memory is the
// process's VmHWM after the passes, with the file index's own bytes.
//
// With --write_folder=DIR it first writes an image folder of JPEGs made
// from Debian's Fashion-MNIST (or, with --source=stripes, from striped
// patterns drawn here) (each 28x28 garment upscaled to
// --photo_width x --photo_height RGB, tinted by class, with per-pixel noise
// so that the files compress like textured photos rather than flat
// drawings): DIR/train/CLASS and DIR/val/CLASS, the layout
// `amoeba train --dataset=folder` reads. SYNTHETIC pictures, for the
// pipeline and its speed, not for accuracy figures about photos. With
// --copies=K every training JPEG is written K times (under other names):
// a large folder for the memory figure without K times the encoding.
#include <sys/resource.h>
#include <turbojpeg.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "common/rng.h"
#include "data/augment.h"
#include "data/dataset.h"
#include "data/folder_dataset.h"
#include "gflags/gflags.h"
#include "trainer/cpu_allocator.h"

DEFINE_string(write_folder, "",
              "write a JPEG image folder from Fashion-MNIST here first");
DEFINE_int32(train_per_class, 200, "--write_folder: training images a class");
DEFINE_int32(val_per_class, 50, "--write_folder: validation images a class");
DEFINE_int32(photo_width, 500, "--write_folder: JPEG width");
DEFINE_int32(photo_height, 375, "--write_folder: JPEG height");
DEFINE_int32(quality, 90, "--write_folder: JPEG quality");
DEFINE_string(source, "fashion_mnist",
              "--write_folder: the pictures: fashion_mnist (Debian's "
              "dataset-fashion-mnist) or stripes (drawn here: striped "
              "patterns, one orientation and frequency per class, for hosts "
              "without the dataset)");
DEFINE_int32(copies, 1,
             "--write_folder: write each training JPEG this many times");
DEFINE_string(dir, "", "the image folder to read (default: --write_folder)");
DEFINE_int32(size, 224, "the network's image size");
DEFINE_string(thread_counts, "1,2", "decoding threads to measure");
DEFINE_int64(max_files, 2000,
             "training files per measured pass (0 = the whole folder)");
DEFINE_int32(batch, 128, "batch size");
DEFINE_bool(eval_view, true, "also time the evaluation view");
DEFINE_bool(normalize, true,
            "convert and normalise every batch to float, as training does");

namespace amoeba {
namespace {

namespace fs = std::filesystem;

// 28x28 grayscale stripes, one orientation and frequency per class, with a
// random phase: `n` of them, classes in turn.
ImageDataset Stripes(int64_t n, uint64_t seed) {
  ImageDataset data;
  data.images = torch::empty({n, 1, 28, 28}, torch::kUInt8);
  data.labels = torch::empty({n}, torch::kInt64);
  auto pixels = data.images.accessor<uint8_t, 4>();
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> phase(0, 2 * M_PI);
  for (int64_t i = 0; i < n; ++i) {
    const int label = static_cast<int>(i % 10);
    data.labels[i] = label;
    const double angle = label * M_PI / 10, frequency = 0.4 + 0.08 * label;
    const double shift = phase(rng);
    for (int y = 0; y < 28; ++y) {
      for (int x = 0; x < 28; ++x) {
        const double t =
            (x * std::cos(angle) + y * std::sin(angle)) * frequency + shift;
        pixels[i][0][y][x] = static_cast<uint8_t>(128 + 100 * std::sin(t));
      }
    }
  }
  return data;
}

int WriteFolder(const std::string& out) {
  absl::StatusOr<ImageDataset> train, test;
  if (FLAGS_source == "stripes") {
    train = Stripes(10 * FLAGS_train_per_class, 1);
    test = Stripes(10 * FLAGS_val_per_class, 2);
  } else if (FLAGS_source == "fashion_mnist") {
    train = LoadFashionMnist(DefaultDataDir(DatasetKind::kFashionMnist), true);
    test = LoadFashionMnist(DefaultDataDir(DatasetKind::kFashionMnist), false);
  } else {
    std::cerr << "data_bench: --source must be fashion_mnist or stripes\n";
    return 2;
  }
  if (!train.ok() || !test.ok()) {
    std::cerr << "data_bench: Fashion-MNIST: "
              << (train.ok() ? test.status() : train.status()).message()
              << "\n";
    return 3;
  }
  const char* kClasses[] = {"tshirt", "trouser", "pullover", "dress", "coat",
                            "sandal", "shirt",   "sneaker",  "bag",   "boot"};
  std::mt19937 noise(7);
  std::uniform_int_distribution<int> jitter(-24, 24);
  tjhandle handle = tjInitCompress();
  const int w = FLAGS_photo_width, h = FLAGS_photo_height;
  std::vector<unsigned char> rgb(static_cast<size_t>(w) * h * 3);
  int64_t bytes = 0, files = 0;
  for (const bool is_train : {true, false}) {
    const ImageDataset& data = is_train ? *train : *test;
    const int per_class = is_train ? FLAGS_train_per_class : FLAGS_val_per_class;
    std::vector<int> written(10, 0);
    const auto images = data.images.accessor<uint8_t, 4>();
    for (int64_t i = 0; i < data.size(); ++i) {
      const int label = data.labels[i].item<int>();
      if (written[label] >= per_class) continue;
      for (int y = 0; y < h; ++y) {
        for (int x = 0; x < w; ++x) {
          const int v = images[i][0][y * 28 / h][x * 28 / w];
          for (int c = 0; c < 3; ++c) {
            const int tint = 40 + 20 * ((label + c) % 4);
            rgb[(static_cast<size_t>(y) * w + x) * 3 + c] =
                static_cast<unsigned char>(
                    std::clamp(v * (255 - tint) / 255 + tint + jitter(noise),
                               0, 255));
          }
        }
      }
      unsigned char* jpeg = nullptr;
      unsigned long size = 0;
      if (tjCompress2(handle, rgb.data(), w, 0, h, TJPF_RGB, &jpeg, &size,
                      TJSAMP_420, FLAGS_quality, 0) != 0) {
        std::cerr << "data_bench: " << tjGetErrorStr2(handle) << "\n";
        return 1;
      }
      const fs::path dir =
          fs::path(out) / (is_train ? "train" : "val") / kClasses[label];
      fs::create_directories(dir);
      for (int copy = 0; copy < (is_train ? FLAGS_copies : 1); ++copy) {
        std::ofstream(dir / absl::StrFormat("%05d_%d.jpg", written[label],
                                            copy),
                      std::ios::binary)
            .write(reinterpret_cast<char*>(jpeg), size);
        bytes += size;
        ++files;
      }
      tjFree(jpeg);
      ++written[label];
    }
  }
  tjDestroy(handle);
  std::cout << absl::StrFormat(
                   "wrote %d JPEGs of %dx%d (mean %.0f KB) to %s", files, w, h,
                   bytes / 1024.0 / files, out)
            << std::endl;
  return 0;
}

// The process's peak resident memory (VmHWM), in MB.
double PeakRssMb() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) {
      return std::atof(line.c_str() + 6) / 1024.0;
    }
  }
  return -1;
}

// CPU seconds (user + system) of every thread of the process so far.
double CpuSeconds() {
  rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_utime.tv_sec + usage.ru_utime.tv_usec / 1e6 +
         usage.ru_stime.tv_sec + usage.ru_stime.tv_usec / 1e6;
}

struct PassFigures {
  double images_per_second = 0;
  double images_per_cpu_second = 0;  // per core kept busy
  int64_t images = 0;
  int64_t skipped = 0;
};

// One pass in a shuffled order, every batch normalised to float as a
// training step does.
PassFigures TimePass(const ImageDataset& data, const Normalizer& normalizer,
                     bool training_view) {
  Rng rng(17);
  std::vector<int64_t> order(data.size());
  for (int64_t i = 0; i < data.size(); ++i) order[i] = i;
  for (int64_t i = data.size() - 1; i > 0; --i) {
    std::swap(order[i], order[rng.Uniform(i + 1)]);
  }
  const ImageDataset shuffled =
      Subset(data, torch::tensor(order, torch::kInt64));
  const auto start = std::chrono::steady_clock::now();
  const double cpu_start = CpuSeconds();
  auto reader = shuffled.ReadInOrder(FLAGS_batch, training_view, 1);
  PassFigures figures;
  double checksum = 0;
  while (true) {
    absl::StatusOr<StreamedImages::Batch> batch = reader->Next();
    if (!batch.ok()) break;
    if (FLAGS_normalize && batch->images.size(0) > 0) {
      checksum += normalizer.Apply(batch->images)[0][0][0][0].item<float>();
    }
    figures.images += batch->images.size(0);
    figures.skipped += batch->skipped;
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  figures.images_per_second = figures.images / seconds;
  figures.images_per_cpu_second = figures.images / (CpuSeconds() - cpu_start);
  if (std::isnan(checksum)) std::cerr << "data_bench: NaN in a batch\n";
  return figures;
}

int Run() {
  if (!FLAGS_write_folder.empty()) {
    if (int rc = WriteFolder(FLAGS_write_folder); rc != 0) return rc;
  }
  const std::string dir = FLAGS_dir.empty() ? FLAGS_write_folder : FLAGS_dir;
  if (dir.empty()) {
    std::cerr << "data_bench: give --dir or --write_folder\n";
    return 2;
  }
  // As amoeba train and the worker run: LibTorch's CPU blocks cached, so
  // that a batch's buffers are not page-faulted in again every batch.
  InstallCachingCpuAllocator();
  // Intra-op threads would blur the CPU accounting.
  at::set_num_threads(1);
  const double rss_before = PeakRssMb();
  const auto list_start = std::chrono::steady_clock::now();
  std::vector<std::string> counts =
      absl::StrSplit(FLAGS_thread_counts, ',');
  FolderOptions options;
  options.image_size = FLAGS_size;
  options.max_images = FLAGS_max_files;
  absl::StatusOr<ImageDataset> data = OpenImageFolder(dir, true, options);
  if (!data.ok()) {
    std::cerr << "data_bench: " << data.status().message() << "\n";
    return 2;
  }
  const double list_seconds = std::chrono::duration<double>(
                                  std::chrono::steady_clock::now() - list_start)
                                  .count();
  absl::StatusOr<Normalizer> normalizer = Normalizer::Measure(*data, 256);
  if (!normalizer.ok()) {
    std::cerr << "data_bench: " << normalizer.status().message() << "\n";
    return 2;
  }
  std::cout << absl::StrFormat(
                   "%s: %d training files listed in %.2f s, index %.2f MB; "
                   "views %dx%d, batches of %d\n",
                   dir, data->size(), list_seconds,
                   data->stream->memory_bytes() / 1e6, FLAGS_size, FLAGS_size,
                   FLAGS_batch)
            << std::flush;
  std::cout << absl::StrFormat("%-8s %-11s %12s %18s %8s\n", "threads",
                               "view", "images/s", "per CPU-second",
                               "skipped");
  for (const std::string& t : counts) {
    const int threads = std::max(1, std::atoi(t.c_str()));
    options.threads = threads;
    absl::StatusOr<ImageDataset> pass = OpenImageFolder(dir, true, options);
    if (!pass.ok()) return 2;
    for (bool training : {true, false}) {
      if (!training && !FLAGS_eval_view) continue;
      const PassFigures f = TimePass(*pass, *normalizer, training);
      std::cout << absl::StrFormat("%-8d %-11s %12.0f %18.0f %8d\n", threads,
                                   training ? "training" : "evaluation",
                                   f.images_per_second,
                                   f.images_per_cpu_second, f.skipped)
                << std::flush;
    }
  }
  std::cout << absl::StrFormat(
                   "peak RSS %.1f MB (%.1f MB before opening the folder)\n",
                   PeakRssMb(), rss_before)
            << std::flush;
  return 0;
}

}  // namespace
}  // namespace amoeba

int main(int argc, char** argv) {
  gflags::SetUsageMessage(
      "images/s and peak memory of the streaming image-folder pipeline; "
      "see data/data_bench.cc");
  gflags::ParseCommandLineFlags(&argc, &argv, true);
  return amoeba::Run();
}
