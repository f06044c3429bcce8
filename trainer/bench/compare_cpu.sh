#!/usr/bin/env bash
# C++ (trainer_bench) against Python PyTorch (pytorch_reference.py) on the
# same machine, same network, same threads. This machine's speed drifts, so
# the two alternate, ROUNDS times each, and the medians are compared.
#
# Usage: bash trainer/bench/compare_cpu.sh [config a|b] [rounds] [steps]
#   THREADS=N          threads for both (default 2)
#   PY_CHANNELS_LAST=1 the Python side in channels-last too (the C++ side
#                      uses it by default; CPP_FLAGS=--channels_last=false
#                      turns it off there)
# Needs Debian's python3-torch (apt-get install python3-torch).
set -euo pipefail
cd "$(dirname "$0")/../.."
config="${1:-a}"
rounds="${2:-5}"
steps="${3:-30}"
threads="${THREADS:-2}"
bazel build //trainer:trainer_bench >/dev/null 2>&1
cpp=()
py=()
for ((i = 0; i < rounds; i++)); do
  c=$(bazel-bin/trainer/trainer_bench --devices=cpu --configs="$config" \
        --cpu_steps="$steps" --threads="$threads" --warmup_steps=2 ${CPP_FLAGS:-} | awk '/^\(/{print $(NF-2)}')
  p=$(/usr/bin/python3 trainer/bench/pytorch_reference.py --config "$config" \
        --steps "$steps" --threads "$threads" --warmup 2 \
        ${PY_CHANNELS_LAST:+--channels_last} | sed -E 's/.* ([0-9.]+) ms\/step.*/\1/')
  echo "round $((i + 1)): C++ $c ms/step, Python $p ms/step"
  cpp+=("$c")
  py+=("$p")
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
mc=$(median "${cpp[@]}")
mp=$(median "${py[@]}")
echo "config ($config), $threads threads, median of $rounds: C++ $mc ms/step, Python $mp ms/step"
awk -v c="$mc" -v p="$mp" 'BEGIN {printf "C++ / Python time: %.2f\n", c / p}'
