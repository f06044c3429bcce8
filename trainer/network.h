// The network of the paper for a genotype:
//
//   stem, CIFAR-style: 3x3 conv to stem_multiplier * F channels, BN;
//   or ImageNet-style (the released code's _imagenet_stem): 3x3 conv with
//   stride 2 and no padding to stem_filters channels, BN, then two
//   reduction cells of width F/4 and F/2
//   three stacks of N normal cells; a reduction cell before stacks 2 and 3;
//   the width is F in stack 1 and doubles at each reduction cell
//   head: ReLU, global average pool, dropout, linear
//
// with an optional auxiliary head after stack 2 (2/3 depth) and
// ScheduledDropPath for final training. AmoebaNet-A with N=6, F=36 on CIFAR-10
// has the paper's 3.2M parameters, and with the ImageNet stem at N=6,
// F=190 and F=448 the paper's 86.7M and 469M (see network_test.cc and
// docs/trainer.md).
#ifndef AMOEBA_TRAINER_NETWORK_H_
#define AMOEBA_TRAINER_NETWORK_H_

#include <torch/nn/module.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/pooling.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "genotype/genotype.h"
#include "trainer/cell.h"
#include "trainer/network_options.h"

namespace amoeba {


struct NetworkOutput {
  torch::Tensor logits;
  torch::Tensor aux_logits;  // undefined without an aux head or in eval()
};

class NetworkImpl : public torch::nn::Module {
 public:
  // REQUIRES: ValidateGenotype(genotype) and ValidateNetworkOptions(options)
  // are OK.
  NetworkImpl(const Genotype& genotype, const NetworkOptions& options);

  // `images`: float [B, input_channels, image_size, image_size].
  // `progress`: fraction of training done, in [0, 1], for ScheduledDropPath
  // (ignored in eval() or when drop_path is 0).
  NetworkOutput forward(torch::Tensor images, double progress = 0.0);

  // Trainable parameters, without the auxiliary head unless asked (the
  // paper's Table 1 counts exclude it).
  int64_t num_parameters(bool include_aux_head = false) const;

  // Multiply-adds for one image through the main path (no aux head).
  int64_t multiply_adds() const { return multiply_adds_; }

  const NetworkOptions& options() const { return options_; }

 private:
  // The stem's conv and batch norm; returns its output shape.
  FeatureShape AddStem();
  // Registers a cell under `name` reading `*prev` and `*prev_prev`, then
  // moves both one cell on.
  void AddCell(const Cell& cell, CellType type, int width, bool first,
               const std::string& name, FeatureShape* prev,
               FeatureShape* prev_prev);
  // The auxiliary classifier, reading the cell just added (shape `input`).
  void AddAuxHead(const FeatureShape& input);

  NetworkOptions options_;
  int64_t multiply_adds_ = 0;
  int aux_after_cell_ = -1;  // index in cells_ after which the aux head reads

  torch::nn::Conv2d stem_conv_{nullptr};
  torch::nn::BatchNorm2d stem_bn_{nullptr};
  std::vector<NetCell> cells_;
  torch::nn::Sequential aux_head_{nullptr};
  torch::nn::Dropout dropout_{nullptr};
  torch::nn::Linear classifier_{nullptr};
};
TORCH_MODULE(Network);

}  // namespace amoeba

#endif  // AMOEBA_TRAINER_NETWORK_H_
