#include "cli/experiment_stats.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <numeric>
#include <utility>

namespace amoeba {

std::vector<double> TopKSoFar(const std::vector<double>& fitness, int k) {
  std::vector<double> best;  // the k best so far, ascending
  std::vector<double> curve;
  curve.reserve(fitness.size());
  for (double f : fitness) {
    best.insert(std::upper_bound(best.begin(), best.end(), f), f);
    if (static_cast<int>(best.size()) > k) best.erase(best.begin());
    curve.push_back(std::accumulate(best.begin(), best.end(), 0.0) /
                    best.size());
  }
  return curve;
}

std::vector<std::optional<double>> TopKAtTimes(
    const std::vector<double>& fitness, const std::vector<double>& completed_at,
    const std::vector<double>& times, int k) {
  std::vector<size_t> order(fitness.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return completed_at[a] < completed_at[b];
  });
  std::vector<double> in_time_order;
  for (size_t i : order) in_time_order.push_back(fitness[i]);
  const std::vector<double> curve = TopKSoFar(in_time_order, k);
  std::vector<std::optional<double>> out;
  size_t done = 0;
  for (double t : times) {
    while (done < order.size() && completed_at[order[done]] <= t) ++done;
    out.push_back(done == 0 ? std::nullopt
                            : std::optional<double>(curve[done - 1]));
  }
  return out;
}

std::optional<double> FirstCostReaching(
    const std::vector<std::vector<double>>& fitness,
    const std::vector<std::vector<double>>& cost, double level, double limit) {
  if (fitness.empty()) return std::nullopt;
  // The mean of step functions only changes where one of them steps.
  std::vector<double> steps;
  for (const auto& c : cost) {
    for (double v : c) {
      if (v <= limit) steps.push_back(v);
    }
  }
  std::sort(steps.begin(), steps.end());
  steps.erase(std::unique(steps.begin(), steps.end()), steps.end());
  std::vector<std::vector<std::optional<double>>> best;
  for (size_t r = 0; r < fitness.size(); ++r) {
    best.push_back(TopKAtTimes(fitness[r], cost[r], steps, 1));
  }
  for (size_t i = 0; i < steps.size(); ++i) {
    double sum = 0;
    bool everyone = true;
    for (const auto& b : best) {
      if (!b[i].has_value()) {
        everyone = false;
        break;
      }
      sum += *b[i];
    }
    if (everyone && sum / best.size() >= level - 1e-12) return steps[i];
  }
  return std::nullopt;
}

double TopKMean(std::vector<double> fitness, int k) {
  if (fitness.empty()) return 0;
  std::sort(fitness.begin(), fitness.end(), std::greater<double>());
  const size_t n = std::min(fitness.size(), static_cast<size_t>(k));
  return std::accumulate(fitness.begin(), fitness.begin() + n, 0.0) / n;
}

MeanSe MeanAndSe(const std::vector<double>& values) {
  MeanSe out;
  out.n = static_cast<int>(values.size());
  if (values.empty()) return out;
  out.mean = std::accumulate(values.begin(), values.end(), 0.0) / out.n;
  if (out.n > 1) {
    double ss = 0;
    for (double v : values) ss += (v - out.mean) * (v - out.mean);
    out.se = std::sqrt(ss / (out.n - 1) / out.n);
  }
  return out;
}

namespace {

// Ranks of the pooled values (ties get their average rank).
std::vector<double> Ranks(const std::vector<double>& pooled) {
  std::vector<size_t> order(pooled.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(),
            [&](size_t a, size_t b) { return pooled[a] < pooled[b]; });
  std::vector<double> ranks(pooled.size());
  for (size_t i = 0; i < order.size();) {
    size_t j = i;
    while (j + 1 < order.size() && pooled[order[j + 1]] == pooled[order[i]]) ++j;
    const double rank = (i + j) / 2.0 + 1;
    for (size_t t = i; t <= j; ++t) ranks[order[t]] = rank;
    i = j + 1;
  }
  return ranks;
}

}  // namespace

double MannWhitneyP(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.empty() || b.empty()) return 1;
  std::vector<double> pooled = a;
  pooled.insert(pooled.end(), b.begin(), b.end());
  const std::vector<double> ranks = Ranks(pooled);
  const size_t n1 = a.size();
  const size_t n2 = b.size();
  const size_t n = n1 + n2;
  double r1 = 0;
  for (size_t i = 0; i < n1; ++i) r1 += ranks[i];
  const double mean_r1 = n1 * (n + 1) / 2.0;
  const double observed = std::abs(r1 - mean_r1);
  if (n1 <= 10 && n2 <= 10) {
    // Every way to give n1 of the pooled ranks to the first sample.
    std::vector<bool> pick(n, false);
    std::fill(pick.begin(), pick.begin() + n1, true);
    int64_t total = 0;
    int64_t extreme = 0;
    std::sort(pick.begin(), pick.end(), std::greater<bool>());
    do {
      double sum = 0;
      for (size_t i = 0; i < n; ++i) {
        if (pick[i]) sum += ranks[i];
      }
      ++total;
      if (std::abs(sum - mean_r1) >= observed - 1e-9) ++extreme;
    } while (std::prev_permutation(pick.begin(), pick.end()));
    return static_cast<double>(extreme) / total;
  }
  // Normal approximation with the tie correction.
  double ties = 0;
  std::vector<double> sorted = ranks;
  std::sort(sorted.begin(), sorted.end());
  for (size_t i = 0; i < n;) {
    size_t j = i;
    while (j + 1 < n && sorted[j + 1] == sorted[i]) ++j;
    const double t = static_cast<double>(j - i + 1);
    ties += t * t * t - t;
    i = j + 1;
  }
  const double variance =
      n1 * n2 / 12.0 * ((n + 1) - ties / (static_cast<double>(n) * (n - 1)));
  if (variance <= 0) return 1;
  const double z = (observed - 0.5) / std::sqrt(variance);  // continuity
  return std::min(1.0, std::erfc(std::max(0.0, z) / std::sqrt(2.0)));
}

}  // namespace amoeba
