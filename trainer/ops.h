// The eight ops of the search space as LibTorch modules, plus the
// factorized reduction. Every builder here also accounts the multiply-adds
// of one image through what it builds, from the input shape it is given, so
// the network knows its cost without a profiling pass.
#ifndef AMOEBA_TRAINER_OPS_H_
#define AMOEBA_TRAINER_OPS_H_

#include <torch/nn/module.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/pooling.h>

#include <cstdint>

#include "genotype/ops.h"

namespace amoeba {

// Channels and spatial size of a feature map (one image).
struct FeatureShape {
  int channels = 0;
  int height = 0;
  int width = 0;

  friend bool operator==(const FeatureShape& a, const FeatureShape& b) {
    return a.channels == b.channels && a.height == b.height &&
           a.width == b.width;
  }
};

// Spatial size after a window of `kernel` (dilated) with `padding`, `stride`.
int ConvOutputSize(int size, int kernel, int stride, int padding,
                   int dilation = 1);

// Convolution without bias (always followed by batch norm) that adds its
// multiply-adds for input `in` to *macs and returns the output shape in
// *out.
torch::nn::Conv2d MakeConv(const FeatureShape& in, int out_channels,
                           int kernel_h, int kernel_w, int stride,
                           int64_t* macs, FeatureShape* out, int groups = 1,
                           int dilation = 1);
// The same with its own stride per axis (the 1x7 and 7x1 of conv_1x7_7x1).
torch::nn::Conv2d MakeConv(const FeatureShape& in, int out_channels,
                           int kernel_h, int kernel_w, int stride_h,
                           int stride_w, int64_t* macs, FeatureShape* out);

// Batch norm with the released amoeba_net flags' batch_norm_epsilon=1e-5
// and batch_norm_decay=0.9.
inline constexpr double kBatchNormEpsilon = 1e-5;
inline constexpr double kBatchNormMomentum = 0.1;
torch::nn::BatchNorm2d MakeBatchNorm(int channels);

// Two stride-2 1x1 convolutions, the second on the grid shifted by one
// pixel, concatenated to `out_channels`, then batch norm. Halves the
// resolution without discarding every other pixel. The optional leading ReLU
// is used when it preprocesses a cell input.
struct FactorizedReductionOptions {
  FactorizedReductionOptions(FeatureShape in, int out_channels)
      : in_(in), out_channels_(out_channels) {}
  TORCH_ARG(FeatureShape, in);
  TORCH_ARG(int, out_channels);
  TORCH_ARG(bool, relu_first) = false;
};

class FactorizedReductionImpl : public torch::nn::Module {
 public:
  FactorizedReductionImpl(const FactorizedReductionOptions& options,
                          int64_t* macs);
  torch::Tensor forward(torch::Tensor x);

  FeatureShape output_shape() const { return out_; }

 private:
  FactorizedReductionOptions options_;
  FeatureShape out_;
  torch::nn::Conv2d path1_{nullptr};
  torch::nn::Conv2d path2_{nullptr};
  torch::nn::BatchNorm2d bn_{nullptr};
};
TORCH_MODULE(FactorizedReduction);

// ReLU -> 1x1 convolution -> batch norm, the usual width adapter.
torch::nn::Sequential MakeReluConvBn(const FeatureShape& in, int out_channels,
                                     int stride, int64_t* macs,
                                     FeatureShape* out);

// One op of a cell, reading a map of shape `in` and producing
// `out_channels` channels at resolution in / stride. Where each op puts its
// stride, as the authors' released code (tensorflow/tpu amoeba_net
// network_utils.py, slim nasnet_utils.py) does:
//   sep_conv_KxK:     2 x (ReLU, depthwise KxK, pointwise 1x1, BN); the
//                     stride on the first depthwise conv
//   dil_sep_conv_3x3: ReLU, depthwise 3x3 dilation 2 (the stride), pointwise,
//                     BN
//   avg/max_pool_3x3: the 3x3 window strides (padding 1; avg without the
//                     padding in the count), then 1x1 conv + BN when the
//                     width changes
//   none:             identity, or ReLU -> 1x1 conv (the stride) -> BN when
//                     it must reduce or change the width
//   conv_1x7_7x1:     ReLU, 1x1 to out/4 (no stride), BN, ReLU, 1x7 with
//                     stride (1, s), BN, ReLU, 7x1 with stride (s, 1), BN,
//                     ReLU, 1x1 to out, BN: no pixel is dropped before a
//                     spatial convolution has seen it. Below 4 channels (no
//                     whole out/4), as the released code: ReLU, 1x7, BN,
//                     ReLU, 7x1, BN at full width.
// Where this is not the released code:
//   dil_sep_conv_3x3 has no released counterpart (the released ops are
//                     separable convs without dilation and dense dilated
//                     3x3 convs): it is built from the paper's description,
//                     one separable layer with dilation 2.
// REQUIRES: IsValidOp(op), stride in {1, 2}.
torch::nn::Sequential MakeOp(Op op, const FeatureShape& in, int out_channels,
                             int stride, int64_t* macs, FeatureShape* out);

}  // namespace amoeba

#endif  // AMOEBA_TRAINER_OPS_H_
