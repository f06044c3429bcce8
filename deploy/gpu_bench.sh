#!/usr/bin/env bash
# The prepared GPU check for the trainer: on a host with PyTorch (its
# LibTorch), CUDA and CMake but no Bazel, builds trainer_bench with CMake
# against that LibTorch and measures training throughput on the GPU (bf16
# autocast + channels-last, then fp32). Abseil and gflags come from the
# host, or from .deb files in .gpu_deps/ (deploy/gpu_bench_deps.sh fetches
# them on a Debian 12 machine) unpacked into a private prefix.
# Outputs go to $OUT (default out/gpu_bench).
#
# Usage: bash deploy/gpu_bench.sh
set -euo pipefail
cd "$(dirname "$0")/.."
out="${OUT:-out/gpu_bench}"
mkdir -p "$out"
prefix="${TORCH_PREFIX:-$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')}"
cmake_args=(-DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release)
if compgen -G ".gpu_deps/*.deb" >/dev/null; then
  abi=$(python3 -c 'import torch; print(torch._C._GLIBCXX_USE_CXX11_ABI)')
  if [[ "$abi" != True ]]; then
    echo "gpu_bench: this PyTorch is built with the old C++ string ABI;" \
      "Debian's Abseil and gflags in .gpu_deps/ cannot link with it" >&2
    exit 1
  fi
  deps=/tmp/amoeba-gpu-deps
  rm -rf "$deps" && mkdir -p "$deps"
  for deb in .gpu_deps/*.deb; do
    if command -v dpkg >/dev/null; then
      dpkg -x "$deb" "$deps"
    else  # a .deb is an ar archive whose data.tar.* holds the files
      tmp=$(mktemp -d)
      abs=$(realpath "$deb")
      (cd "$tmp" && ar x "$abs")
      tar -xf "$tmp"/data.tar.* -C "$deps"
      rm -rf "$tmp"
    fi
  done
  lib="$deps/usr/lib/x86_64-linux-gnu"
  # Debian's libz.so points at /lib/...; use the host's zlib runtime.
  # (awk reads to the end: an early exit would kill ldconfig with SIGPIPE,
  # which pipefail turns into a failure.)
  zlib_runtime=$(ldconfig -p | awk '/libz\.so\.1 .*x86-64/{found = $NF} END {print found}')
  if [[ -n "$zlib_runtime" ]]; then ln -sf "$zlib_runtime" "$lib/libz.so"; fi
  cmake_args+=(-Dabsl_DIR="$lib/cmake/absl" -Dgflags_DIR="$lib/cmake/gflags"
               -DZLIB_INCLUDE_DIR="$deps/usr/include" -DZLIB_LIBRARY="$lib/libz.so")
  export LD_LIBRARY_PATH="$lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi
{
  echo "== host"
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv || true
  python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, "cxx11 abi", torch._C._GLIBCXX_USE_CXX11_ABI)'
  c++ --version | head -1 || true
  echo "== build (CMake, LibTorch at $prefix)"
} 2>&1 | tee "$out/bench.txt"
start=$SECONDS
cmake -S . -B build-gpu "${cmake_args[@]}" > "$out/cmake.log" 2>&1 ||
  { tail -40 "$out/cmake.log"; exit 1; }
grep "amoeba:" "$out/cmake.log" | tee -a "$out/bench.txt" || true
cmake --build build-gpu -j"$(nproc)" >> "$out/cmake.log" 2>&1 ||
  { grep -m 20 -E "error|Error" "$out/cmake.log"; tail -40 "$out/cmake.log"; exit 1; }
echo "built in $((SECONDS - start)) s" | tee -a "$out/bench.txt"
{
  echo "== trainer_bench, CUDA, bf16 autocast, channels-last"
  build-gpu/trainer_bench --devices=cuda --precision=bf16
  echo "== trainer_bench, CUDA, fp32"
  build-gpu/trainer_bench --devices=cuda --precision=fp32 --channels_last=false
} 2>&1 | tee -a "$out/bench.txt"
