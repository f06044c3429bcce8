#!/usr/bin/env bash
# The main job on a fresh machine: a real local search. Installs what is
# missing, builds, starts a controller and two CPU workers on this host
# (Fashion-MNIST from Debian's dataset-fashion-mnist, AmoebaNet-style cells
# at N=1, F=8, aging evolution with P=8, S=3, 24 children of 1 epoch on
# 1,500 images each), shows progress as it goes, and ends by printing the
# best genotype and where its outputs are (out/quickstart/).
#
# Usage: bash deploy/quickstart.sh        (BUDGET=N to change the budget)
set -euo pipefail
cd "$(dirname "$0")/.."

step() { echo; echo "==> $*"; }

step "Installing missing Debian packages"
bash deploy/install_deps.sh

step "Building (the first build takes several minutes on 2 cores)"
bazel build //cli:amoeba //controller:amoeba-controller //worker:amoeba-worker \
  2>&1 | grep -E '^(ERROR|FAILED)|error:' || true
bazel build //cli:amoeba //controller:amoeba-controller //worker:amoeba-worker \
  >/dev/null 2>&1
bin="$(bazel info bazel-bin 2>/dev/null)"
amoeba="$bin/cli/amoeba"

out="$PWD/out/quickstart"
rm -rf "$out"
mkdir -p "$out"
budget="${BUDGET:-24}"

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT

step "Starting the controller (store: $out/search.db, logs in $out/)"
"$bin/controller/amoeba-controller" --store="$out/search.db" --port=0 \
  --port_file="$out/port" --lease_timeout_s=60 --heartbeat_s=5 \
  > "$out/controller.log" 2>&1 &
pids+=($!)
# It writes the port file once it serves; a loaded machine may take a while.
for _ in $(seq 1 600); do [ -s "$out/port" ] && break; sleep 0.1; done
[ -s "$out/port" ] || { echo "controller did not start:"; cat "$out/controller.log"; exit 1; }
address="127.0.0.1:$(cat "$out/port")"
echo "controller on $address"

step "Creating the search (a controller runs any number of them)"
"$amoeba" search create --controller="$address" --search=quickstart \
  --algorithm=aging --population_size=8 --sample_size=3 --budget="$budget" \
  --search_seed=1 --dataset=fashion_mnist --N=1 --F=8 --epochs=1 \
  --batch_size=32 --lr=0.1 --max_train_images=1500 --validation_images=500

step "Starting two CPU workers (one core each)"
for i in 0 1; do
  "$bin/worker/amoeba-worker" --controller="$address" --worker_id="cpu-$i" \
    --device=cpu --threads=1 --spool_dir="$out/spool-$i" \
    > "$out/worker-$i.log" 2>&1 &
  pids+=($!)
done

step "Searching: $budget children (one line every 10 s)"
"$amoeba" status --controller="$address" --watch --interval_s=10 \
  --timeout_s=1800 | tee "$out/progress.txt"

step "Best genotype"
"$amoeba" status --controller="$address" | tee "$out/status.txt"
best="$(grep -A1 '^best:' "$out/status.txt" | tail -1 | sed 's/^ *//')"
echo "$best" > "$out/best_genotype.txt"
"$amoeba" genotype show "$out/best_genotype.txt"
"$amoeba" genotype dot --output="$out/best_genotype.svg" "$out/best_genotype.txt"

step "Done. Outputs in out/quickstart/:"
ls -1 "$out" | grep -v '^spool'
echo
# Named as the README names the tool: from the top of this clone (Bazel's
# bazel-bin link), or as plain `amoeba` once deploy/install.sh installed it.
echo "Retrain the best genotype bigger (from $PWD), e.g.:"
echo "  bazel-bin/cli/amoeba train --N=2 --F=16 --epochs=10 --max_train_images=0 --test out/quickstart/best_genotype.txt"
