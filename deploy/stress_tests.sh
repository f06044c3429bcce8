#!/usr/bin/env bash
# Runs the whole test suite several times in a row while busy loops load
# every core, to show that no test depends on timing: a test that waits for
# a time instead of an event fails here first.
#
# Usage: bash deploy/stress_tests.sh [RUNS] [BURNERS]
#   RUNS     suite runs in a row (default 3)
#   BURNERS  busy processes beside it (default: one per core)
# Each run re-runs every test (--nocache_test_results) and prints the
# suite's last line; the exit status is 0 only when every run was green.
set -uo pipefail
cd "$(dirname "$0")/.."

runs="${1:-3}"
burners="${2:-$(nproc)}"
burner_pids=()
stop_burners() {
  for pid in "${burner_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
}
trap stop_burners EXIT
for _ in $(seq 1 "$burners"); do
  ( while :; do :; done ) &
  burner_pids+=($!)
done
echo "stress: $runs suite runs beside $burners busy processes on $(nproc) cores"

failed_runs=0
for run in $(seq 1 "$runs"); do
  log="$(mktemp)"
  start=$(date +%s)
  bash deploy/run_tests.sh --nocache_test_results //... > "$log" 2>&1
  rc=$?
  echo "run $run: $(tail -1 "$log") ($(( $(date +%s) - start )) s, exit $rc)"
  if [ "$rc" -ne 0 ]; then
    failed_runs=$((failed_runs + 1))
    grep -E 'counted as failed|FAILED|TIMEOUT' "$log" | head -20
  fi
  rm -f "$log"
done
echo "stress: $((runs - failed_runs)) of $runs runs green"
[ "$failed_runs" -eq 0 ]
