#include "data/augment.h"

#include <torch/nn/functional/upsampling.h>

#include <cmath>

namespace amoeba {

namespace {

// Small CPU tensors (the augmentation's draws) to the batch's device. From
// ordinary (pageable) host memory a copy to a GPU first waits until every
// kernel queued on the stream has finished, so the host could not run ahead
// of the GPU, several times a step. From pinned memory the copy is queued
// like a kernel; LibTorch's pinned-memory cache keeps the block until the
// copy has run.
torch::Tensor ToBatchDevice(const torch::Tensor& t,
                            const torch::Device& device) {
  if (!device.is_cuda()) return t.to(device);
  return t.pin_memory().to(device, /*non_blocking=*/true);
}

}  // namespace

namespace {

// Per-channel sums of pixel values in [0, 1] and of their squares, and the
// pixels counted, over uint8 image sets added a chunk at a time.
class PixelMoments {
 public:
  explicit PixelMoments(int64_t channels)
      : sum_(torch::zeros({channels}, torch::kFloat64)),
        sum_sq_(torch::zeros({channels}, torch::kFloat64)) {}

  // Float64 sums (exact enough) in chunks of about 8 MB of float64, so
  // that memory stays bounded whatever the images' size.
  void Add(const torch::Tensor& images) {
    const int64_t n = images.size(0);
    if (n == 0) return;
    const int64_t per_image = images.numel() / n;
    const int64_t rows = std::max<int64_t>(1, (int64_t{1} << 20) / per_image);
    for (int64_t start = 0; start < n; start += rows) {
      const torch::Tensor chunk =
          images.slice(0, start, std::min(start + rows, n))
              .to(torch::kCPU, torch::kFloat64)
              .div_(255.0);
      sum_ += chunk.sum({0, 2, 3});
      sum_sq_ += chunk.pow(2).sum({0, 2, 3});
      count_ += chunk.size(0) * chunk.size(2) * chunk.size(3);
    }
  }

  Normalizer Get() const {
    Normalizer n;
    const double count = static_cast<double>(std::max<int64_t>(count_, 1));
    const torch::Tensor mean = sum_ / count;
    const torch::Tensor var = sum_sq_ / count - mean.pow(2);
    n.mean = mean.to(torch::kFloat32);
    n.std = var.clamp_min(1e-8).sqrt().to(torch::kFloat32);
    return n;
  }

 private:
  torch::Tensor sum_;
  torch::Tensor sum_sq_;
  int64_t count_ = 0;
};

}  // namespace

Normalizer Normalizer::FromDataset(const ImageDataset& data) {
  torch::NoGradGuard no_grad;
  PixelMoments moments(data.images.size(1));
  moments.Add(data.images);
  return moments.Get();
}

absl::StatusOr<Normalizer> Normalizer::Measure(const ImageDataset& data,
                                               int64_t sample) {
  if (!data.streamed()) return FromDataset(data);
  torch::NoGradGuard no_grad;
  ImageDataset first = Subset(
      data, torch::arange(std::min(sample, data.size()), torch::kInt64));
  std::unique_ptr<StreamedImages::Reader> reader =
      first.ReadInOrder(/*batch_size=*/64, /*training_view=*/false, 0);
  PixelMoments moments(3);
  while (true) {
    absl::StatusOr<StreamedImages::Batch> batch = reader->Next();
    if (absl::IsOutOfRange(batch.status())) break;
    if (!batch.ok()) return batch.status();
    moments.Add(batch->images);
  }
  return moments.Get();
}

Normalizer Normalizer::OnDevice(const torch::Device& device) const {
  Normalizer n;
  n.mean = mean.to(device);
  n.std = std.to(device);
  return n;
}

torch::Tensor Normalizer::Apply(const torch::Tensor& images) const {
  const auto device = images.device();
  // (x / 255 - mean) / std as x * scale + shift: one conversion and two
  // passes in place, not four passes through new tensors.
  const torch::Tensor s = std.to(device).view({1, -1, 1, 1});
  const torch::Tensor scale = (s * 255.0).reciprocal();
  const torch::Tensor shift = -mean.to(device).view({1, -1, 1, 1}) / s;
  // copy=true: a float input is never changed in place.
  return images.to(torch::kFloat32, /*non_blocking=*/false, /*copy=*/true)
      .mul_(scale)
      .add_(shift);
}

// The released amoeba_net inception_preprocessing.py: preprocess_for_train
// passes area_range=(min_object_covered, 1.0) with min_object_covered 0.1
// (the function's own default, 0.05, is what slim's copy uses).
constexpr double kMinCropArea = 0.1;

torch::Tensor Augment(const torch::Tensor& batch, const AugmentOptions& options,
                      torch::Generator& generator) {
  torch::NoGradGuard no_grad;
  const int64_t b = batch.size(0);
  const int64_t c = batch.size(1);
  const int64_t h = batch.size(2);
  const int64_t w = batch.size(3);
  const auto device = batch.device();
  const auto cpu_long = torch::TensorOptions().dtype(torch::kInt64);
  torch::Tensor out = batch;

  if (options.crop_padding > 0) {
    const int64_t p = options.crop_padding;
    const torch::Tensor padded =
        torch::constant_pad_nd(out, {p, p, p, p}, 0.0);
    // Per-sample offsets in [0, 2p]; gather rows, then columns.
    const torch::Tensor dy =
        ToBatchDevice(torch::randint(0, 2 * p + 1, {b, 1}, generator, cpu_long),
                      device);
    const torch::Tensor dx =
        ToBatchDevice(torch::randint(0, 2 * p + 1, {b, 1}, generator, cpu_long),
                      device);
    const torch::Tensor rows =
        dy + torch::arange(h, cpu_long.device(device)).view({1, h});
    const torch::Tensor cols =
        dx + torch::arange(w, cpu_long.device(device)).view({1, w});
    const torch::Tensor by_rows = padded.gather(
        2, rows.view({b, 1, h, 1}).expand({b, c, h, w + 2 * p}));
    out = by_rows.gather(3, cols.view({b, 1, 1, w}).expand({b, c, h, w}));
  }
  if (options.random_resized_crop) {
    // Box sides as fractions of the image's: area a, aspect ratio r give
    // width sqrt(a r) and height sqrt(a / r).
    const auto cpu_float = torch::TensorOptions().dtype(torch::kFloat32);
    const torch::Tensor area =
        torch::rand({b}, generator, cpu_float) * (1.0 - kMinCropArea) +
        kMinCropArea;
    const double lo = std::log(3.0 / 4.0), hi = std::log(4.0 / 3.0);
    const torch::Tensor ratio =
        (torch::rand({b}, generator, cpu_float) * (hi - lo) + lo).exp();
    const torch::Tensor bw = (area * ratio).sqrt().clamp_max(1.0);
    const torch::Tensor bh = (area / ratio).sqrt().clamp_max(1.0);
    // Integer boxes where they fit; each cropped and resized on its own
    // (bilinear): on CPU several times faster than one grid_sample.
    const torch::Tensor box_w = (bw * w).round().clamp(1, w).to(torch::kInt64);
    const torch::Tensor box_h = (bh * h).round().clamp(1, h).to(torch::kInt64);
    const torch::Tensor x0 =
        (torch::rand({b}, generator, cpu_float) * (w - box_w + 1))
            .floor()
            .to(torch::kInt64);
    const torch::Tensor y0 =
        (torch::rand({b}, generator, cpu_float) * (h - box_h + 1))
            .floor()
            .to(torch::kInt64);
    const auto bw_a = box_w.accessor<int64_t, 1>();
    const auto bh_a = box_h.accessor<int64_t, 1>();
    const auto x0_a = x0.accessor<int64_t, 1>();
    const auto y0_a = y0.accessor<int64_t, 1>();
    std::vector<torch::Tensor> crops;
    crops.reserve(b);
    for (int64_t i = 0; i < b; ++i) {
      const torch::Tensor box = out[i]
                                    .slice(1, y0_a[i], y0_a[i] + bh_a[i])
                                    .slice(2, x0_a[i], x0_a[i] + bw_a[i])
                                    .unsqueeze(0);
      crops.push_back(torch::nn::functional::interpolate(
          box, torch::nn::functional::InterpolateFuncOptions()
                   .size(std::vector<int64_t>{h, w})
                   .mode(torch::kBilinear)
                   .align_corners(false)));
    }
    out = torch::cat(crops, 0);
  }
  if (options.horizontal_flip) {
    const torch::Tensor flip =
        ToBatchDevice(torch::randint(0, 2, {b}, generator, cpu_long), device)
            .to(torch::kBool);
    out = torch::where(flip.view({b, 1, 1, 1}), out.flip({3}), out);
  }
  if (options.cutout > 0) {
    const int64_t half = options.cutout / 2;
    const torch::Tensor cy =
        ToBatchDevice(torch::randint(0, h, {b, 1, 1}, generator, cpu_long), device);
    const torch::Tensor cx =
        ToBatchDevice(torch::randint(0, w, {b, 1, 1}, generator, cpu_long), device);
    const torch::Tensor ys =
        torch::arange(h, cpu_long.device(device)).view({1, h, 1});
    const torch::Tensor xs =
        torch::arange(w, cpu_long.device(device)).view({1, 1, w});
    const torch::Tensor inside = (ys >= cy - half) & (ys < cy - half + options.cutout) &
                                 (xs >= cx - half) & (xs < cx - half + options.cutout);
    out = out.masked_fill(inside.unsqueeze(1), 0.0);
  }
  return out;
}

}  // namespace amoeba
