// A caching allocator for LibTorch's CPU tensors.
//
// Why: a training step frees and re-allocates the same large activation and
// gradient buffers every step. With glibc those buffers (tens of MB) are
// mmap()ed and munmap()ed each time, so every step page-faults and zeroes
// its whole working set again: on the 2-core machine of docs/benchmarks.md
// about a fifth of the time of config (b) went to page faults. Keeping
// freed large blocks for reuse removes that cost after the first step.
//
// Blocks below `min_cached_bytes` go straight to the system allocator.
// Larger requests are rounded up to a size class and served from a free
// list of that class; freed blocks return to it until `max_cached_bytes`
// are cached, beyond which they go back to the system.
//
// Thread safety: every function may be called from any thread, except that
// InstallCachingCpuAllocator must run before other threads use LibTorch
// (LibTorch's allocator registry is not synchronized).
#ifndef AMOEBA_TRAINER_CPU_ALLOCATOR_H_
#define AMOEBA_TRAINER_CPU_ALLOCATOR_H_

#include <cstddef>
#include <cstdint>

namespace amoeba {

struct CachingCpuAllocatorOptions {
  size_t min_cached_bytes = size_t{1} << 20;      // 1 MiB
  size_t max_cached_bytes = size_t{8} << 30;      // 8 GiB of free blocks
  // Blocks of 2 MiB and more are 2 MiB aligned and advised as transparent
  // huge pages (fewer faults and TLB misses where THP is in madvise mode).
  bool huge_pages = true;
};

// Makes the caching allocator LibTorch's CPU allocator. Later calls do
// nothing (the first options stay). Tensors allocated before keep their own
// deleter and are freed correctly.
void InstallCachingCpuAllocator(const CachingCpuAllocatorOptions& options = {});

// Whether InstallCachingCpuAllocator has run.
bool CachingCpuAllocatorInstalled();

// Returns every cached free block to the system (between trainings of
// differently shaped networks, whose sizes would not be reused). Blocks in
// use are not affected. No-op when not installed.
void ReleaseCachedCpuMemory();

struct CpuAllocatorStats {
  int64_t cached_bytes = 0;  // free blocks held for reuse
  int64_t in_use_bytes = 0;  // large blocks handed out and not yet freed
  int64_t hits = 0;          // large requests served from the cache
  int64_t misses = 0;        // large requests that went to the system
};
CpuAllocatorStats GetCpuAllocatorStats();

}  // namespace amoeba

#endif  // AMOEBA_TRAINER_CPU_ALLOCATOR_H_
