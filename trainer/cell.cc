#include "trainer/cell.h"

#include <string>

#include "trainer/generator.h"

namespace amoeba {

torch::Tensor DropPath(const torch::Tensor& x, double drop_prob) {
  if (drop_prob <= 0.0) return x;
  const double keep = 1.0 - drop_prob;
  torch::Tensor mask =
      torch::empty({x.size(0), 1, 1, 1}, x.options())
          .bernoulli_(keep, TrainingGenerator(x.device()));
  return x * mask / keep;
}

NetCellImpl::NetCellImpl(const NetCellOptions& options, int64_t* macs)
    : options_(options), ops_(torch::nn::ModuleList()) {
  const Cell& cell = options.cell();
  const int c = options.channels();
  const bool reduction = options.type() == CellType::kReduction;

  FeatureShape state0;
  preprocess_prev_ = register_module(
      "preprocess_prev", MakeReluConvBn(options.prev(), c, 1, macs, &state0));
  FeatureShape state1 = options.prev_prev();
  if (options.first_cell()) {
    preprocess_prev_prev_ = torch::nn::Sequential(torch::nn::Identity());
  } else if (options.prev_prev().height != options.prev().height) {
    auto reduce = FactorizedReduction(
        FactorizedReductionOptions(options.prev_prev(), c).relu_first(true),
        macs);
    state1 = reduce->output_shape();
    preprocess_prev_prev_ = torch::nn::Sequential(reduce);
  } else if (options.prev_prev().channels != c) {
    preprocess_prev_prev_ =
        MakeReluConvBn(options.prev_prev(), c, 1, macs, &state1);
  } else {
    preprocess_prev_prev_ = torch::nn::Sequential(torch::nn::Identity());
  }
  register_module("preprocess_prev_prev", preprocess_prev_prev_);

  std::vector<FeatureShape> states = {state0, state1};
  for (int combination = 0; combination < kNumCombinations; ++combination) {
    FeatureShape created;
    for (int element = 0; element < 2; ++element) {
      const int p = 2 * combination + element;
      const int input = cell.inputs[p];
      const int stride = reduction && input < kNumCellInputs ? 2 : 1;
      FeatureShape out;
      ops_->push_back(MakeOp(cell.ops[p], states[input], c, stride, macs, &out));
      // As the released code: no drop path after any `none`, also one that
      // became a strided or width-changing 1x1 conv.
      skips_drop_path_.push_back(cell.ops[p] == Op::kNone);
      created = out;
    }
    states.push_back(created);
  }
  register_module("ops", ops_);

  outputs_ = OutputStateList(cell);
  const FeatureShape final_shape = states.back();
  output_shape_ = FeatureShape{0, final_shape.height, final_shape.width};
  output_adapters_.assign(kNumStates, nullptr);
  for (int s : outputs_) {
    torch::nn::Sequential adapter{nullptr};
    if (states[s].height != final_shape.height) {
      adapter = torch::nn::Sequential(FactorizedReduction(
          FactorizedReductionOptions(states[s], c), macs));
    } else if (states[s].channels != c) {
      FeatureShape adapted;
      adapter = torch::nn::Sequential(
          MakeConv(states[s], c, 1, 1, 1, macs, &adapted), MakeBatchNorm(c));
    }
    if (!adapter.is_empty()) {
      output_adapters_[s] =
          register_module("output_adapter" + std::to_string(s), adapter);
    }
    output_shape_.channels += c;
  }
}

torch::Tensor NetCellImpl::forward(torch::Tensor prev, torch::Tensor prev_prev,
                                   double drop_path_prob) {
  std::vector<torch::Tensor> states;
  states.reserve(kNumStates);
  states.push_back(preprocess_prev_->forward(prev));
  states.push_back(preprocess_prev_prev_->forward(prev_prev));
  const Cell& cell = options_.cell();
  const double drop = is_training() ? drop_path_prob : 0.0;
  for (int combination = 0; combination < kNumCombinations; ++combination) {
    torch::Tensor sum;
    for (int element = 0; element < 2; ++element) {
      const int p = 2 * combination + element;
      torch::Tensor h = ops_[p]->as<torch::nn::Sequential>()->forward(
          states[cell.inputs[p]]);
      if (!skips_drop_path_[p]) h = DropPath(h, drop);
      sum = element == 0 ? h : sum + h;
    }
    states.push_back(sum);
  }
  std::vector<torch::Tensor> concat;
  concat.reserve(outputs_.size());
  for (int s : outputs_) {
    concat.push_back(output_adapters_[s].is_empty()
                         ? states[s]
                         : output_adapters_[s]->forward(states[s]));
  }
  return torch::cat(concat, 1);
}

}  // namespace amoeba
