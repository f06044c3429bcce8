// A small, fully specified pseudo-random generator.
//
// The standard library's distributions (std::uniform_int_distribution, ...)
// may produce different sequences on different platforms and library
// versions. Searches must replay exactly from a seed on any machine and be
// rebuilt from a stored state, so amoeba uses its own engine (xoshiro256**,
// seeded through SplitMix64) and its own unbiased bounded draws.
//
// Thread safety: none; one Rng per thread or externally synchronized.
#ifndef AMOEBA_COMMON_RNG_H_
#define AMOEBA_COMMON_RNG_H_

#include <array>
#include <cstdint>

namespace amoeba {

class Rng {
 public:
  using State = std::array<uint64_t, 4>;

  explicit Rng(uint64_t seed);

  // Restores a generator from State(); the sequence continues exactly.
  // REQUIRES: state is not all zeros.
  static Rng FromState(const State& state);

  // The next raw 64-bit value.
  uint64_t Next();

  // Uniform integer in [0, n), without modulo bias.
  // REQUIRES: n > 0.
  uint64_t Uniform(uint64_t n);

  // Uniform double in [0, 1) with 53 random bits.
  double UniformDouble();

  const State& state() const { return state_; }

 private:
  Rng() = default;

  State state_;
};

}  // namespace amoeba

#endif  // AMOEBA_COMMON_RNG_H_
