#!/usr/bin/env bash
# The prepared GPU check for the trainer: on a host with PyTorch (its
# LibTorch), CUDA, CMake, Abseil and gflags but no Bazel, builds
# trainer_bench with CMake against that LibTorch and measures training
# throughput on the GPU (bf16 autocast + channels-last, then fp32).
# Outputs go to $OUT (default out/gpu_bench).
#
# Usage: bash deploy/gpu_bench.sh
set -euo pipefail
cd "$(dirname "$0")/.."
out="${OUT:-out/gpu_bench}"
mkdir -p "$out"
prefix="${TORCH_PREFIX:-$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')}"
{
  echo "== host"
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv || true
  python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, "cxx11 abi", torch._C._GLIBCXX_USE_CXX11_ABI)'
  echo "== build (CMake, LibTorch at $prefix)"
} | tee "$out/bench.txt"
cmake -S . -B build-gpu -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release \
  > "$out/cmake.log" 2>&1
cmake --build build-gpu -j"$(nproc)" >> "$out/cmake.log" 2>&1 ||
  { tail -40 "$out/cmake.log"; exit 1; }
{
  echo "== trainer_bench, CUDA, bf16 autocast, channels-last"
  build-gpu/trainer_bench --devices=cuda --precision=bf16
  echo "== trainer_bench, CUDA, fp32"
  build-gpu/trainer_bench --devices=cuda --precision=fp32 --channels_last=false
} 2>&1 | tee -a "$out/bench.txt"
