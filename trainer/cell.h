// One cell of the network, built from a genotype cell (see
// genotype/genotype.h for the semantics).
//
// Built as the authors' released code builds it (tensorflow/tpu amoeba_net
// network_utils.py, slim nasnet_utils.py). Inputs: `prev` (state 0, the
// previous cell's output) and `prev_prev` (state 1, the output before it).
// State 0 is always ReLU -> 1x1 conv -> BN to the cell's width. State 1 is,
// in the network's first cell, the stem's output unchanged; otherwise ReLU
// -> factorized reduction when its resolution differs from `prev`'s, ReLU ->
// 1x1 -> BN when only its width differs from the cell's, else unchanged
// (ops adapt to any input width, see MakeOp). In a reduction cell, ops that
// read state 0 or 1 use stride 2. The unused states are concatenated into
// the output; one whose resolution differs goes through a factorized
// reduction, one whose width differs through 1x1 -> BN.
#ifndef AMOEBA_TRAINER_CELL_H_
#define AMOEBA_TRAINER_CELL_H_

#include <torch/nn/module.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/pooling.h>

#include <cstdint>
#include <vector>

#include "genotype/genotype.h"
#include "trainer/ops.h"

namespace amoeba {

struct NetCellOptions {
  NetCellOptions(Cell cell, CellType type, int channels, FeatureShape prev,
                 FeatureShape prev_prev)
      : cell_(std::move(cell)),
        type_(type),
        channels_(channels),
        prev_(prev),
        prev_prev_(prev_prev) {}
  TORCH_ARG(Cell, cell);
  TORCH_ARG(CellType, type);
  // Width of every op and state inside the cell.
  TORCH_ARG(int, channels);
  TORCH_ARG(FeatureShape, prev);
  TORCH_ARG(FeatureShape, prev_prev);
  // The network's first cell: state 1 is `prev_prev` as it is.
  TORCH_ARG(bool, first_cell) = false;
};

class NetCellImpl : public torch::nn::Module {
 public:
  // REQUIRES: ValidateCell(options.cell(), options.type()) is OK; prev_prev
  // has the resolution of prev or twice it.
  NetCellImpl(const NetCellOptions& options, int64_t* macs);

  // `drop_path_prob` > 0 (training only) drops each non-identity op's output
  // for a whole sample with that probability, scaling the kept ones.
  torch::Tensor forward(torch::Tensor prev, torch::Tensor prev_prev,
                        double drop_path_prob = 0.0);

  FeatureShape output_shape() const { return output_shape_; }

 private:
  NetCellOptions options_;
  std::vector<int> outputs_;       // states concatenated, ascending
  std::vector<bool> skips_drop_path_;  // per position: the op is `none`
  FeatureShape output_shape_;

  torch::nn::Sequential preprocess_prev_{nullptr};
  torch::nn::Sequential preprocess_prev_prev_{nullptr};
  torch::nn::ModuleList ops_;
  // Per output state: what brings it to the output's resolution and width
  // (null when it is there already).
  std::vector<torch::nn::Sequential> output_adapters_;
};
TORCH_MODULE(NetCell);

// Zeroes whole samples of `x` with probability `drop_prob` and scales the
// rest by 1 / (1 - drop_prob).
torch::Tensor DropPath(const torch::Tensor& x, double drop_prob);

}  // namespace amoeba

#endif  // AMOEBA_TRAINER_CELL_H_
