#include "trainer/generator.h"

#include <ATen/CPUGeneratorImpl.h>

namespace amoeba {
namespace {

thread_local torch::Generator* current_generator = nullptr;

}  // namespace

ScopedTrainingGenerator::ScopedTrainingGenerator(uint64_t seed)
    : generator_(at::detail::createCPUGenerator(seed)),
      previous_(current_generator) {
  current_generator = &generator_;
}

ScopedTrainingGenerator::~ScopedTrainingGenerator() {
  current_generator = previous_;
}

c10::optional<torch::Generator> TrainingGenerator(const torch::Device& device) {
  if (current_generator == nullptr || !device.is_cpu()) return c10::nullopt;
  return *current_generator;
}

std::unique_lock<std::mutex> LockDefaultGenerator() {
  static std::mutex* const mutex = new std::mutex;
  return std::unique_lock<std::mutex>(*mutex);
}

}  // namespace amoeba
