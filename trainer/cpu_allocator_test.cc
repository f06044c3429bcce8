// The caching CPU allocator with real LibTorch tensors.
#include "trainer/cpu_allocator.h"

#include <c10/core/CPUAllocator.h>
#include <torch/autograd.h>
#include <torch/utils.h>

#include <cstdint>
#include <vector>

#include "catch2/catch.hpp"

namespace amoeba {
namespace {

TEST_CASE("Large CPU blocks are reused, small ones pass through, release empties the cache") {
  // Allocated before installation: freed later through its own deleter.
  torch::Tensor before = torch::ones({1 << 20});
  CachingCpuAllocatorOptions options;
  options.max_cached_bytes = size_t{64} << 20;
  InstallCachingCpuAllocator(options);
  REQUIRE(CachingCpuAllocatorInstalled());
  ReleaseCachedCpuMemory();
  const CpuAllocatorStats start = GetCpuAllocatorStats();
  CHECK(start.cached_bytes == 0);

  const void* first_data = nullptr;
  {
    torch::Tensor big = torch::empty({4 << 20}, torch::kFloat32);  // 16 MiB
    first_data = big.data_ptr();
    CHECK(GetCpuAllocatorStats().in_use_bytes >= (16 << 20));
  }
  CHECK(GetCpuAllocatorStats().cached_bytes >= (16 << 20));
  {
    // Same size class again: the cached block comes back.
    torch::Tensor again = torch::empty({4 << 20}, torch::kFloat32);
    CHECK(again.data_ptr() == first_data);
    CHECK(GetCpuAllocatorStats().hits == start.hits + 1);
    again.fill_(2.0f);
    CHECK(again.sum().item<double>() == 2.0 * (4 << 20));
  }
  // Small tensors do not touch the cache.
  const CpuAllocatorStats mid = GetCpuAllocatorStats();
  { torch::Tensor small = torch::ones({1000}); }
  CHECK(GetCpuAllocatorStats().hits == mid.hits);
  CHECK(GetCpuAllocatorStats().misses == mid.misses);

  // Beyond max_cached_bytes freed blocks go back to the system.
  {
    std::vector<torch::Tensor> many;
    for (int i = 0; i < 6; ++i) many.push_back(torch::empty({4 << 20}));  // 6 x 16 MiB
  }
  CHECK(GetCpuAllocatorStats().cached_bytes <= (64 << 20));
  CHECK(GetCpuAllocatorStats().in_use_bytes == 0);

  ReleaseCachedCpuMemory();
  CHECK(GetCpuAllocatorStats().cached_bytes == 0);
  CHECK(before.sum().item<double>() == (1 << 20));
  before = torch::Tensor();  // default allocator's deleter, no crash
}

TEST_CASE("raw_allocate / raw_deallocate (oneDNN's path) work for every size") {
  InstallCachingCpuAllocator();
  c10::Allocator* allocator = c10::GetCPUAllocator();
  for (size_t bytes : {size_t{16}, size_t{100000}, size_t{3} << 20}) {
    void* p = allocator->raw_allocate(bytes);
    REQUIRE(p != nullptr);
    CHECK(reinterpret_cast<uintptr_t>(p) % 64 == 0);
    static_cast<char*>(p)[bytes - 1] = 1;
    allocator->raw_deallocate(p);
  }
  CHECK(GetCpuAllocatorStats().in_use_bytes == 0);
}

TEST_CASE("An impossible allocation is a LibTorch error naming the size") {
  InstallCachingCpuAllocator();
  try {
    torch::Tensor huge = torch::empty({int64_t{1} << 48}, torch::kFloat32);  // 1 PiB
    FAIL("allocated 1 PiB");
  } catch (const c10::Error& e) {
    CHECK_THAT(e.what_without_backtrace(), Catch::Contains("not enough memory"));
    CHECK_THAT(e.what_without_backtrace(), Catch::Contains("1125899906842624 bytes"));
  }
  CHECK(GetCpuAllocatorStats().in_use_bytes == 0);
}

TEST_CASE("Autograd through cached blocks gives the same gradients") {
  InstallCachingCpuAllocator();
  torch::manual_seed(3);
  torch::Tensor w = torch::randn({512, 1024}, torch::requires_grad());
  torch::Tensor x = torch::randn({1024, 512});
  for (int step = 0; step < 3; ++step) {
    torch::Tensor loss = torch::matmul(w, x).pow(2).mean();
    loss.backward();
  }
  // Three identical steps accumulate three identical gradients.
  torch::Tensor once = torch::autograd::grad({torch::matmul(w, x).pow(2).mean()}, {w})[0];
  CHECK(torch::allclose(w.grad(), 3 * once, 1e-4, 1e-5));
  CHECK(GetCpuAllocatorStats().hits > 0);
}

}  // namespace
}  // namespace amoeba
