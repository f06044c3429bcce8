#!/usr/bin/env bash
# Final training of an experiment that deploy/run_experiment.sh ran, with a
# kill drill: a controller on the experiment's store, WORKERS CPU workers,
# `amoeba finalize --experiment=NAME`, worker 0 killed with -9 right after
# its first checkpoint and a new worker started in its place, then
# `amoeba compare` (which adds the final-models figures).
#
# Usage: bash deploy/run_final_training.sh NAME [WORKERS]   (default 2)
# FINAL_FLAGS (environment): flags for `amoeba finalize`, default
#   "--top_k=2 --N=2 --F=16 --epochs=4 --max_train_images=10000"
# OUT_DIR (environment): the experiment's folder (default
#   out/experiments/NAME, holding searches.db).
# STORE (environment): the store file (default OUT_DIR/searches.db).
# SOURCE (environment): what to finalize, default "--experiment=NAME";
#   "--search=ID" finalizes one search (then `amoeba report` of ID-final
#   instead of `amoeba compare`).
# WORKER_FLAGS (environment): more flags for every worker, e.g.
#   "--data_dir=folder=/data/photos" for a transfer to a photo folder.
set -euo pipefail
cd "$(dirname "$0")/.."
name="$1"
workers="${2:-2}"
final_flags="${FINAL_FLAGS:---top_k=2 --N=2 --F=16 --epochs=4 --max_train_images=10000}"
out="${OUT_DIR:-$PWD/out/experiments/$name}"
store="${STORE:-$out/searches.db}"
source_flag="${SOURCE:---experiment=$name}"
worker_flags="${WORKER_FLAGS:-}"
[ -f "$store" ] || { echo "no store $store (run deploy/run_experiment.sh first)"; exit 2; }

bash deploy/install_deps.sh
bazel build //cli:amoeba //controller:amoeba-controller //worker:amoeba-worker \
  >/dev/null 2>&1 || bazel build //cli:amoeba //controller:amoeba-controller \
  //worker:amoeba-worker
bin="$(bazel info bazel-bin 2>/dev/null)"
amoeba="$bin/cli/amoeba"

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT

log="$out/final.txt"
rm -f "$out/port"
"$bin/controller/amoeba-controller" --store="$store" --port=0 \
  --port_file="$out/port" --lease_timeout_s=30 --heartbeat_s=5 \
  >> "$out/controller.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 600); do [ -s "$out/port" ] && break; sleep 0.1; done
[ -s "$out/port" ] || { echo "controller did not start:"; tail "$out/controller.log"; exit 1; }
address="127.0.0.1:$(cat "$out/port")"
start_worker() {  # ID
  # shellcheck disable=SC2086
  "$bin/worker/amoeba-worker" --controller="$address" --worker_id="$1" \
    --device=cpu --threads=1 --spool_dir="$out/spool-$1" \
    --exit_when_finished=false $worker_flags >> "$out/final-$1.log" 2>&1 &
  pids+=($!)
}
for i in $(seq 0 $((workers - 1))); do start_worker "final-$i"; done
victim="${pids[1]}"
start=$(date +%s)
# shellcheck disable=SC2086
"$amoeba" finalize --controller="$address" $source_flag $final_flags \
  | tee "$log"

# The kill drill: worker 0 dies right after its first checkpoint.
for _ in $(seq 1 36000); do
  grep -q "checkpoint after epoch" "$out/final-final-0.log" 2>/dev/null && break
  sleep 0.1
done
grep "checkpoint after epoch" "$out/final-final-0.log" | head -1 | tee -a "$log"
kill -9 "$victim"
echo "$(( $(date +%s) - start )) s: killed worker final-0 (kill -9); starting final-$workers" \
  | tee -a "$log"
start_worker "final-$workers"

# shellcheck disable=SC2086
"$amoeba" finalize --controller="$address" $source_flag $final_flags \
  --wait --interval_s=60 | tee -a "$log"
echo "wall time of the final stage: $(( $(date +%s) - start )) s" | tee -a "$log"
echo "resumed jobs:" | tee -a "$log"
grep -h "resuming after epoch\|starting over" "$out"/final-final-*.log | tee -a "$log" || true
case "$source_flag" in
  --search=*)
    "$amoeba" report "$store" --search="${source_flag#--search=}-final" \
      --report_dir="$out/final-report" | tee "$out/final-report.txt" ;;
  *)
    "$amoeba" compare "$store" --experiment="$name" \
      --report_dir="$out/compare" | tee "$out/compare.txt" ;;
esac
