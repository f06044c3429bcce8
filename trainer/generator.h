// Random numbers of one training run. LibTorch's default generator is one
// per process: two worker slots training at once would interleave their
// draws (drop path, dropout, weight initialisation), and neither run would
// be what its seed says. So:
//  * a training run installs its own CPU generator for its thread
//    (ScopedTrainingGenerator); drop path and dropout draw from it;
//  * weight initialisation, which LibTorch's init functions take from the
//    default generator, happens under LockDefaultGenerator() right after
//    torch::manual_seed.
// On CUDA tensors drop path and dropout still use the device's default
// generator (a per-run CUDA generator needs CUDA headers this library is
// built without): with several slots on one GPU those draws are not
// reproducible. Search-phase training uses neither (both are 0).
#ifndef AMOEBA_TRAINER_GENERATOR_H_
#define AMOEBA_TRAINER_GENERATOR_H_

#include <torch/types.h>
#include <torch/utils.h>

#include <cstdint>
#include <mutex>

namespace amoeba {

// Installs a CPU generator seeded with `seed` as this thread's training
// generator until destruction (nesting restores the previous one).
class ScopedTrainingGenerator {
 public:
  explicit ScopedTrainingGenerator(uint64_t seed);
  ~ScopedTrainingGenerator();
  ScopedTrainingGenerator(const ScopedTrainingGenerator&) = delete;
  ScopedTrainingGenerator& operator=(const ScopedTrainingGenerator&) = delete;

  torch::Generator& generator() { return generator_; }

 private:
  torch::Generator generator_;
  torch::Generator* previous_;
};

// The generator for a random draw on a tensor of `device` in this thread:
// the training generator for CPU tensors when one is installed; otherwise
// nullopt (LibTorch's default generator).
c10::optional<torch::Generator> TrainingGenerator(const torch::Device& device);

// Serializes seeding and use of LibTorch's default generator (network
// construction).
std::unique_lock<std::mutex> LockDefaultGenerator();

}  // namespace amoeba

#endif  // AMOEBA_TRAINER_GENERATOR_H_
