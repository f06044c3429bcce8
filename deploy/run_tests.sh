#!/usr/bin/env bash
# Runs amoeba's whole test suite: installs what is missing, builds, runs every
# test with Bazel, and ends with one line "N passed, N failed" counted from
# the test cases each test binary reports (a binary that crashed or failed to
# build counts as one failed case). Exit status 0 only when nothing failed.
#
# Usage: bash deploy/run_tests.sh [bazel test flags or targets]
set -uo pipefail
cd "$(dirname "$0")/.."

bash deploy/install_deps.sh || { echo "dependency install failed"; exit 1; }

targets=("$@")
if [ "${#targets[@]}" -eq 0 ]; then targets=(//...); fi

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
start=$(date +%s)
bazel test --keep_going --test_summary=short "${targets[@]}" 2>&1 | tee "$log"
bazel_rc=${PIPESTATUS[0]}
elapsed=$(( $(date +%s) - start ))

passed=0
failed=0
testlogs="$(bazel info bazel-testlogs 2>/dev/null)"
# Summary lines: "//pkg:target   (cached) PASSED in 0.4s", "... FAILED in ...",
# "... TIMEOUT ...", "... NO STATUS", "... FAILED TO BUILD".
while read -r target status; do
  log_file="$testlogs/${target#//}"
  log_file="${log_file/://}/test.log"
  totals=""
  if [ -f "$log_file" ]; then
    totals=$(grep -E '^amoeba-test-totals: [0-9]+ passed, [0-9]+ failed' "$log_file" | tail -1)
  fi
  if [ -n "$totals" ] && [ "$status" != "NOSTATUS" ] && [ "$status" != "BUILD" ]; then
    p=$(echo "$totals" | sed -E 's/.*: ([0-9]+) passed.*/\1/')
    f=$(echo "$totals" | sed -E 's/.* ([0-9]+) failed.*/\1/')
    passed=$((passed + p))
    failed=$((failed + f))
    if [ "$status" != "PASSED" ] && [ "$f" -eq 0 ]; then
      failed=$((failed + 1))  # e.g. crashed after the last case
      echo "counted as failed: $target ($status)"
    fi
  elif [ "$status" = "PASSED" ]; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    echo "counted as failed: $target ($status)"
  fi
done < <(grep -E '^//[^ ]+ +.*(PASSED|FAILED|TIMEOUT|NO STATUS|FLAKY|INCOMPLETE)' "$log" |
         sed -E 's/^(\/\/[^ ]+) +(\(cached\) +)?(PASSED|FAILED TO BUILD|FAILED|TIMEOUT|NO STATUS|FLAKY|INCOMPLETE).*/\1 \3/' |
         sed -E 's/FAILED TO BUILD/BUILD/; s/NO STATUS/NOSTATUS/')

if [ "$passed" -eq 0 ] && [ "$failed" -eq 0 ]; then
  echo "no test ran (bazel exit code $bazel_rc)"
  failed=1
fi
if [ "$bazel_rc" -ne 0 ] && [ "$failed" -eq 0 ]; then
  echo "bazel test exited with $bazel_rc"
  failed=1
fi
echo "test time: ${elapsed}s"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
