#!/usr/bin/env bash
# Downloads (here, on a Debian 12 machine with apt) the C++ libraries that
# the CMake build of the trainer needs besides LibTorch, as .deb files into
# .gpu_deps/, for a GPU host that has PyTorch, CUDA and CMake but neither
# Abseil nor gflags and no network. deploy/gpu_bench.sh unpacks them there
# into a private prefix (never into /).
#
# Usage: bash deploy/gpu_bench_deps.sh     # then carry .gpu_deps to the host
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .gpu_deps
cd .gpu_deps
# Abseil at the version the trainer is written against, gflags for
# trainer_bench's flags, zlib's headers for the gzipped IDX reader.
packages=(libabsl-dev libabsl20220623 libgflags-dev libgflags2.2 zlib1g-dev)
# apt drops privileges to _apt, which may not write here: download in a
# scratch folder it owns, then move.
scratch=$(mktemp -d)
chmod 777 "$scratch"
(cd "$scratch" && apt-get download "${packages[@]}")
mv "$scratch"/*.deb .
rmdir "$scratch"
ls -l
echo "next: bash deploy/check_libtorch.sh (a current LibTorch on this CPU, ~5 min)," \
  "then on the GPU host: bash deploy/gpu_bench.sh"
