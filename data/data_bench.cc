// data_bench: images per second of the image-folder pipeline, per decoding
// thread: decode (TurboJPEG, full and reduced scale) + the stored
// evaluation view, and the training augmentation (random-resized crop +
// flip) on top.
//
// With --write_folder=DIR it first writes an image folder of JPEGs made
// from Debian's Fashion-MNIST (each 28x28 garment upscaled to
// --photo_width x --photo_height RGB, tinted by class, with per-pixel noise
// so that the files compress like textured photos rather than flat
// drawings): DIR/train/CLASS and DIR/val/CLASS, the layout
// `amoeba train --dataset=folder` reads. SYNTHETIC pictures, for the
// pipeline and its speed, not for accuracy figures about photos.
#include <turbojpeg.h>

#include <algorithm>
#include <atomic>
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
#include "gflags/gflags.h"
#include "data/augment.h"
#include "data/dataset.h"
#include "data/image_decoder.h"

DEFINE_string(write_folder, "",
              "write a JPEG image folder from Fashion-MNIST here first");
DEFINE_int32(train_per_class, 200, "--write_folder: training images a class");
DEFINE_int32(val_per_class, 50, "--write_folder: validation images a class");
DEFINE_int32(photo_width, 500, "--write_folder: JPEG width");
DEFINE_int32(photo_height, 375, "--write_folder: JPEG height");
DEFINE_int32(quality, 90, "--write_folder: JPEG quality");
DEFINE_string(dir, "", "the image folder to read (default: --write_folder)");
DEFINE_int32(size, 224, "the network's image size");
DEFINE_string(thread_counts, "1,2", "decoding threads to measure");
DEFINE_int32(max_files, 1000, "files read per measurement");
DEFINE_int32(batch, 128, "augmentation batch size");
DEFINE_bool(crop, true, "augmentation: random-resized crop");
DEFINE_bool(flip, true, "augmentation: horizontal flip");

namespace amoeba {
namespace {

namespace fs = std::filesystem;

int WriteFolder(const std::string& out) {
  auto train = LoadFashionMnist(DefaultDataDir(DatasetKind::kFashionMnist),
                                true);
  auto test = LoadFashionMnist(DefaultDataDir(DatasetKind::kFashionMnist),
                               false);
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
      std::ofstream(dir / absl::StrFormat("%05d.jpg", written[label]),
                    std::ios::binary)
          .write(reinterpret_cast<char*>(jpeg), size);
      tjFree(jpeg);
      bytes += size;
      ++files;
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

std::vector<std::string> Files(const std::string& dir, int limit) {
  std::vector<std::string> files;
  for (const auto& e : fs::recursive_directory_iterator(fs::path(dir) / "train")) {
    if (e.is_regular_file()) files.push_back(e.path().string());
  }
  std::sort(files.begin(), files.end());
  if (static_cast<int>(files.size()) > limit) files.resize(limit);
  return files;
}

// Images per second with `threads` threads, each running `work` on files.
template <typename Work>
double Rate(const std::vector<std::string>& files, int threads, Work work) {
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      for (size_t i = next++; i < files.size(); i = next++) {
        if (!work(files[i])) failed = true;
      }
    });
  }
  for (auto& t : pool) t.join();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  if (failed) std::cerr << "data_bench: some files did not decode\n";
  return files.size() / seconds;
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
  const std::vector<std::string> files = Files(dir, FLAGS_max_files);
  if (files.empty()) {
    std::cerr << "data_bench: no files under " << dir << "/train\n";
    return 2;
  }
  // Intra-op threads would blur "per decoding thread".
  at::set_num_threads(1);
  const int size = FLAGS_size;
  const int decode_side = static_cast<int>(std::ceil(size / 0.875));
  auto full_decode = [&](const std::string& f) {
    return DecodeImageFile(f, 1 << 20).ok();
  };
  auto scaled_decode = [&](const std::string& f) {
    return DecodeImageFile(f, decode_side).ok();
  };
  auto stored_view = [&](const std::string& f) {
    auto image = DecodeImageFile(f, decode_side);
    if (!image.ok()) return false;
    return ResizeAndCenterCrop(*image, size, 0.875).defined();
  };
  std::cout << absl::StrFormat(
                   "%d files of %s, network size %d; images/s of loading "
                   "(once per image):\n%-8s %12s %12s %14s\n",
                   files.size(), dir, size, "threads", "full decode",
                   "scaled", "+ stored view")
            << std::flush;
  for (const std::string& t :
       std::vector<std::string>(absl::StrSplit(FLAGS_thread_counts, ','))) {
    const int threads = std::max(1, std::atoi(t.c_str()));
    std::cout << absl::StrFormat("%-8d %12.0f %12.0f %14.0f\n", threads,
                                 Rate(files, threads, full_decode),
                                 Rate(files, threads, scaled_decode),
                                 Rate(files, threads, stored_view))
              << std::flush;
  }
  // The per-epoch work: random-resized crop + flip of stored views, in
  // training batches, on one thread.
  AugmentOptions options;
  options.random_resized_crop = FLAGS_crop;
  options.horizontal_flip = FLAGS_flip;
  torch::Generator generator = at::detail::createCPUGenerator(1);
  const torch::Tensor batch =
      torch::rand({FLAGS_batch, 3, size, size}, torch::kFloat32);
  Augment(batch, options, generator);  // warm-up
  const int rounds = std::max(1, FLAGS_max_files / FLAGS_batch);
  const auto start = std::chrono::steady_clock::now();
  for (int r = 0; r < rounds; ++r) Augment(batch, options, generator);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  std::cout << absl::StrFormat(
                   "augmentation (every epoch): random-resized crop + flip "
                   "of %dx%d views, batches of %d, 1 thread: %.0f images/s\n",
                   size, size, FLAGS_batch, rounds * FLAGS_batch / seconds)
            << std::flush;
  return 0;
}

}  // namespace
}  // namespace amoeba

int main(int argc, char** argv) {
  gflags::SetUsageMessage(
      "images/s of the image-folder pipeline; see data/data_bench.cc");
  gflags::ParseCommandLineFlags(&argc, &argv, true);
  return amoeba::Run();
}
