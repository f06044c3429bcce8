#!/usr/bin/env bash
# Runs an experiment (deploy/experiments/*.json) on this host: a controller,
# WORKERS CPU workers (one core each), `amoeba experiment run`, then
# `amoeba compare`. Outputs in out/experiments/NAME/ (store, logs, figures).
#
# Usage: bash deploy/run_experiment.sh SPEC.json [WORKERS]   (default 2)
# WORKER_FLAGS (environment): more flags for every worker, e.g.
#   WORKER_FLAGS="--evaluator=simulated --simulated_seconds=0.05 --slots=8"
# OUT_DIR (environment): where the outputs go instead.
set -euo pipefail
cd "$(dirname "$0")/.."
spec="$(realpath "$1")"
workers="${2:-2}"
name="$(sed -n 's/^ *"name": *"\([^"]*\)".*/\1/p' "$spec" | head -1)"
[ -n "$name" ] || { echo "no \"name\" in $spec"; exit 2; }

bash deploy/install_deps.sh
bazel build //cli:amoeba //controller:amoeba-controller //worker:amoeba-worker \
  >/dev/null 2>&1 || bazel build //cli:amoeba //controller:amoeba-controller \
  //worker:amoeba-worker
bin="$(bazel info bazel-bin 2>/dev/null)"
amoeba="$bin/cli/amoeba"
out="${OUT_DIR:-$PWD/out/experiments/$name}"
mkdir -p "$out"

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT

rm -f "$out/port"
"$bin/controller/amoeba-controller" --store="$out/searches.db" --port=0 \
  --port_file="$out/port" --lease_timeout_s=120 --heartbeat_s=10 \
  >> "$out/controller.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 600); do [ -s "$out/port" ] && break; sleep 0.1; done
[ -s "$out/port" ] || { echo "controller did not start:"; tail "$out/controller.log"; exit 1; }
address="127.0.0.1:$(cat "$out/port")"
for i in $(seq 0 $((workers - 1))); do
  "$bin/worker/amoeba-worker" --controller="$address" --worker_id="cpu-$i" \
    --device=cpu --threads=1 --spool_dir="$out/spool-$i" \
    --exit_when_finished=false ${WORKER_FLAGS:-} >> "$out/worker-$i.log" 2>&1 &
  pids+=($!)
done
echo "controller $address, $workers workers; progress every 60 s"
start=$(date +%s)
"$amoeba" experiment run "$spec" --controller="$address" --interval_s=60 \
  | tee -a "$out/progress.txt"
echo "wall time: $(( $(date +%s) - start )) s" | tee -a "$out/progress.txt"
"$amoeba" compare "$out/searches.db" --experiment="$name" \
  --report_dir="$out/compare" | tee "$out/compare.txt"
