#!/usr/bin/env bash
# Downloads (here, on a Debian 12 machine with apt) the C++ libraries that
# the CMake build needs besides LibTorch, as .deb files into .gpu_deps/, for
# a GPU host that has PyTorch, CUDA and CMake but no network:
# deploy/gpu_bench.sh unpacks them there into a private prefix (never into
# /) and builds the trainer, amoeba-controller and amoeba-worker against
# them. About 23 MB.
#
# Usage: bash deploy/gpu_bench_deps.sh     # then carry .gpu_deps to the host
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .gpu_deps
cd .gpu_deps
# Headers and CMake files (-dev), protoc and grpc_cpp_plugin, and every
# runtime library the binaries load that a plain Ubuntu or Debian host may
# lack: Abseil at the version the code is written against, gflags, glog
# (with libunwind), gRPC, protobuf, re2, c-ares, OpenSSL 3, SQLite, zlib's
# headers, prometheus-cpp (with civetweb, which its pull library loads),
# libjpeg-turbo's TurboJPEG and libpng (the worker's image folders and
# data_bench).
packages=(
  libabsl-dev libabsl20220623
  libgflags-dev libgflags2.2
  libgoogle-glog-dev libgoogle-glog0v6 libunwind-dev libunwind8
  libgrpc++-dev libgrpc++1.51 libgrpc-dev libgrpc29 protobuf-compiler-grpc
  libprotobuf-dev libprotobuf32 libprotoc32 protobuf-compiler
  libre2-dev libre2-9 libc-ares-dev libc-ares2
  libssl-dev libssl3 libsqlite3-dev libsqlite3-0 libatomic1
  zlib1g-dev
  prometheus-cpp-dev libprometheus-cpp-core1.0 libprometheus-cpp-pull1.0
  libcivetweb1
  libturbojpeg0-dev libturbojpeg0 libpng-dev libpng16-16
)
rm -f ./*.deb
# apt drops privileges to _apt, which may not write here: download in a
# scratch folder it owns, then move.
scratch=$(mktemp -d)
chmod 777 "$scratch"
(cd "$scratch" && apt-get download "${packages[@]}")
mv "$scratch"/*.deb .
rmdir "$scratch"
ls -l
du -sh .
echo "next: bash deploy/gpu_bench.sh --device=cpu --quick (the same script on" \
  "this CPU), then on the GPU host: bash deploy/gpu_bench.sh"
