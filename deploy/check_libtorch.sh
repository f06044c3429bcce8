#!/usr/bin/env bash
# Builds the trainer (library, trainer_bench and its unit tests) with CMake
# against a current LibTorch release and runs them on this CPU, before any
# GPU host sees the code; then builds amoeba-controller and amoeba-worker
# the same way and runs a real worker (2 slots, 4 children) against a
# controller. Bazel uses Debian 12's LibTorch 1.13; GPU hosts
# bring their own PyTorch (2.x), whose C++ API differs (C++20, the
# c10::Allocator interface, autocast setters). A break found here costs
# minutes; found on a GPU host, it costs that host's whole booking.
#
# The LibTorch is Debian unstable's libtorch-dev (a CPU build) with its
# runtime closure, fetched with a private apt configuration into
# $WORK (default /tmp/amoeba-libtorch-check): nothing is installed on this
# machine. Its libraries need a newer glibc than Debian 12's, so the binaries
# run under the fetched dynamic loader (ld.so --library-path). That release
# is built without glog, like PyTorch's own LibTorch builds, so the worker
# run also shows that its LOG lines still reach glog (trainer/logging.h).
#
# Needs this machine's build dependencies (deploy/install_deps.sh: CMake,
# Abseil, gflags, zlib, Catch2 v2; unstable's Catch2 is v3).
#
# Usage: bash deploy/check_libtorch.sh [trainer_bench flags]
# Outputs: $OUT (default out/check_libtorch): build.log, tests.log, bench.txt,
# worker.log
set -euo pipefail
cd "$(dirname "$0")/.."
work="${WORK:-/tmp/amoeba-libtorch-check}"
out="${OUT:-out/check_libtorch}"
suite="${SUITE:-sid}"
mkdir -p "$work"/apt/{lists/partial,archives/partial,cache} "$out"
out=$(realpath "$out")
: > "$work/apt/status"
# The Debian mirror this machine already uses (its own apt configuration),
# never a host written here.
mirror=$(apt-get indextargets --format '$(REPO_URI)' 2>/dev/null |
         grep -m1 -E '/debian/?$' || true)
if [ -z "$mirror" ]; then
  mirror=$(grep -hsE '^(URIs:|deb) ' /etc/apt/sources.list /etc/apt/sources.list.d/*.sources \
           /etc/apt/sources.list.d/*.list | grep -m1 -oE 'https?://[^ ]+/debian/?( |$)' | tr -d ' ' || true)
fi
if [ -z "$mirror" ]; then
  echo "no Debian mirror in this machine's apt configuration" >&2
  exit 1
fi
echo "deb ${mirror%/} $suite main" > "$work/apt/sources.list"
cat > "$work/apt/apt.conf" <<EOF
Dir::Etc::sourcelist "$work/apt/sources.list";
Dir::Etc::sourceparts "/nonexistent";
Dir::State::Lists "$work/apt/lists";
Dir::State::status "$work/apt/status";
Dir::Cache "$work/apt/cache";
Dir::Cache::archives "$work/apt/archives";
Debug::NoLocking "true";
EOF
export APT_CONFIG="$work/apt/apt.conf"

echo "== fetching libtorch-dev from Debian $suite"
apt-get -qq update
# With an empty status file apt resolves the whole runtime closure
# (glibc and libstdc++ included); nothing outside $work is touched.
apt-get -qq install -y --download-only --no-install-recommends \
  libtorch-dev > "$out/fetch.log" 2>&1 ||
  { tail -20 "$out/fetch.log"; exit 1; }
root="$work/root"
rm -rf "$root" && mkdir -p "$root"
for deb in "$work"/apt/archives/*.deb; do
  # Other -dev packages (unstable's glibc and Python headers) would shadow
  # this machine's in the include path; runtime libraries ship no headers.
  case "$(basename "$deb")" in
    libtorch-dev_*) ;;
    *-dev_*) continue ;;
  esac
  dpkg -x "$deb" "$root"
done
lib="$root/usr/lib/x86_64-linux-gnu"
version=$(sed -n 's/.*PACKAGE_VERSION "\(.*\)".*/\1/p' \
  "$lib/cmake/Torch/TorchConfigVersion.cmake")
echo "LibTorch $version ($(ls "$work"/apt/archives/*.deb | wc -l) packages)"

echo "== build (CMake, tests on)"
build="$work/build"
rm -rf "$build"
start=$SECONDS
# Linking may not resolve the fetched libraries' own glibc symbols with this
# machine's linker; our objects' references to LibTorch must still resolve
# (--allow-shlib-undefined only relaxes the shared libraries' needs).
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$root/usr" -DAMOEBA_BUILD_TESTS=ON \
  -DCMAKE_EXE_LINKER_FLAGS="-Wl,--allow-shlib-undefined" \
  > "$out/build.log" 2>&1 || { tail -30 "$out/build.log"; exit 1; }
grep "amoeba:" "$out/build.log"
cmake --build "$build" -j"$(nproc)" >> "$out/build.log" 2>&1 ||
  { grep -E "error" "$out/build.log" | head -20; exit 1; }
echo "built in $((SECONDS - start)) s"

loader="$lib/ld-linux-x86-64.so.2"
paths="$lib:$lib/blas:$lib/lapack:$lib/openmpi/lib:$root/usr/lib"
paths+=":/usr/lib/x86_64-linux-gnu"  # this machine's Abseil, gflags, zlib
run() { "$loader" --library-path "$paths" "$@"; }

echo "== trainer unit tests"
export TEST_TMPDIR="$work/tmp"
mkdir -p "$TEST_TMPDIR"
failed=0
: > "$out/tests.log"
for test in cpu_allocator_test dataset_test momentum_sgd_test network_test train_test; do
  if run "$build/$test" >> "$out/tests.log" 2>&1; then
    echo "$test: ok"
  else
    echo "$test: FAILED (see $out/tests.log)"
    failed=1
  fi
done
grep "amoeba-test-totals" "$out/tests.log" |
  awk '{p += $2; f += $4} END {printf "%d passed, %d failed\n", p, f}'

echo "== trainer_bench (CPU)"
run "$build/trainer_bench" --devices=cpu "$@" | tee "$out/bench.txt"

echo "== service: amoeba-controller, amoeba-worker; one worker, 2 slots"
start=$SECONDS
cmake -S . -B "$build" -DAMOEBA_BUILD_SERVICE=ON >> "$out/build.log" 2>&1 &&
  cmake --build "$build" -j"$(nproc)" --target amoeba-controller amoeba-worker \
    >> "$out/build.log" 2>&1 ||
  { grep -E "error" "$out/build.log" | head -20; exit 1; }
echo "built in $((SECONDS - start)) s"
e2e="$work/e2e"
rm -rf "$e2e" && mkdir -p "$e2e"
python3 deploy/make_synthetic_cifar.py "$e2e/cifar10" --images_per_batch=200
# The controller has no LibTorch: it runs as is.
"$build/amoeba-controller" --store="$e2e/store.db" --port=0 \
  --port_file="$e2e/port" --search_id=check --population_size=4 \
  --sample_size=2 --budget=4 --dataset=cifar10 --N=1 --F=8 --epochs=1 \
  --batch_size=32 --validation_images=100 > "$e2e/controller.log" 2>&1 &
controller=$!
trap 'kill "$controller" 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do [[ -s "$e2e/port" ]] && break; sleep 0.1; done
[[ -s "$e2e/port" ]] || { cat "$e2e/controller.log"; exit 1; }
worker_status=0
timeout 300 "$loader" --library-path "$paths" "$build/amoeba-worker" \
  --controller="127.0.0.1:$(cat "$e2e/port")" --device=cpu --threads=1 \
  --slots=2 --data_dir="cifar10=$e2e/cifar10" --spool_dir="$e2e/spool" \
  > "$out/worker.log" 2>&1 || worker_status=$?
done_children=$(sqlite3 "$e2e/store.db" \
  "SELECT COUNT(*) FROM models WHERE state = 'done'")
echo "worker exit status $worker_status; $done_children of 4 children done"
# glog's own line format ("I<date> ... file.cc:line] ...") shows that
# LOG(INFO) reached glog from the files that include LibTorch too; with
# glog's header before LibTorch's, worker_main.cc's line is silently lost.
if grep -q "^I.*libtorch_evaluator.cc:.*loading cifar10" "$out/worker.log" &&
   grep -q "^I.*worker_main.cc:.*worker exited cleanly" "$out/worker.log"; then
  echo "worker LOG(INFO) lines reach glog"
else
  echo "worker LOG(INFO) lines missing from $out/worker.log"
  failed=1
fi
[[ $worker_status -eq 0 && $done_children -eq 4 ]] || failed=1
exit "$failed"
