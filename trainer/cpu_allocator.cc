#include "trainer/cpu_allocator.h"

#include <sys/mman.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <unordered_map>
#include <vector>

#include "absl/base/call_once.h"
#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "c10/core/Allocator.h"
#include "c10/core/CPUAllocator.h"
#include "c10/util/Exception.h"

namespace amoeba {
namespace {

constexpr size_t kHugePage = size_t{2} << 20;
// What LibTorch's own CPU allocator aligns to (AVX-512 loads).
constexpr size_t kAlignment = 64;

class CachingCpuAllocator final : public c10::Allocator {
 public:
  explicit CachingCpuAllocator(const CachingCpuAllocatorOptions& options)
      : options_(options) {}

  // c10::Allocator::allocate is const in LibTorch 1.13 (Debian 12) and
  // non-const in current releases, which also make copy_data pure virtual
  // (checked against 2.14's headers). Both forms are declared, without
  // `override`, so whichever the base declares is overridden and one source
  // builds against either LibTorch (GPU hosts bring their own).
  c10::DataPtr allocate(size_t n) const { return AllocateBlock(n); }
  c10::DataPtr allocate(size_t n) { return AllocateBlock(n); }
  void copy_data(void* dest, const void* src, size_t count) const {
    std::memcpy(dest, src, count);
  }

  c10::DeleterFnPtr raw_deleter() const override { return &Free; }

  void Release() const {
    std::vector<void*> blocks;
    {
      absl::MutexLock lock(&mu_);
      for (auto& [size, list] : free_) {
        for (void* p : list) {
          blocks.push_back(p);
          sizes_.erase(p);
        }
      }
      free_.clear();
      cached_bytes_ = 0;
    }
    for (void* p : blocks) std::free(p);
  }

  CpuAllocatorStats Stats() const {
    absl::MutexLock lock(&mu_);
    return {static_cast<int64_t>(cached_bytes_), static_cast<int64_t>(in_use_bytes_),
            hits_, misses_};
  }

  // Deleters (plain functions: LibTorch stores a function pointer). Free
  // takes any block of this allocator: it is also raw_deleter(), which
  // raw_deallocate() (used by oneDNN) calls for small blocks too.
  static void Free(void* data);
  static void FreeSmall(void* data) { std::free(data); }

 private:
  c10::DataPtr AllocateBlock(size_t n) const {
    if (n < options_.min_cached_bytes) {
      void* data = nullptr;
      TORCH_CHECK(posix_memalign(&data, kAlignment, std::max<size_t>(n, 1)) == 0,
                  "CachingCpuAllocator: not enough memory: you tried to allocate ",
                  n, " bytes");
      return {data, data, &FreeSmall, c10::Device(c10::DeviceType::CPU)};
    }
    const size_t size = SizeClass(n);
    void* data = TakeCached(size);
    if (data == nullptr) data = SystemAllocate(size);
    if (data == nullptr) {
      // Cached blocks of other sizes may be what stands in the way.
      Release();
      data = SystemAllocate(size);
    }
    TORCH_CHECK(data != nullptr,
                "CachingCpuAllocator: not enough memory: you tried to allocate ",
                size, " bytes");
    return {data, data, &Free, c10::Device(c10::DeviceType::CPU)};
  }

  // Sizes repeat exactly from step to step; classes only let a block serve
  // a slightly smaller request (a last partial batch, a similar layer) with
  // at most 256 KiB (below 16 MiB) or 2 MiB (above) of slack.
  static size_t SizeClass(size_t n) {
    const size_t granule = n < (size_t{16} << 20) ? (size_t{256} << 10) : kHugePage;
    return (n + granule - 1) / granule * granule;
  }

  void* TakeCached(size_t size) const {
    absl::MutexLock lock(&mu_);
    auto it = free_.find(size);
    if (it == free_.end() || it->second.empty()) {
      ++misses_;
      return nullptr;
    }
    void* p = it->second.back();
    it->second.pop_back();
    cached_bytes_ -= size;
    in_use_bytes_ += size;
    ++hits_;
    return p;
  }

  void* SystemAllocate(size_t size) const {
    void* p = nullptr;
    const size_t alignment =
        size >= kHugePage && options_.huge_pages ? kHugePage : kAlignment;
    if (posix_memalign(&p, alignment, size) != 0) return nullptr;
    if (alignment == kHugePage) madvise(p, size, MADV_HUGEPAGE);
    absl::MutexLock lock(&mu_);
    sizes_[p] = size;
    in_use_bytes_ += size;
    return p;
  }

  void Return(void* data) const {
    {
      absl::MutexLock lock(&mu_);
      auto it = sizes_.find(data);
      // Untracked: a small block, which goes straight back to the system.
      if (it != sizes_.end()) {
        const size_t size = it->second;
        in_use_bytes_ -= size;
        if (cached_bytes_ + size <= options_.max_cached_bytes) {
          free_[size].push_back(data);
          cached_bytes_ += size;
          return;
        }
        sizes_.erase(it);
      }
    }
    std::free(data);
  }

  // Constant after construction.
  const CachingCpuAllocatorOptions options_;

  mutable absl::Mutex mu_;
  mutable std::unordered_map<size_t, std::vector<void*>> free_ ABSL_GUARDED_BY(mu_);
  // Size class of every block this allocator owns (in use or cached).
  mutable std::unordered_map<void*, size_t> sizes_ ABSL_GUARDED_BY(mu_);
  mutable size_t cached_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  mutable size_t in_use_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  mutable int64_t hits_ ABSL_GUARDED_BY(mu_) = 0;
  mutable int64_t misses_ ABSL_GUARDED_BY(mu_) = 0;
};

// Never destroyed: tensors may be freed during static destruction.
std::atomic<CachingCpuAllocator*> g_allocator{nullptr};
absl::once_flag g_install_once;

void CachingCpuAllocator::Free(void* data) { g_allocator.load()->Return(data); }

}  // namespace

void InstallCachingCpuAllocator(const CachingCpuAllocatorOptions& options) {
  absl::call_once(g_install_once, [&options] {
    auto* allocator = new CachingCpuAllocator(options);
    g_allocator.store(allocator);
    // Priority above the default allocator's registration.
    c10::SetCPUAllocator(allocator, /*priority=*/1);
  });
}

bool CachingCpuAllocatorInstalled() { return g_allocator.load() != nullptr; }

void ReleaseCachedCpuMemory() {
  if (CachingCpuAllocator* a = g_allocator.load()) a->Release();
}

CpuAllocatorStats GetCpuAllocatorStats() {
  CachingCpuAllocator* a = g_allocator.load();
  return a != nullptr ? a->Stats() : CpuAllocatorStats{};
}

}  // namespace amoeba
