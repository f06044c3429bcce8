#!/usr/bin/env bash
# The prepared GPU check. On a host with PyTorch (its LibTorch), CUDA and
# CMake but no Bazel and no network:
#   1. builds trainer_bench, amoeba-controller and amoeba-worker with CMake
#      against that LibTorch; gRPC, protobuf, Abseil, glog, gflags and SQLite
#      come from the host or from the .deb files in .gpu_deps/
#      (deploy/gpu_bench_deps.sh fetches them on a Debian 12 machine),
#      unpacked into a private prefix;
#   2. trainer_bench on the device in bf16 autocast + channels-last, the
#      search model (N=3 F=24) at batch 128 (and at 512 after step 3): ms
#      per step, the
#      extrapolated search-phase evaluation, whether a step costs per
#      launch (flat in the batch) or per image, and one plain step timed
#      eager and as a replayed CUDA graph (--plain_step_graph: the host's
#      share); then the real training step replayed from a CUDA graph
#      (--cuda_graphs);
#   3. a real search end to end: a controller and one amoeba-worker
#      --slots=K on this host for each K, on synthetic CIFAR-10-format files
#      of the real size (45,000 training + 5,000 validation images), each
#      child N=3 F=24 batch 128 for --epochs epochs; measures children per
#      hour, GPU memory per slot and GPU utilization. "K:graphs" replays
#      each child's steps from a CUDA graph (--cuda_graphs); "K:shared" runs
#      K slots on the shared default stream (--stream_per_slot=false);
#   2b. the ImageNet network (N=6 F=190, ImageNet stem, 224 pixels, 1,000
#      classes) in bf16 + channels-last at the largest of batch 128, 64, 32
#      that runs: ms per step, images/s, one ImageNet epoch extrapolated;
#   2c. final training's exact resume on the device: two epochs of N=3
#      F=24 with a checkpoint after the first, resumed, compared tensor by
#      tensor with the uninterrupted run (trainer_bench --resume_check);
#   2d. the streaming image-folder pipeline at 224 on the host's cores
#      (data_bench on 3,000 striped 500x375 JPEGs written first), with 1,
#      half and all but one of the cores decoding;
#   4. trainer_bench in fp32.
# Runs that would end after --budget_s are skipped (said in the report), so
# the whole check fits the time it is given.
# Every figure goes to $OUT/bench.txt as it is measured (default
# out/gpu_bench), so a run cut short still reports what it finished; the
# build log and the worker logs go beside it (cmake.log, workers.log).
#
# Usage: bash deploy/gpu_bench.sh [--device=cuda:0] [--slots=1,8,8:graphs,1:graphs,4,2,8:shared]
#          [--epochs=1] [--children_per_slot=2] [--limit_s=75]
#          [--budget_s=470] [--quick]
#   --quick: tiny sizes (1,000 images, N=1 F=8, few steps) for a dry run on
#            a CPU: bash deploy/gpu_bench.sh --device=cpu --quick
set -euo pipefail
cd "$(dirname "$0")/.."

device=cuda:0
slots=1,8,8:graphs,1:graphs,4,2,8:shared
epochs=1
children_per_slot=2
limit_s=75
budget_s=470
quick=false
for arg in "$@"; do
  case "$arg" in
    --device=*) device="${arg#*=}" ;;
    --slots=*) slots="${arg#*=}" ;;
    --epochs=*) epochs="${arg#*=}" ;;
    --children_per_slot=*) children_per_slot="${arg#*=}" ;;
    --limit_s=*) limit_s="${arg#*=}" ;;
    --budget_s=*) budget_s="${arg#*=}" ;;
    --quick) quick=true ;;
    *) echo "gpu_bench: unknown argument '$arg' (see the usage at the top of $0)" >&2
       exit 2 ;;
  esac
done
if $quick; then
  images_per_batch=200; validation_images=100; N=1; F=8; batch_size=32
  bench_args=(--configs=a --cpu_steps=2 --cuda_steps=20 --warmup_steps=1)
  big_batch=64
  imagenet_batches="8"
  imagenet_args=(--imagenet_n=1 --imagenet_f=16 --imagenet_size=64
                 --cpu_steps=2 --cuda_steps=5 --warmup_steps=1)
  resume_args=(--configs=a --resume_batches=3)
  photos_per_class=20
else
  images_per_batch=10000; validation_images=5000; N=3; F=24; batch_size=128
  bench_args=(--configs=b)
  big_batch=512
  # The paper's F=190 network at 224: the largest of these batches that
  # fits in memory.
  imagenet_batches="128 64 32"
  imagenet_args=(--cuda_steps=30 --warmup_steps=1)
  resume_args=(--configs=b --resume_batches=20)
  photos_per_class=300
fi
case "$device" in cuda*) bench_device=cuda ;; *) bench_device=cpu ;; esac

out="${OUT:-out/gpu_bench}"
mkdir -p "$out"
out="$(realpath "$out")"
report="$out/bench.txt"
: > "$report"
: > "$out/workers.log"
say() { echo "$*" | tee -a "$report"; }
work="${GPU_BENCH_WORK:-/tmp/amoeba-gpu-bench}"
rm -rf "$work" && mkdir -p "$work"

# Python (PyTorch's) runs with the host's libraries, never the unpacked ones.
py() { env -u LD_LIBRARY_PATH python3 "$@"; }
torch_prefix="${TORCH_PREFIX:-$(py -c 'import torch; print(torch.utils.cmake_prefix_path)')}"
cmake_prefix="$torch_prefix"
deps_lib=""
deps_args=()
if compgen -G ".gpu_deps/*.deb" >/dev/null; then
  # (No Python torch: a LibTorch given by TORCH_PREFIX, as in a CPU dry run.)
  abi=$(py -c 'import torch; print(torch._C._GLIBCXX_USE_CXX11_ABI)' 2>/dev/null ||
    echo unknown)
  if [[ "$abi" == False ]]; then
    echo "gpu_bench: this PyTorch is built with the old C++ string ABI;" \
      "Debian's libraries in .gpu_deps/ cannot link with it" >&2
    exit 1
  fi
  deps="$work/deps"
  mkdir -p "$deps"
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
  deps_lib="$deps/usr/lib/x86_64-linux-gnu"
  # Debian's libz.so points at /lib/...; use the host's zlib runtime.
  # (awk reads to the end: an early exit would kill ldconfig with SIGPIPE,
  # which pipefail turns into a failure.)
  zlib_runtime=$( (ldconfig -p 2>/dev/null || true) |
    awk '/libz\.so\.1 .*x86-64/{found = $NF} END {print found}')
  for candidate in /usr/lib/x86_64-linux-gnu/libz.so.1 /lib/x86_64-linux-gnu/libz.so.1; do
    if [[ -z "$zlib_runtime" && -e "$candidate" ]]; then zlib_runtime=$candidate; fi
  done
  if [[ -n "$zlib_runtime" ]]; then ln -sf "$zlib_runtime" "$deps_lib/libz.so"; fi
  # The unpacked prefix first: its CMake files, headers, protoc and plugin.
  cmake_prefix="$deps/usr;$torch_prefix"
  # pkg-config reads only the host's own files, and a GPU host may have no
  # pkg-config at all: build as if there were none (a path that cannot
  # exist), so that a CPU dry run fails where the GPU host would.
  deps_args=(-DPKG_CONFIG_EXECUTABLE=/dev/null/no-pkg-config)
  export LD_LIBRARY_PATH="$deps_lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi

# LibTorch's CMake files look for the CUDA toolkit; name the GPU's
# architecture so that they need not probe for it.
if ! command -v nvcc >/dev/null && [[ -x /usr/local/cuda/bin/nvcc ]]; then
  export PATH="/usr/local/cuda/bin:$PATH"
fi
export TORCH_CUDA_ARCH_LIST="${TORCH_CUDA_ARCH_LIST:-9.0}"
# They also look for cuDNN, which a pip install keeps in its own package
# (nvidia-cudnn-*) without the unversioned libcudnn.so that CMake's search
# wants: name the one PyTorch loads.
cudnn_args=()
cudnn_dir=$(py -c 'import nvidia.cudnn as c; print(list(c.__path__)[0])' 2>/dev/null || true)
if [[ -n "$cudnn_dir" && -f "$cudnn_dir/include/cudnn.h" ]]; then
  cudnn_lib=$(ls "$cudnn_dir"/lib/libcudnn.so* 2>/dev/null | head -1 || true)
  if [[ -n "$cudnn_lib" ]]; then
    cudnn_args=(-DCUDNN_INCLUDE_PATH="$cudnn_dir/include"
                -DCUDNN_LIBRARY_PATH="$cudnn_lib")
  fi
fi

{
  echo "== host $(date -u +%FT%TZ)"
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv || true
  py -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, "cxx11 abi", torch._C._GLIBCXX_USE_CXX11_ABI)' ||
    echo "no Python torch; LibTorch at $torch_prefix"
  c++ --version | head -1 || true
  nvcc --version 2>/dev/null | tail -1 || true
  echo "cuDNN for CMake: ${cudnn_args[*]:-found by the LibTorch CMake files}"
  echo "nproc $(nproc); settings: device=$device slots=$slots epochs=$epochs" \
    "children_per_slot=$children_per_slot N=$N F=$F batch=$batch_size" \
    "train images=$((5 * images_per_batch - validation_images))" \
    "validation=$validation_images quick=$quick"
  echo "== build (CMake, LibTorch at $torch_prefix)"
} 2>&1 | tee -a "$report"

start=$SECONDS
build() {  # $1: ON or OFF, a CUDA stream per training thread
  # Configured afresh every time (nothing found by an earlier configure
  # stays); what is compiled stays.
  rm -f build-gpu/CMakeCache.txt
  cmake -S . -B build-gpu -DCMAKE_PREFIX_PATH="$cmake_prefix" \
    -DCMAKE_BUILD_TYPE=Release -DAMOEBA_BUILD_SERVICE=ON \
    -DAMOEBA_CUDA_HEADERS="$1" "${cudnn_args[@]}" "${deps_args[@]}" \
    >> "$out/cmake.log" 2>&1 &&
    cmake --build build-gpu -j"$(nproc)" \
      --target trainer_bench amoeba-controller amoeba-worker \
      >> "$out/cmake.log" 2>&1
}
: > "$out/cmake.log"
if ! build ON; then
  grep -m 20 -E "error|Error" "$out/cmake.log" | tee -a "$report"
  # The one part compiled against CUDA's own headers; without it the rest
  # still measures (slots then share the default stream).
  say "build failed; again without AMOEBA_CUDA_HEADERS"
  build OFF || { tail -40 "$out/cmake.log"; exit 1; }
fi
grep "amoeba:" "$out/cmake.log" | sort -u | tee -a "$report" || true
grep -q "AMOEBA_CUDA_HEADERS=1" build-gpu/CMakeFiles/amoeba_trainer.dir/flags.make &&
  say "CUDA headers (stream per slot, graph timing): built in" ||
  say "CUDA headers (stream per slot, graph timing): not built"
say "built in $((SECONDS - start)) s"
# With .gpu_deps, the service's libraries come from there and nowhere else
# (one from the host would be missing on a bare GPU host).
if [[ -n "$deps_lib" ]]; then
  leaks=$(grep -E ':(FILEPATH|PATH)=/(usr|lib)' build-gpu/CMakeCache.txt |
    grep -iE 'grpc|protobuf|protoc|absl|glog|gflags|re2|cares|c-ares|ssl|crypto|sqlite|unwind' || true)
  # Headers too (the compiler falls back to /usr/include silently).
  leaks+=$(find build-gpu/CMakeFiles -name '*.o.d' -exec cat {} + |
    tr ' \\' '\n\n' |
    grep -E '^/usr/include/(grpc|grpcpp|google/protobuf|absl|glog|gflags|re2|ares|openssl|sqlite3)' |
    sort -u || true)
  if [[ -n "$leaks" ]]; then
    say "gpu_bench: the build took these from the host, not from .gpu_deps:"
    say "$leaks"
    # Fatal in a dry run (--quick), whose point is to fail where a bare
    # host would; on the GPU host itself they are there and work.
    if $quick; then exit 1; fi
  fi
fi
# Every library must resolve; say where the service's came from.
for binary in amoeba-controller amoeba-worker; do
  if ldd "build-gpu/$binary" | grep "not found"; then
    echo "gpu_bench: $binary misses libraries (above)" >&2
    exit 1
  fi
done
ldd build-gpu/amoeba-worker |
  awk '$1 ~ /grpc|protobuf|absl_base|glog|gflags|sqlite|ssl|torch_cuda|c10/ {print "  " $1 " -> " $3}' |
  tee -a "$report"
# Seconds left before the budget; a step that needs more is skipped.
fits() { (( SECONDS + $1 <= budget_s )); }

bench_bf16() {  # $1: batch size, then more trainer_bench flags
  local batch=$1
  shift
  say "== trainer_bench, $bench_device, bf16 autocast, channels-last, batch $batch $*"
  if ! fits 60; then say "skipped: over --budget_s"; return 0; fi
  timeout 120 build-gpu/trainer_bench --devices="$bench_device" --precision=bf16 \
    --batch_size="$batch" "$@" "${bench_args[@]}" 2>&1 | tee -a "$report" ||
    say "trainer_bench (bf16, batch $batch $*) failed: exit ${PIPESTATUS[0]}"
}
bench_bf16 "$batch_size" --plain_step_graph
bench_bf16 "$batch_size" --cuda_graphs

# The paper's ImageNet network (trainer_bench's configuration (c)): images/s
# at the largest batch that runs.
imagenet_bench() {
  say "== the ImageNet network, $bench_device, bf16 autocast, channels-last"
  local b log="$work/imagenet_bench.txt"
  for b in $imagenet_batches; do
    if ! fits 60; then say "skipped: over --budget_s"; return 0; fi
    timeout 150 build-gpu/trainer_bench --devices="$bench_device" \
      --precision=bf16 --configs=c --imagenet_batch="$b" "${imagenet_args[@]}" \
      > "$log" 2>&1 || true
    grep -v -E '^[IW][0-9]{4} ' "$log" | tail -20 | tee -a "$report"
    if grep -q "ImageNet epoch" "$log"; then return 0; fi
    say "batch $b did not run (above); a smaller one"
  done
}
imagenet_bench

# The streaming image-folder pipeline on this host's cores (data_bench,
# built where TurboJPEG and libpng were found): can the host feed the GPU?
say "== image-folder pipeline (data_bench), views of 224, the host's cores"
if ! fits 60; then
  say "skipped: over --budget_s"
elif ! grep -q "amoeba: image folders with" "$out/cmake.log"; then
  say "skipped: no TurboJPEG or libpng for CMake (deploy/gpu_bench_deps.sh)"
elif ! cmake --build build-gpu -j"$(nproc)" --target data_bench \
    >> "$out/cmake.log" 2>&1; then
  say "data_bench did not build (cmake.log)"
else
  cores=$(nproc)
  timeout 120 build-gpu/data_bench --write_folder="$work/photos" \
    --source=stripes --train_per_class="$photos_per_class" --val_per_class=1 \
    --max_files=0 --size=224 --eval_view=false \
    --thread_counts="1,$(( cores / 2 > 1 ? cores / 2 : 1 )),$(( cores > 1 ? cores - 1 : 1 ))" \
    2>&1 | grep -v -E '^[IW][0-9]{4} ' | tee -a "$report" ||
    say "data_bench failed: exit ${PIPESTATUS[0]}"
fi

# A final job's promise: training resumed from its checkpoint ends as the
# uninterrupted run (trainer_bench --resume_check, with drop path, an aux
# head, cutout and the weight average: every piece of state).
say "== final training resumed from a checkpoint, $bench_device, bf16"
if fits 60; then
  timeout 150 build-gpu/trainer_bench --devices="$bench_device" \
    --precision=bf16 --resume_check "${resume_args[@]}" 2>&1 |
    grep -v -E '^[IW][0-9]{4} ' | tee -a "$report" ||
    say "resume check failed: exit ${PIPESTATUS[0]}"
else
  say "skipped: over --budget_s"
fi

say "== synthetic CIFAR-10 files"
data="$work/cifar10"
py deploy/make_synthetic_cifar.py "$data" --images_per_batch="$images_per_batch" |
  tee -a "$report"

# The GPU's memory in use (MiB) and utilization (%), sampled every 200 ms
# into $1 until killed.
sample_gpu() {
  while true; do
    nvidia-smi --query-gpu=memory.used,utilization.gpu \
      --format=csv,noheader,nounits 2>/dev/null | head -1 >> "$1" || true
    sleep 0.2
  done
}

# One search on one worker with K slots ("K", "K:graphs", "K:shared");
# figures from the store.
run_slots() {
  local k=${1%%:*} streams=true graphs=false name=$1
  [[ "$1" == *:shared* ]] && streams=false
  [[ "$1" == *:graphs* ]] && graphs=true
  local run="$work/slots-${name/:/-}" budget=$((k * children_per_slot))
  mkdir -p "$run"
  say "== worker end to end: --slots=$k --stream_per_slot=$streams" \
    "--cuda_graphs=$graphs," \
    "$budget children of $epochs epoch(s)"
  if ! fits "$limit_s"; then say "skipped: over --budget_s"; return 0; fi
  local idle_mib
  idle_mib=$(nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits \
    2>/dev/null | head -1 || true)
  build-gpu/amoeba-controller --store="$run/store.db" --port=0 \
    --port_file="$run/port" --search_id=bench --algorithm=aging \
    --population_size="$budget" --sample_size=2 --budget="$budget" --search_seed=1 \
    --dataset=cifar10 --N="$N" --F="$F" --epochs="$epochs" \
    --batch_size="$batch_size" --validation_images="$validation_images" \
    --max_train_images=0 --lease_timeout_s=600 --heartbeat_s=5 \
    > "$run/controller.log" 2>&1 &
  local controller=$!
  for _ in $(seq 1 100); do [[ -s "$run/port" ]] && break; sleep 0.1; done
  if [[ ! -s "$run/port" ]]; then
    say "controller did not start:"; tail -20 "$run/controller.log" | tee -a "$report"
    kill "$controller" 2>/dev/null || true
    return 1
  fi
  sample_gpu "$run/gpu" &
  local sampler=$!
  local begin=$SECONDS status=0
  timeout "$limit_s" build-gpu/amoeba-worker \
    --controller="127.0.0.1:$(cat "$run/port")" --worker_id="bench-$k" \
    --device="$device" --slots="$k" --stream_per_slot="$streams" \
    --cuda_graphs="$graphs" \
    --data_dir="cifar10=$data" \
    --spool_dir="$run/spool" --exit_when_finished \
    > "$run/worker.log" 2>&1 || status=$?
  local wall=$((SECONDS - begin))
  kill "$sampler" 2>/dev/null || true
  wait "$sampler" 2>/dev/null || true
  kill "$controller" 2>/dev/null || true
  wait "$controller" 2>/dev/null || true
  [[ $status -eq 0 ]] || say "worker exit status $status after $wall s" \
    "(124: stopped at --limit_s=$limit_s)"
  # One file for every run's worker log (the tail of each), so that the
  # outputs stay three files however many runs there are.
  { echo "==== --slots=$name"; tail -c 400000 "$run/worker.log"; } >> "$out/workers.log"
  grep -E "Error|error|FATAL|out of memory" "$run/worker.log" | head -5 |
    tee -a "$report" || true
  py - "$run/store.db" "$k" "$wall" "${idle_mib:-}" "$run/gpu" "$epochs" \
    <<'PYEOF' | tee -a "$report"
import sqlite3, sys
store, k, wall, idle, samples, epochs = sys.argv[1:]
k, wall, epochs = int(k), float(wall), int(epochs)
db = sqlite3.connect(store)
rows = db.execute(
    "SELECT started_at, finished_at, train_seconds, fitness FROM models "
    "WHERE state = 'done'").fetchall()
failed = db.execute(
    "SELECT COUNT(*), MAX(failure) FROM models WHERE state = 'failed'").fetchone()
print(f"slots {k}: {len(rows)} children done, {failed[0]} failed"
      + (f" (last failure: {failed[1]})" if failed[0] else "")
      + f", worker wall time {wall:.0f} s")
if rows:
    first = min(r[0] for r in rows)
    last = max(r[1] for r in rows)
    per_child = sum(r[1] - r[0] for r in rows) / len(rows)
    train = sum(r[2] for r in rows) / len(rows)
    span = last - first
    print(f"  first lease to last result {span:.1f} s -> "
          f"{3600 * len(rows) / span:.1f} children/hour at {epochs} epoch(s)")
    print(f"  per child: {per_child:.1f} s lease to result, {train:.1f} s in "
          f"training steps; steady rate {3600 * k / per_child:.1f} children/hour")
    print(f"  fitness: min {min(r[3] for r in rows):.3f} "
          f"max {max(r[3] for r in rows):.3f}")
try:
    gpu = [[float(x) for x in line.split(",")] for line in open(samples)
           if line.strip()]
except (OSError, ValueError):
    gpu = []
if gpu:
    peak = max(g[0] for g in gpu)
    used = peak - float(idle or 0)
    busy = [g[1] for g in gpu]
    print(f"  GPU memory: peak {peak:.0f} MiB in use ({used:.0f} MiB above "
          f"idle, {used / k:.0f} MiB per slot); utilization mean "
          f"{sum(busy) / len(busy):.0f}% over {len(busy)} samples")
PYEOF
}

IFS=, read -r -a slot_list <<< "$slots"
for k in "${slot_list[@]}"; do
  if [[ ! "$k" =~ ^[1-9][0-9]*(:shared|:graphs)*$ ]]; then
    say "--slots: '$k' is not K, K:graphs or K:shared"; continue
  fi
  run_slots "$k" || say "slots $k: run failed"
done

# Per launch or per image: the same step at four times the batch.
bench_bf16 "$big_batch" --plain_step_graph

if [[ "$bench_device" == cuda ]]; then
  say "== trainer_bench, cuda, fp32, batch $batch_size"
  if fits 60; then
    timeout 120 build-gpu/trainer_bench --devices=cuda --precision=fp32 \
      --channels_last=false "${bench_args[@]}" 2>&1 | tee -a "$report" ||
      say "trainer_bench (fp32) failed: exit ${PIPESTATUS[0]}"
  else
    say "skipped: over --budget_s"
  fi
fi
say "== done in $SECONDS s"
