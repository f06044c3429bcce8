// The statistics of an experiment's comparison (`amoeba compare`), pure:
// the paper's "mean of the top-10 so far" curves, means with standard
// errors over repeats, and a rank test between algorithms.
#ifndef AMOEBA_CLI_EXPERIMENT_STATS_H_
#define AMOEBA_CLI_EXPERIMENT_STATS_H_

#include <optional>
#include <vector>

namespace amoeba {

// After each completion i (fitness in completion order): the mean of the k
// best fitnesses among the first i + 1 (all of them while fewer than k).
std::vector<double> TopKSoFar(const std::vector<double>& fitness, int k);

// At each of `times`: the mean of the k best fitnesses completed by then
// (`completed_at` in the same order as `fitness`); nullopt before the first.
std::vector<std::optional<double>> TopKAtTimes(
    const std::vector<double>& fitness, const std::vector<double>& completed_at,
    const std::vector<double>& times, int k);

// Repeats of one arm, each with its completions' fitness and the cost spent
// by the time each completed (e.g. epochs trained so far): the least cost
// c <= `limit` at which the mean over repeats of the best fitness completed
// by c reaches `level` (every repeat having a completion by then); nullopt
// if it never does.
std::optional<double> FirstCostReaching(
    const std::vector<std::vector<double>>& fitness,
    const std::vector<std::vector<double>>& cost, double level, double limit);

// The mean of the k best (all, when fewer).
double TopKMean(std::vector<double> fitness, int k);

struct MeanSe {
  double mean = 0;
  double se = 0;  // standard error of the mean (0 for one value)
  int n = 0;
};
MeanSe MeanAndSe(const std::vector<double>& values);

// Two-sided p-value of the Mann-Whitney U test (Wilcoxon rank sum) that `a`
// and `b` come from the same distribution: exact (every split of the pooled
// ranks) when both samples have at most 10 values, the normal
// approximation with tie correction otherwise. 1 for an empty sample.
double MannWhitneyP(const std::vector<double>& a, const std::vector<double>& b);

}  // namespace amoeba

#endif  // AMOEBA_CLI_EXPERIMENT_STATS_H_
