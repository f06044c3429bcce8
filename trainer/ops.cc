#include "trainer/ops.h"

#include <torch/nn/modules/activation.h>

#include <algorithm>

namespace amoeba {
namespace {

void AppendBatchNorm(torch::nn::Sequential& seq, int channels) {
  seq->push_back(MakeBatchNorm(channels));
}

// ReLU, depthwise KxK (stride, dilation), pointwise 1x1, BN.
void AppendSeparableLayer(torch::nn::Sequential& seq, FeatureShape& shape,
                          int out_channels, int kernel, int stride,
                          int dilation, int64_t* macs) {
  seq->push_back(torch::nn::ReLU());
  FeatureShape depthwise_out;
  seq->push_back(MakeConv(shape, shape.channels, kernel, kernel, stride, macs,
                          &depthwise_out, /*groups=*/shape.channels, dilation));
  FeatureShape pointwise_out;
  seq->push_back(
      MakeConv(depthwise_out, out_channels, 1, 1, 1, macs, &pointwise_out));
  AppendBatchNorm(seq, out_channels);
  shape = pointwise_out;
}

// ReLU -> conv (kh x kw, stride per axis) -> BN, appended to `seq`.
void AppendReluConvBn(torch::nn::Sequential& seq, FeatureShape& shape,
                      int out_channels, int kernel_h, int kernel_w,
                      int stride_h, int stride_w, int64_t* macs) {
  seq->push_back(torch::nn::ReLU());
  FeatureShape out;
  seq->push_back(MakeConv(shape, out_channels, kernel_h, kernel_w, stride_h,
                          stride_w, macs, &out));
  AppendBatchNorm(seq, out_channels);
  shape = out;
}

}  // namespace

int ConvOutputSize(int size, int kernel, int stride, int padding,
                   int dilation) {
  const int effective = dilation * (kernel - 1) + 1;
  return (size + 2 * padding - effective) / stride + 1;
}

torch::nn::Conv2d MakeConv(const FeatureShape& in, int out_channels,
                           int kernel_h, int kernel_w, int stride,
                           int64_t* macs, FeatureShape* out, int groups,
                           int dilation) {
  // "Same" padding for odd kernels.
  const int pad_h = dilation * (kernel_h - 1) / 2;
  const int pad_w = dilation * (kernel_w - 1) / 2;
  out->channels = out_channels;
  out->height = ConvOutputSize(in.height, kernel_h, stride, pad_h, dilation);
  out->width = ConvOutputSize(in.width, kernel_w, stride, pad_w, dilation);
  *macs += static_cast<int64_t>(out->height) * out->width * out_channels *
           (in.channels / groups) * kernel_h * kernel_w;
  return torch::nn::Conv2d(
      torch::nn::Conv2dOptions(in.channels, out_channels, {kernel_h, kernel_w})
          .stride(stride)
          .padding({pad_h, pad_w})
          .dilation(dilation)
          .groups(groups)
          .bias(false));
}

torch::nn::Conv2d MakeConv(const FeatureShape& in, int out_channels,
                           int kernel_h, int kernel_w, int stride_h,
                           int stride_w, int64_t* macs, FeatureShape* out) {
  const int pad_h = (kernel_h - 1) / 2;
  const int pad_w = (kernel_w - 1) / 2;
  out->channels = out_channels;
  out->height = ConvOutputSize(in.height, kernel_h, stride_h, pad_h);
  out->width = ConvOutputSize(in.width, kernel_w, stride_w, pad_w);
  *macs += static_cast<int64_t>(out->height) * out->width * out_channels *
           in.channels * kernel_h * kernel_w;
  return torch::nn::Conv2d(
      torch::nn::Conv2dOptions(in.channels, out_channels, {kernel_h, kernel_w})
          .stride({stride_h, stride_w})
          .padding({pad_h, pad_w})
          .bias(false));
}

torch::nn::BatchNorm2d MakeBatchNorm(int channels) {
  // The released amoeba_net flags: batch_norm_epsilon 1e-5,
  // batch_norm_decay 0.9 (LibTorch's momentum is 1 - decay).
  return torch::nn::BatchNorm2d(torch::nn::BatchNorm2dOptions(channels)
                                    .eps(kBatchNormEpsilon)
                                    .momentum(kBatchNormMomentum));
}

FactorizedReductionImpl::FactorizedReductionImpl(
    const FactorizedReductionOptions& options, int64_t* macs)
    : options_(options) {
  const FeatureShape& in = options.in();
  const int half = options.out_channels() / 2;
  // Shape and multiply-adds of the paper's stride-2 1x1 convolutions; they
  // run in forward() as stride-1 convolutions on every second pixel (the
  // same result), whose own count would see the full-size input.
  out_ =
      FeatureShape{options.out_channels(), ConvOutputSize(in.height, 1, 2, 0),
                   ConvOutputSize(in.width, 1, 2, 0)};
  *macs += static_cast<int64_t>(out_.height) * out_.width *
           options.out_channels() * in.channels;
  FeatureShape unused;
  int64_t counted_above = 0;
  path1_ = register_module(
      "path1", MakeConv(in, half, 1, 1, 1, &counted_above, &unused));
  path2_ = register_module("path2", MakeConv(in, options.out_channels() - half,
                                             1, 1, 1, &counted_above, &unused));
  bn_ = register_module("bn", MakeBatchNorm(options.out_channels()));
}

torch::Tensor FactorizedReductionImpl::forward(torch::Tensor x) {
  if (options_.relu_first()) x = torch::relu(x);
  // Path 1 reads the even rows and columns, path 2 the odd ones (the grid
  // shifted by one pixel, zero beyond the last row/column when the size is
  // odd). This equals 1x1 convolutions of stride 2 on x and on x padded
  // right/bottom without its first row and column, but LibTorch's backward
  // of a strided 1x1 convolution on CPU is many times slower than that of
  // a dense one, and the pad-and-slice formulation fills and copies a
  // full-size gradient twice.
  const int64_t height = x.size(2);
  const int64_t width = x.size(3);
  torch::Tensor even = x.slice(2, 0, height, 2).slice(3, 0, width, 2);
  torch::Tensor odd = x.slice(2, 1, height, 2).slice(3, 1, width, 2);
  if (height % 2 == 1 || width % 2 == 1) {
    odd = torch::constant_pad_nd(odd, {0, width % 2, 0, height % 2});
  }
  return bn_(torch::cat({path1_(even), path2_(odd)}, 1));
}

torch::nn::Sequential MakeReluConvBn(const FeatureShape& in, int out_channels,
                                     int stride, int64_t* macs,
                                     FeatureShape* out) {
  torch::nn::Sequential seq;
  FeatureShape shape = in;
  AppendReluConvBn(seq, shape, out_channels, 1, 1, stride, stride, macs);
  *out = shape;
  return seq;
}

torch::nn::Sequential MakeOp(Op op, const FeatureShape& in, int out_channels,
                             int stride, int64_t* macs, FeatureShape* out) {
  torch::nn::Sequential seq;
  FeatureShape shape = in;
  switch (op) {
    case Op::kSepConv3x3:
    case Op::kSepConv5x5:
    case Op::kSepConv7x7: {
      const int kernel =
          op == Op::kSepConv3x3 ? 3 : (op == Op::kSepConv5x5 ? 5 : 7);
      AppendSeparableLayer(seq, shape, out_channels, kernel, stride, 1, macs);
      AppendSeparableLayer(seq, shape, out_channels, kernel, 1, 1, macs);
      break;
    }
    case Op::kDilSepConv3x3:
      AppendSeparableLayer(seq, shape, out_channels, 3, stride, 2, macs);
      break;
    case Op::kAvgPool3x3:
    case Op::kMaxPool3x3: {
      if (op == Op::kAvgPool3x3) {
        seq->push_back(torch::nn::AvgPool2d(torch::nn::AvgPool2dOptions(3)
                                                .stride(stride)
                                                .padding(1)
                                                .count_include_pad(false)));
      } else {
        seq->push_back(torch::nn::MaxPool2d(
            torch::nn::MaxPool2dOptions(3).stride(stride).padding(1)));
      }
      shape.height = ConvOutputSize(shape.height, 3, stride, 1);
      shape.width = ConvOutputSize(shape.width, 3, stride, 1);
      // Comparisons/additions of a pool are not multiply-adds.
      if (shape.channels != out_channels) {
        FeatureShape conv_out;
        seq->push_back(MakeConv(shape, out_channels, 1, 1, 1, macs, &conv_out));
        AppendBatchNorm(seq, out_channels);
        shape = conv_out;
      }
      break;
    }
    case Op::kNone:
      if (stride > 1 || shape.channels != out_channels) {
        AppendReluConvBn(seq, shape, out_channels, 1, 1, stride, stride, macs);
      } else {
        seq->push_back(torch::nn::Identity());
      }
      break;
    case Op::kConv1x7_7x1: {
      // The released code's stride placement: the bottleneck keeps every
      // pixel; the 1x7 strides along the width, the 7x1 along the height.
      const int bottleneck = out_channels / 4;
      if (bottleneck < 1) {
        // As the released code: no bottleneck below 4 channels, the 1x7
        // and 7x1 at full width, each followed by batch norm.
        AppendReluConvBn(seq, shape, out_channels, 1, 7, 1, stride, macs);
        AppendReluConvBn(seq, shape, out_channels, 7, 1, stride, 1, macs);
        break;
      }
      AppendReluConvBn(seq, shape, bottleneck, 1, 1, 1, 1, macs);
      AppendReluConvBn(seq, shape, bottleneck, 1, 7, 1, stride, macs);
      AppendReluConvBn(seq, shape, bottleneck, 7, 1, stride, 1, macs);
      AppendReluConvBn(seq, shape, out_channels, 1, 1, 1, 1, macs);
      break;
    }
  }
  *out = shape;
  return seq;
}

}  // namespace amoeba
