#include "trainer/network.h"

#include <torch/nn/functional/loss.h>
#include <torch/utils.h>

#include "catch2/catch.hpp"
#include "common/rng.h"
#include "genotype/known_cells.h"
#include "genotype/mutation.h"
#include "genotype/text.h"
#include "trainer/ops.h"

namespace amoeba {
namespace {

NetworkOptions Cifar(int n, int f) {
  NetworkOptions o;
  o.cells_per_stack = n;
  o.filters = f;
  o.input_channels = 3;
  o.image_size = 32;
  o.num_classes = 10;
  return o;
}

// The networks as the authors' released code builds them (no auxiliary
// head, CIFAR-10), counted exactly: parameters and multiply-adds per image.
TEST_CASE("Published networks have the released code's exact counts") {
  torch::NoGradGuard no_grad;
  struct Expected {
    const char* name;
    Genotype genotype;
    int f;
    int64_t parameters;
    int64_t multiply_adds;
  };
  for (const Expected& e :
       {Expected{"NASNet-A F=32", NasNetA(), 32, 3346538, 544333312},
        Expected{"AmoebaNet-A F=32", AmoebaNetA(), 32, 2567754, 407671808},
        Expected{"AmoebaNet-A F=36", AmoebaNetA(), 36, 3218266, 509668992}}) {
    INFO(e.name);
    Network net(e.genotype, Cifar(6, e.f));
    CHECK(net->num_parameters() == e.parameters);
    CHECK(net->multiply_adds() == e.multiply_adds);
  }
}

TEST_CASE("conv_1x7_7x1 strides its 1x7 and 7x1, not its bottleneck") {
  torch::NoGradGuard no_grad;
  for (int size : {8, 7}) {
    CAPTURE(size);
    int64_t macs = 0;
    FeatureShape out;
    auto op = MakeOp(Op::kConv1x7_7x1, FeatureShape{16, size, size}, 16, 2,
                     &macs, &out);
    const int half = (size + 1) / 2;
    CHECK(out == FeatureShape{16, half, half});
    CHECK(op->forward(torch::randn({1, 16, size, size})).sizes() ==
          torch::IntArrayRef({1, 16, half, half}));
    // 1x1 16->4 on size x size, 1x7 4->4 to size x half, 7x1 4->4 to
    // half x half, 1x1 4->16 on half x half.
    const int64_t expected = int64_t{size} * size * 4 * 16 +
                             int64_t{size} * half * 4 * 4 * 7 +
                             int64_t{half} * half * 4 * 4 * 7 +
                             int64_t{half} * half * 16 * 4;
    CHECK(macs == expected);
    // The layers in order: the bottleneck 1x1 keeps the resolution.
    auto first = op->children()[1]->as<torch::nn::Conv2dImpl>();
    REQUIRE(first != nullptr);
    CHECK((*first->options.stride())[0] == 1);
    CHECK((*first->options.stride())[1] == 1);
    auto one_by_seven = op->children()[4]->as<torch::nn::Conv2dImpl>();
    REQUIRE(one_by_seven != nullptr);
    CHECK((*one_by_seven->options.stride())[0] == 1);
    CHECK((*one_by_seven->options.stride())[1] == 2);
    auto seven_by_one = op->children()[7]->as<torch::nn::Conv2dImpl>();
    REQUIRE(seven_by_one != nullptr);
    CHECK((*seven_by_one->options.stride())[0] == 2);
    CHECK((*seven_by_one->options.stride())[1] == 1);
  }
}

TEST_CASE("conv_1x7_7x1 narrower than 4 channels has no bottleneck") {
  torch::NoGradGuard no_grad;
  int64_t macs = 0;
  FeatureShape out;
  auto op = MakeOp(Op::kConv1x7_7x1, FeatureShape{2, 8, 8}, 2, 1, &macs, &out);
  CHECK(out == FeatureShape{2, 8, 8});
  // The released code: ReLU, 1x7 2->2, BN, ReLU, 7x1 2->2, BN.
  int64_t parameters = 0;
  for (const auto& p : op->parameters()) parameters += p.numel();
  CHECK(parameters == 2 * 2 * 7 + 4 + 2 * 2 * 7 + 4);
  CHECK(macs == int64_t{8} * 8 * 2 * 2 * 7 * 2);
  CHECK(op->forward(torch::randn({2, 2, 8, 8})).sizes() ==
        torch::IntArrayRef({2, 2, 8, 8}));
}

TEST_CASE("Batch norm follows the released flags: epsilon 1e-5, decay 0.9") {
  Network net(AmoebaNetA(), Cifar(1, 8));
  int norms = 0;
  for (const auto& module : net->modules(/*include_self=*/false)) {
    if (auto* bn = module->as<torch::nn::BatchNorm2dImpl>()) {
      ++norms;
      CHECK(bn->options.eps() == 1e-5);
      CHECK(*bn->options.momentum() == 0.1);
    }
  }
  CHECK(norms > 10);
}

// The paper's Table 1 (no auxiliary head, CIFAR-10): within 2%.
TEST_CASE("Parameter counts match the paper's Table 1") {
  torch::NoGradGuard no_grad;
  const int64_t nasnet = Network(NasNetA(), Cifar(6, 32))->num_parameters();
  const int64_t amoeba32 =
      Network(AmoebaNetA(), Cifar(6, 32))->num_parameters();
  const int64_t amoeba36 =
      Network(AmoebaNetA(), Cifar(6, 36))->num_parameters();
  WARN("NASNet-A N=6 F=32: " << nasnet << ", AmoebaNet-A N=6 F=32: " << amoeba32
                             << ", N=6 F=36: " << amoeba36);
  CHECK(nasnet == Approx(3.3e6).epsilon(0.02));
  CHECK(amoeba32 == Approx(2.6e6).epsilon(0.02));
  CHECK(amoeba36 == Approx(3.2e6).epsilon(0.02));
}

TEST_CASE("Every op gives the right shape with stride 1 and 2") {
  torch::NoGradGuard no_grad;
  for (Op op : AllOps()) {
    for (int stride : {1, 2}) {
      for (int size : {8, 7}) {
        INFO(OpName(op) << " stride " << stride << " size " << size);
        int64_t macs = 0;
        FeatureShape out;
        auto module =
            MakeOp(op, FeatureShape{6, size, size}, 6, stride, &macs, &out);
        const torch::Tensor y =
            module->forward(torch::randn({2, 6, size, size}));
        const int expected = (size + stride - 1) / stride;  // ceil
        CHECK(y.sizes() == torch::IntArrayRef({2, 6, expected, expected}));
        CHECK(out == FeatureShape{6, expected, expected});
        // Every op except the pools and plain identity has convolutions.
        const bool parameter_free = op == Op::kAvgPool3x3 ||
                                    op == Op::kMaxPool3x3 ||
                                    (op == Op::kNone && stride == 1);
        CHECK((macs == 0) == parameter_free);
      }
    }
  }
}

TEST_CASE("Width-changing pools and none get a 1x1 conv") {
  torch::NoGradGuard no_grad;
  for (Op op : {Op::kAvgPool3x3, Op::kMaxPool3x3, Op::kNone}) {
    int64_t macs = 0;
    FeatureShape out;
    auto module = MakeOp(op, FeatureShape{4, 8, 8}, 12, 1, &macs, &out);
    CHECK(module->forward(torch::randn({1, 4, 8, 8})).size(1) == 12);
    CHECK(macs == 8 * 8 * 12 * 4);
  }
}

TEST_CASE("Factorized reduction halves resolution, keeps information") {
  torch::NoGradGuard no_grad;
  int64_t macs = 0;
  FactorizedReduction reduce(FactorizedReductionOptions({5, 9, 9}, 7), &macs);
  const torch::Tensor y = reduce->forward(torch::randn({3, 5, 9, 9}));
  CHECK(y.sizes() == torch::IntArrayRef({3, 7, 5, 5}));
  CHECK(reduce->output_shape() == FeatureShape{7, 5, 5});
  CHECK(macs == 5 * 5 * (3 + 4) * 5);
}

TEST_CASE("Factorized reduction equals the paper's stride-2 formulation") {
  // Reference: 1x1 convolutions of stride 2 on x and on x padded
  // right/bottom without its first row and column, concatenated, batch norm
  // (eval: running mean 0, variance 1).
  torch::NoGradGuard no_grad;
  for (int size : {8, 9}) {
    CAPTURE(size);
    int64_t macs = 0;
    FactorizedReduction reduce(FactorizedReductionOptions({5, size, size}, 7),
                               &macs);
    reduce->eval();
    const auto params = reduce->named_parameters();
    const torch::Tensor x = torch::randn({2, 5, size, size});
    const torch::Tensor shifted =
        torch::constant_pad_nd(x, {0, 1, 0, 1}).slice(2, 1).slice(3, 1);
    const torch::Tensor expected =
        torch::cat({torch::conv2d(x, params["path1.weight"], {}, 2),
                    torch::conv2d(shifted, params["path2.weight"], {}, 2)},
                   1) /
        std::sqrt(1.0 + kBatchNormEpsilon);
    const torch::Tensor y = reduce->forward(x);
    REQUIRE(y.sizes() == expected.sizes());
    CHECK(torch::allclose(y, expected, 1e-5, 1e-5));
    const torch::Tensor y_last =
        reduce->forward(x.contiguous(c10::MemoryFormat::ChannelsLast));
    CHECK(torch::allclose(y_last, expected, 1e-5, 1e-5));
  }
}

TEST_CASE("Multiply-adds of a stem-only count are exact") {
  // conv 3x3 from 1 to 24 channels on 28x28: 28*28*24*9 multiply-adds.
  int64_t macs = 0;
  FeatureShape out;
  MakeConv(FeatureShape{1, 28, 28}, 24, 3, 3, 1, &macs, &out);
  CHECK(macs == 28 * 28 * 24 * 9);
  CHECK(out == FeatureShape{24, 28, 28});
}

TEST_CASE("Published networks report multiply-adds and classify") {
  torch::NoGradGuard no_grad;
  NetworkOptions o;  // N=1, F=8, 28x28x1, 10 classes
  Network net(AmoebaNetA(), o);
  net->eval();
  const NetworkOutput out = net->forward(torch::randn({4, 1, 28, 28}));
  CHECK(out.logits.sizes() == torch::IntArrayRef({4, 10}));
  CHECK_FALSE(out.aux_logits.defined());
  CHECK(net->multiply_adds() > 1000000);
  CHECK(net->num_parameters() > 10000);
  // N=3 F=24 on CIFAR costs far more.
  Network big(AmoebaNetA(), Cifar(3, 24));
  CHECK(big->multiply_adds() > 10 * net->multiply_adds());
}

TEST_CASE("Auxiliary head runs in training only and is not in Table 1") {
  NetworkOptions o = Cifar(1, 8);
  o.aux_head = true;
  Network net(NasNetA(), o);
  net->train();
  const NetworkOutput out = net->forward(torch::randn({2, 3, 32, 32}));
  REQUIRE(out.aux_logits.defined());
  CHECK(out.aux_logits.sizes() == torch::IntArrayRef({2, 10}));
  CHECK(net->num_parameters(true) > net->num_parameters(false));
  o.aux_head = false;
  CHECK(Network(NasNetA(), o)->num_parameters() == net->num_parameters(false));
  net->eval();
  torch::NoGradGuard no_grad;
  CHECK_FALSE(net->forward(torch::randn({2, 3, 32, 32})).aux_logits.defined());
}

TEST_CASE("Drop path zeroes whole samples and keeps the expectation") {
  torch::manual_seed(0);
  const torch::Tensor x = torch::ones({4000, 2, 3, 3});
  const torch::Tensor y = DropPath(x, 0.3);
  const torch::Tensor per_sample = y.sum({1, 2, 3});
  const double zero_fraction =
      (per_sample == 0).to(torch::kFloat).mean().item<double>();
  CHECK(zero_fraction == Approx(0.3).margin(0.03));
  CHECK(y.mean().item<double>() == Approx(1.0).margin(0.05));
  CHECK(torch::equal(DropPath(x, 0.0), x));
}

TEST_CASE("Scheduled drop path is off at the start and in eval") {
  torch::manual_seed(1);
  NetworkOptions o;
  o.drop_path = 0.5;
  Network net(AmoebaNetA(), o);
  net->eval();
  torch::NoGradGuard no_grad;
  const torch::Tensor x = torch::randn({2, 1, 28, 28});
  CHECK(torch::allclose(net->forward(x, 1.0).logits,
                        net->forward(x, 0.0).logits));
}

TEST_CASE("Hundreds of random genotypes build and train a step") {
  Rng rng(123);
  NetworkOptions o;
  o.filters = 4;
  o.image_size = 12;
  for (int i = 0; i < 200; ++i) {
    const Genotype g = RandomGenotype(rng);
    INFO(FormatGenotype(g));
    Network net(g, o);
    net->train();
    const torch::Tensor x = torch::randn({2, 1, 12, 12});
    const torch::Tensor loss = torch::nn::functional::cross_entropy(
        net->forward(x).logits, torch::tensor({1, 7}));
    loss.backward();
    REQUIRE(std::isfinite(loss.item<double>()));
    int64_t with_grad = 0;
    for (const auto& p : net->parameters()) {
      if (p.grad().defined()) ++with_grad;
    }
    // Every parameter takes part in the output.
    REQUIRE(with_grad == static_cast<int64_t>(net->parameters().size()));
  }
}

TEST_CASE("Network options are validated") {
  NetworkOptions o;
  CHECK(ValidateNetworkOptions(o).ok());
  o.cells_per_stack = 0;
  CHECK_THAT(std::string(ValidateNetworkOptions(o).message()),
             Catch::Contains("N (cells per stack) must be in 1..64, got 0"));
  o = NetworkOptions();
  o.image_size = 4;
  CHECK_THAT(std::string(ValidateNetworkOptions(o).message()),
             Catch::Contains("image size"));
  o = NetworkOptions();
  o.drop_path = 1.0;
  CHECK_FALSE(ValidateNetworkOptions(o).ok());
}

}  // namespace
}  // namespace amoeba

namespace amoeba {
namespace {

NetworkOptions ImageNet(int n, int f, int image_size) {
  NetworkOptions o = Cifar(n, f);
  o.image_size = image_size;
  o.num_classes = 1001;
  o.stem = Stem::kImageNet;
  o.aux_head = true;
  o.aux_scaling = 0.4;
  return o;
}

// The released ImageNet code's network (tensorflow/tpu amoeba_net: 1,001
// classes, stem of 32 filters, aux head scaled by 0.4), counted exactly.
// AmoebaNet-A N=6 F=190 is the paper's 86.7M without the aux head; at F=448
// the paper's 469M is the count with it. docs/trainer.md has the table.
TEST_CASE("ImageNet networks have the released code's exact counts") {
  torch::NoGradGuard no_grad;
  struct Expected {
    const char* name;
    Genotype genotype;
    int f;
    int image_size;
    int64_t parameters;
    int64_t with_aux_head;
    int64_t multiply_adds;
  };
  for (const Expected& e : {
           Expected{"AmoebaNet-A F=190 224", AmoebaNetA(), 190, 224, 86721838,
                    87358894, 9995376581},
           Expected{"AmoebaNet-A F=190 331", AmoebaNetA(), 190, 331, 86721838,
                    87672034, 23133666547},
           Expected{"AmoebaNet-A F=448 224", AmoebaNetA(), 448, 224, 468158353,
                    468900673, 54638762272},
           Expected{"AmoebaNet-A F=448 331", AmoebaNetA(), 448, 331, 468158353,
                    469213813, 126520764944},
           Expected{"NASNet-A F=168 331", NasNetA(), 168, 331, 88731327,
                    89706819, 23516374722},
       }) {
    INFO(e.name);
    Network net(e.genotype, ImageNet(6, e.f, e.image_size));
    CHECK(net->num_parameters(false) == e.parameters);
    CHECK(net->num_parameters(true) == e.with_aux_head);
    CHECK(net->multiply_adds() == e.multiply_adds);
  }
}

TEST_CASE("An ImageNet network runs and its stem reduces five times") {
  NetworkOptions o = ImageNet(1, 8, 224);
  REQUIRE(ValidateNetworkOptions(o).ok());
  Network net(AmoebaNetA(), o);
  net->train();
  const NetworkOutput out = net->forward(torch::randn({2, 3, 224, 224}));
  CHECK(out.logits.sizes() == torch::IntArrayRef({2, 1001}));
  CHECK(out.aux_logits.sizes() == torch::IntArrayRef({2, 1001}));
  // The 1x1 head reads the last cell: 224 -> 111 (stem conv) -> 56 -> 28
  // (stem cells) -> 14 -> 7 (reduction cells).
  int64_t classifier_inputs = 0;
  for (const auto& p : net->named_parameters()) {
    if (p.key() == "classifier.weight") classifier_inputs = p.value().size(1);
  }
  // Stack 3 is 4F wide per state; the cell concatenates its unused states.
  CHECK(classifier_inputs % (4 * 8) == 0);
  // An odd F/2 (F=190: 95) is built, with factorized reductions of 47 + 48.
  CHECK(ValidateNetworkOptions(ImageNet(1, 190, 224)).ok());
  NetworkOptions small = ImageNet(1, 8, 32);
  CHECK_THAT(std::string(ValidateNetworkOptions(small).message()),
             Catch::Contains("at least 64 with the ImageNet stem"));
  NetworkOptions narrow = ImageNet(1, 2, 224);
  CHECK_THAT(std::string(ValidateNetworkOptions(narrow).message()),
             Catch::Contains("F must be at least 4"));
}

}  // namespace
}  // namespace amoeba
