#!/usr/bin/env python3
"""Does weight inheritance still rank architectures, or does it reward lineage?

Takes mutated children that inherited their parent's weights from the
searches of one arm of an experiment (`amoeba experiment`), retrains each
genotype from fresh weights with the search's full recipe (`amoeba train`,
two seeds), and prints Spearman rank correlations:

  inherited fitness  vs  fresh retraining (seed 1, and the mean of both)
  fresh seed 1       vs  fresh seed 2      (the noise ceiling of any ranking)
  inherited fitness  vs  the parent's fitness (lineage)

With --top=K instead: the K best distinct genotypes of every search of
the experiment (every arm), retrained from fresh weights (two seeds), per
arm: what the search found, measured without inheritance.

Usage:
  python3 deploy/inheritance_rank_study.py STORE EXPERIMENT ARM \
      [--per_search=7] [--amoeba=bazel-bin/cli/amoeba] [--out=DIR]
  python3 deploy/inheritance_rank_study.py STORE EXPERIMENT --top=3 [...]

The training flags come from each search's stored config. Reads the store
read-only; runs two trainings at once (one thread each).
"""
import argparse
import concurrent.futures
import json
import os
import re
import sqlite3
import subprocess
import sys


def ranks(values):
    order = sorted(range(len(values)), key=lambda i: values[i])
    r = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            r[order[k]] = (i + j) / 2.0 + 1
        i = j + 1
    return r


def spearman(a, b):
    ra, rb = ranks(a), ranks(b)
    n = len(a)
    ma, mb = sum(ra) / n, sum(rb) / n
    cov = sum((x - ma) * (y - mb) for x, y in zip(ra, rb))
    va = sum((x - ma) ** 2 for x in ra)
    vb = sum((y - mb) ** 2 for y in rb)
    return cov / (va * vb) ** 0.5 if va > 0 and vb > 0 else float("nan")


def train_flags(config):
    s = config.get("settings", {})
    return [
        "--dataset=" + s.get("dataset", "fashion_mnist"),
        "--N=%s" % s.get("cells_per_stack", 1),
        "--F=%s" % s.get("filters", 8),
        "--epochs=%s" % s.get("epochs", 1),
        "--batch_size=%s" % s.get("batch_size", 64),
        "--lr=%s" % s.get("learning_rate", 0.1),
        "--max_train_images=%s" % s.get("max_train_images", 0),
        "--validation_images=%s" % s.get("validation_images", 500),
        "--threads=1",
    ]


def train(amoeba, flags, genotype, seed, log):
    with open(log, "w") as out:
        subprocess.run([amoeba, "train", "--seed=%d" % seed] + flags +
                       [genotype], stdout=out, stderr=subprocess.STDOUT,
                       check=True)
    text = open(log).read()
    found = re.findall(r"validation accuracy ([0-9.]+)", text)
    if not found:
        sys.exit("no validation accuracy in " + log)
    return float(found[-1])


def retrain_all(a, jobs):
    """jobs: (search, child, genotype, flags); {(index, seed): fitness}."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        futures = {}
        for i, (name, child, genotype, flags) in enumerate(jobs):
            for seed in (1, 2):
                log = os.path.join(a.out, "%s-%d-seed%d.log" % (name, child, seed))
                futures[(i, seed)] = pool.submit(train, a.amoeba, flags,
                                                 genotype, seed, log)
        return {k: f.result() for k, f in futures.items()}


def top_genotypes(a, db):
    searches = db.execute(
        "SELECT search, name, config FROM searches WHERE name LIKE ? "
        "ORDER BY name", ("%s-%%" % a.experiment,)).fetchall()
    jobs, arm_of = [], []
    for key, name, config in searches:
        arm = name[len(a.experiment) + 1:].rsplit("-", 1)[0]
        flags = train_flags(json.loads(config))
        seen = set()
        for child, genotype, fitness in db.execute(
                "SELECT id, genotype, fitness FROM models WHERE search = ? "
                "AND state = 'done' ORDER BY fitness DESC, id", (key,)):
            if genotype in seen:
                continue
            seen.add(genotype)
            jobs.append((name, child, genotype, flags))
            arm_of.append((arm, name, fitness))
            if len(seen) == a.top:
                break
    print("top %d genotypes of %d searches, retrained from fresh weights with "
          "seeds 1 and 2" % (a.top, len(searches)), flush=True)
    fresh = retrain_all(a, jobs)
    by_arm = {}
    with open(os.path.join(a.out, "top.tsv"), "w") as out:
        out.write("arm\tsearch\tchild\tsearch_fitness\tfresh_seed1\tfresh_seed2\n")
        for i, (arm, name, fitness) in enumerate(arm_of):
            f1, f2 = fresh[(i, 1)], fresh[(i, 2)]
            out.write("%s\t%s\t%d\t%.4f\t%.4f\t%.4f\n" % (arm, name, jobs[i][1],
                                                         fitness, f1, f2))
            by_arm.setdefault(arm, {}).setdefault(name, []).append(
                (fitness, (f1 + f2) / 2))
    print("%-14s %s" % ("arm", "mean over searches (± s.e.) of the top-%d: "
                        "fitness in the search | retrained from fresh weights" % a.top))
    for arm, per_search in sorted(by_arm.items()):
        found = [sum(x[0] for x in v) / len(v) for v in per_search.values()]
        fresh_mean = [sum(x[1] for x in v) / len(v) for v in per_search.values()]
        best = [max(x[1] for x in v) for v in per_search.values()]
        def mse(v):
            m = sum(v) / len(v)
            se = (sum((x - m) ** 2 for x in v) / (len(v) - 1) / len(v)) ** 0.5 \
                if len(v) > 1 else 0.0
            return "%.4f ± %.4f" % (m, se)
        print("%-14s %s | %s (best retrained %s)" % (arm, mse(found),
                                                     mse(fresh_mean), mse(best)))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("store")
    p.add_argument("experiment")
    p.add_argument("arm", nargs="?", default="")
    p.add_argument("--per_search", type=int, default=7)
    p.add_argument("--top", type=int, default=0)
    p.add_argument("--amoeba", default="bazel-bin/cli/amoeba")
    p.add_argument("--out", default="out/inheritance_rank")
    a = p.parse_args()
    os.makedirs(a.out, exist_ok=True)
    db = sqlite3.connect("file:%s?mode=ro" % a.store, uri=True)
    if a.top > 0:
        return top_genotypes(a, db)
    if not a.arm:
        sys.exit("name the ARM whose inheriting children to rank, or --top=K")
    searches = db.execute(
        "SELECT search, name, config FROM searches WHERE name LIKE ? "
        "ORDER BY name", ("%s-%s-%%" % (a.experiment, a.arm),)).fetchall()
    if not searches:
        sys.exit("no search %s-%s-R in %s" % (a.experiment, a.arm, a.store))
    jobs = []  # (search name, id, genotype, inherited fitness, parent fitness, flags)
    seen = set()
    for key, name, config in searches:
        flags = train_flags(json.loads(config))
        rows = db.execute(
            "SELECT c.id, c.genotype, c.fitness, p.fitness FROM models c "
            "JOIN models p ON p.search = c.search AND p.id = c.parent_id "
            "WHERE c.search = ? AND c.state = 'done' AND "
            "c.inherited_parameters > 0 ORDER BY c.completion_seq",
            (key,)).fetchall()
        # Evenly over the search, early and late children alike.
        step = max(1, len(rows) // a.per_search)
        for child, genotype, fitness, parent_fitness in rows[::step][:a.per_search]:
            if genotype in seen:
                continue
            seen.add(genotype)
            jobs.append((name, child, genotype, fitness, parent_fitness, flags))
    print("%d genotypes from %d searches; retraining each from fresh weights "
          "with seeds 1 and 2" % (len(jobs), len(searches)), flush=True)
    fresh = retrain_all(a, [(j[0], j[1], j[2], j[5]) for j in jobs])
    inherited = [j[3] for j in jobs]
    parents = [j[4] for j in jobs]
    fresh1 = [fresh[(i, 1)] for i in range(len(jobs))]
    fresh2 = [fresh[(i, 2)] for i in range(len(jobs))]
    mean = [(x + y) / 2 for x, y in zip(fresh1, fresh2)]
    with open(os.path.join(a.out, "children.tsv"), "w") as out:
        out.write("search\tchild\tinherited\tparent\tfresh_seed1\tfresh_seed2\n")
        for j, f1, f2 in zip(jobs, fresh1, fresh2):
            out.write("%s\t%d\t%.4f\t%.4f\t%.4f\t%.4f\n" % (j[0], j[1], j[3],
                                                          j[4], f1, f2))
    print("Spearman rank correlation over %d genotypes:" % len(jobs))
    print("  inherited fitness vs fresh (seed 1)       %.3f" %
          spearman(inherited, fresh1))
    print("  inherited fitness vs fresh (mean of 2)    %.3f" %
          spearman(inherited, mean))
    print("  fresh seed 1 vs fresh seed 2 (ceiling)    %.3f" %
          spearman(fresh1, fresh2))
    print("  inherited fitness vs parent's fitness     %.3f" %
          spearman(inherited, parents))
    print("  fresh (mean of 2) vs parent's fitness     %.3f" %
          spearman(mean, parents))
    print("mean fitness: inherited %.4f, fresh %.4f, parents %.4f" %
          (sum(inherited) / len(jobs), sum(mean) / len(jobs),
           sum(parents) / len(jobs)))


if __name__ == "__main__":
    main()
