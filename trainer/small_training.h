// For the trainer's tests: Fashion-MNIST from Debian's package cut small
// and prepared once per size, quick training options and a tiny network.
#ifndef AMOEBA_TRAINER_SMALL_TRAINING_H_
#define AMOEBA_TRAINER_SMALL_TRAINING_H_

#include <cstdint>
#include <map>
#include <utility>

// LibTorch's headers first: with glog they define a CHECK that must not
// replace Catch2's.
#include "trainer/train.h"
// (Catch2 after them.)
#include "catch2/catch.hpp"

namespace amoeba {

// Fashion-MNIST from Debian's package, cut small.
inline const PreparedData& SmallFashionMnist(int64_t train, int64_t validation) {
  static std::map<std::pair<int64_t, int64_t>, PreparedData> cache;
  auto it = cache.find({train, validation});
  if (it != cache.end()) return it->second;
  DataOptions options;
  options.validation_images = validation;
  options.max_train_images = train;
  auto split = LoadDataSplit(options);
  REQUIRE(split.ok());
  auto data = PrepareData(*split, torch::kCPU);
  REQUIRE(data.ok());
  return cache.emplace(std::make_pair(train, validation), *data).first->second;
}

inline TrainOptions Quick(int epochs) {
  TrainOptions o;
  o.epochs = epochs;
  o.batch_size = 64;
  o.learning_rate = 0.05;
  o.augment = DefaultAugmentation(DatasetKind::kFashionMnist);
  o.device.threads = 1;
  return o;
}

inline NetworkOptions Tiny(int filters) {
  NetworkOptions n;  // N=1, 28x28x1, 10 classes
  n.filters = filters;
  return n;
}

}  // namespace amoeba

#endif  // AMOEBA_TRAINER_SMALL_TRAINING_H_
