#!/usr/bin/env bash
# The main job on a fresh machine: installs what is missing, builds
# everything, and shows the search space at work (published cells, a random
# genotype, a chain of mutations, drawings). Outputs go to out/quickstart/.
#
# Usage: bash deploy/quickstart.sh
set -euo pipefail
cd "$(dirname "$0")/.."

step() { echo; echo "==> $*"; }

step "Installing missing Debian packages"
bash deploy/install_deps.sh

step "Building everything (first build takes a few minutes on 2 cores)"
bazel build //... 2>&1 | grep -vE '^(INFO|Loading|Analyzing)' || true
bazel build //... >/dev/null 2>&1  # fail here if the build failed
amoeba=bazel-bin/cli/amoeba

out=out/quickstart
mkdir -p "$out"

step "The published AmoebaNet-A cells"
"$amoeba" genotype show amoebanet-a

step "A random genotype (seed 1) and five mutations of it"
"$amoeba" genotype random --seed=1 > "$out/random.txt"
cat "$out/random.txt"
"$amoeba" genotype mutate --seed=1 --steps=5 < "$out/random.txt" \
  > "$out/mutations.txt"
"$amoeba" genotype validate < "$out/mutations.txt"

step "Drawing AmoebaNet-A and the last mutant as SVG"
"$amoeba" genotype dot --output="$out/amoebanet-a.svg" amoebanet-a
tail -1 "$out/mutations.txt" > "$out/mutant.txt"
"$amoeba" genotype dot --output="$out/mutant.svg" "$out/mutant.txt"

step "Done. Outputs in $out/:"
ls -1 "$out"
