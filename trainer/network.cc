#include "trainer/network.h"

#include <torch/nn/modules/activation.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/training_limits.h"
#include "trainer/generator.h"

namespace amoeba {

NetworkImpl::NetworkImpl(const Genotype& genotype,
                         const NetworkOptions& options)
    : options_(options) {
  // Modules are registered in the order of the network: the order of the
  // parameters, of their initialisation draws and of saved models.
  FeatureShape prev_prev = AddStem();
  FeatureShape prev = prev_prev;
  if (options.stem == Stem::kImageNet) {
    // Two reduction cells at F/4 and F/2 (filter_scaling 1/4 and 1/2, the
    // width int(F * scaling)); the first one's second input is the stem's
    // output as it is (its prev_layer is None).
    for (int i = 0; i < 2; ++i) {
      AddCell(genotype.reduction, CellType::kReduction,
              options.filters / (i == 0 ? 4 : 2), /*first=*/i == 0,
              absl::StrCat("stem_cell", i), &prev, &prev_prev);
    }
  }
  int width = options.filters;
  for (int stack = 0; stack < 3; ++stack) {
    if (stack > 0) {
      width *= 2;
      AddCell(genotype.reduction, CellType::kReduction, width, /*first=*/false,
              absl::StrCat("cell", cells_.size(), "_reduction"), &prev,
              &prev_prev);
    }
    for (int i = 0; i < options.cells_per_stack; ++i) {
      AddCell(genotype.normal, CellType::kNormal, width,
              /*first=*/cells_.empty(),
              absl::StrCat("cell", cells_.size(), "_normal"), &prev,
              &prev_prev);
    }
    if (stack == 1 && options.aux_head) AddAuxHead(prev);
  }
  dropout_ = register_module("dropout", torch::nn::Dropout(options.dropout));
  classifier_ = register_module(
      "classifier", torch::nn::Linear(prev.channels, options.num_classes));
  multiply_adds_ +=
      static_cast<int64_t>(prev.channels) * options.num_classes;
}

FeatureShape NetworkImpl::AddStem() {
  const NetworkOptions& options = options_;
  const FeatureShape input{options.input_channels, options.image_size,
                           options.image_size};
  FeatureShape stem_out;
  if (options.stem == Stem::kImageNet) {
    // slim.conv2d(inputs, stem_reduction_size, [3, 3], stride=2,
    // padding='VALID'): 224 -> 111.
    const int size = (options.image_size - 3) / 2 + 1;
    stem_out = FeatureShape{options.stem_filters, size, size};
    stem_conv_ = register_module(
        "stem_conv",
        torch::nn::Conv2d(torch::nn::Conv2dOptions(options.input_channels,
                                                   options.stem_filters, 3)
                              .stride(2)
                              .padding(0)
                              .bias(false)));
    multiply_adds_ += int64_t{size} * size * options.stem_filters *
                      options.input_channels * 9;
  } else {
    const int stem_channels = std::max(
        1, static_cast<int>(options.stem_multiplier * options.filters));
    stem_conv_ = register_module(
        "stem_conv",
        MakeConv(input, stem_channels, 3, 3, 1, &multiply_adds_, &stem_out));
  }
  stem_bn_ = register_module("stem_bn", MakeBatchNorm(stem_out.channels));
  return stem_out;
}

void NetworkImpl::AddCell(const Cell& cell, CellType type, int width,
                          bool first, const std::string& name,
                          FeatureShape* prev, FeatureShape* prev_prev) {
  NetCell added(
      NetCellOptions(cell, type, width, *prev, *prev_prev).first_cell(first),
      &multiply_adds_);
  cells_.push_back(register_module(name, added));
  *prev_prev = *prev;
  *prev = added->output_shape();
}

void NetworkImpl::AddAuxHead(const FeatureShape& input) {
  aux_after_cell_ = static_cast<int>(cells_.size()) - 1;
  // ReLU, 5x5 average pool stride 3, 1x1 conv 128 + BN + ReLU, a conv over
  // the whole remaining map to 768 + BN + ReLU, linear.
  const int pool = std::min(5, input.height);
  const int pooled = (input.height - pool) / 3 + 1;
  const int projected = static_cast<int>(128 * options_.aux_scaling);
  const int hidden = static_cast<int>(768 * options_.aux_scaling);
  aux_head_ = register_module(
      "aux_head",
      torch::nn::Sequential(
          torch::nn::ReLU(),
          torch::nn::AvgPool2d(torch::nn::AvgPool2dOptions(pool).stride(3)),
          torch::nn::Conv2d(
              torch::nn::Conv2dOptions(input.channels, projected, 1)
                  .bias(false)),
          MakeBatchNorm(projected), torch::nn::ReLU(),
          torch::nn::Conv2d(
              torch::nn::Conv2dOptions(projected, hidden, pooled).bias(false)),
          MakeBatchNorm(hidden), torch::nn::ReLU(), torch::nn::Flatten(),
          torch::nn::Linear(hidden, options_.num_classes)));
}

NetworkOutput NetworkImpl::forward(torch::Tensor images, double progress) {
  NetworkOutput output;
  torch::Tensor stem = stem_bn_(stem_conv_(images));
  torch::Tensor prev_prev = stem;
  torch::Tensor prev = stem;
  const int total = static_cast<int>(cells_.size());
  for (int i = 0; i < total; ++i) {
    const double drop = DropPathProbability(options_, i, total, progress);
    torch::Tensor out = cells_[i]->forward(prev, prev_prev, drop);
    prev_prev = prev;
    prev = out;
    if (i == aux_after_cell_ && is_training()) {
      output.aux_logits = aux_head_->forward(prev);
    }
  }
  torch::Tensor pooled =
      torch::adaptive_avg_pool2d(torch::relu(prev), {1, 1}).flatten(1);
  // Dropout as a mask from the run's own generator (trainer/generator.h);
  // torch::nn::Dropout would draw from the process-wide one.
  const double p = options_.dropout;
  if (is_training() && p > 0) {
    torch::Tensor keep = torch::empty_like(pooled).bernoulli_(
        1.0 - p, TrainingGenerator(pooled.device()));
    pooled = pooled * keep / (1.0 - p);
  }
  output.logits = classifier_(pooled);
  return output;
}

int64_t NetworkImpl::num_parameters(bool include_aux_head) const {
  int64_t total = 0;
  for (const auto& p : parameters()) total += p.numel();
  if (!include_aux_head && !aux_head_.is_empty()) {
    for (const auto& p : aux_head_->parameters()) total -= p.numel();
  }
  return total;
}

}  // namespace amoeba
