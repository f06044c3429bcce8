#!/usr/bin/env bash
# Measures how long a worker takes to reach the controller again after an
# outage: starts a controller and one worker (simulated evaluator) on
# loopback, kills the controller with SIGKILL, waits OUTAGE_S seconds,
# restarts it and prints the seconds until the worker has registered again.
# Figures in docs/benchmarks.md.
#
# Usage: bash deploy/measure_reconnect.sh [OUTAGE_S] [MAX_BACKOFF_S]
set -euo pipefail
cd "$(dirname "$0")/.."
outage="${1:-60}"
max_backoff="${2:-30}"
port=$((40000 + RANDOM % 20000))
bazel build -c opt //controller:amoeba-controller //worker:amoeba-worker >/dev/null 2>&1
dir="$(mktemp -d)"
pid=""
worker=""
trap 'kill -9 $pid $worker 2>/dev/null || true; rm -rf "$dir"' EXIT
controller() {
  bazel-bin/controller/amoeba-controller --store="$dir/search.db" --port="$port" \
    --population_size=4 --sample_size=2 --budget=1000000 --lease_timeout_s=600 \
    --logtostderr >"$dir/controller-$1.log" 2>&1 &
  pid=$!
}
controller 1
bazel-bin/worker/amoeba-worker --controller="127.0.0.1:$port" --evaluator=simulated \
  --simulated_seconds=0.2 --max_backoff_s="$max_backoff" --spool_dir="$dir/spool" \
  --logtostderr >"$dir/worker.log" 2>&1 &
worker=$!
sleep 5
kill -9 "$pid"
echo "controller killed; restarting it in ${outage}s (worker --max_backoff_s=$max_backoff)"
sleep "$outage"
start=$(date +%s.%N)
controller 2
for _ in $(seq 1 3000); do
  if grep -q "worker registered" "$dir/controller-2.log"; then
    now=$(date +%s.%N)
    echo "worker back after $(echo "$now - $start" | bc) s"
    exit 0
  fi
  sleep 0.1
done
echo "worker not back within 300 s"
exit 1
