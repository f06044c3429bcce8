#!/usr/bin/env bash
# Installs every Debian package that amoeba's build, tests and demo need.
# Idempotent: packages already present are not touched, and apt is only
# consulted when something is missing. Run as root (or with sudo).
set -euo pipefail

PACKAGES=(
  bazel-bootstrap            # Bazel 4.2.3, the build
  g++                        # compiler
  libgrpc++-dev              # gRPC C++ runtime + headers
  protobuf-compiler-grpc     # grpc_cpp_plugin
  libprotobuf-dev
  protobuf-compiler          # protoc
  libabsl-dev                # Abseil 20220623
  libgoogle-glog-dev
  libgflags-dev
  catch2                     # Catch2 v2 (single header)
  libtorch-dev               # LibTorch 1.13.1, CPU
  libsqlite3-dev
  sqlite3                    # so operators can open the store
  dataset-fashion-mnist      # the demo and CPU tests' data
  graphviz                   # dot: genotype drawings as SVG
  zlib1g-dev                 # gzipped IDX files
  libturbojpeg0-dev          # JPEG decoding of image-folder datasets
  libpng-dev                 # PNG decoding of image-folder datasets
  openssl                    # TLS test certificates
  prometheus-cpp-dev         # metrics endpoints (core + pull)
  prometheus                 # the real server the metrics test scrapes with
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  echo "install_deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi

echo "install_deps: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
echo "install_deps: done"
