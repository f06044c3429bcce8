#include "evolution/early_stopping.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "absl/strings/str_cat.h"

namespace amoeba {

std::string StoppingRuleName(StoppingRule rule) {
  switch (rule) {
    case StoppingRule::kNone:
      return "none";
    case StoppingRule::kHurdles:
      return "hurdles";
    case StoppingRule::kMedian:
      return "median";
  }
  return "none";
}

absl::Status StoppingRuleFromName(const std::string& name,
                                  StoppingRule* rule) {
  for (StoppingRule r :
       {StoppingRule::kNone, StoppingRule::kHurdles, StoppingRule::kMedian}) {
    if (StoppingRuleName(r) == name) {
      *rule = r;
      return absl::OkStatus();
    }
  }
  return absl::InvalidArgumentError(
      absl::StrCat("early_stopping.rule: '", name,
                   "' is not one of none, hurdles, median"));
}

absl::Status ValidateEarlyStopping(const EarlyStoppingOptions& options,
                                   int epochs_trained) {
  if (options.rule == StoppingRule::kNone) {
    if (!options.epochs.empty()) {
      return absl::InvalidArgumentError(
          "early_stopping.epochs given but early_stopping.rule is none");
    }
    return absl::OkStatus();
  }
  if (options.epochs.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "early_stopping.epochs: rule ", StoppingRuleName(options.rule),
        " needs at least one epoch to stop at"));
  }
  int previous = 0;
  for (int epoch : options.epochs) {
    if (epoch <= previous) {
      return absl::InvalidArgumentError(absl::StrCat(
          "early_stopping.epochs: must be increasing and at least 1 (", epoch,
          " after ", previous, ")"));
    }
    if (epoch >= epochs_trained) {
      return absl::InvalidArgumentError(absl::StrCat(
          "early_stopping.epochs: ", epoch, " is not below the ",
          epochs_trained,
          " epochs a child trains (a hurdle at the end saves nothing)"));
    }
    previous = epoch;
  }
  if (options.children < 1 || options.children > 1000000) {
    return absl::InvalidArgumentError(absl::StrCat(
        "early_stopping.children: ", options.children,
        " (children that fix a hurdle) must be in [1, 1000000]"));
  }
  if (options.window < 0 || options.window > 1000000) {
    return absl::InvalidArgumentError(absl::StrCat(
        "early_stopping.window: ", options.window,
        " (recent children the median is of; 0 = all) must be in "
        "[0, 1000000]"));
  }
  if (options.window > 0 && options.rule != StoppingRule::kMedian) {
    return absl::InvalidArgumentError(
        "early_stopping.window is a setting of the median rule only");
  }
  if (!(options.quantile > 0 && options.quantile < 1)) {
    return absl::InvalidArgumentError(
        absl::StrCat("early_stopping.quantile: ", options.quantile,
                     " must be a fraction in (0, 1)"));
  }
  return absl::OkStatus();
}

EarlyStopper::EarlyStopper(EarlyStoppingOptions options)
    : options_(std::move(options)) {}

bool EarlyStopper::IsHurdle(int epoch) const {
  return enabled() && std::find(options_.epochs.begin(), options_.epochs.end(),
                                epoch) != options_.epochs.end();
}

const std::vector<double>& EarlyStopper::Seen(int epoch) const {
  static const std::vector<double>* const kNone = new std::vector<double>();
  auto it = seen_.find(epoch);
  return it == seen_.end() ? *kNone : it->second;
}

std::optional<double> EarlyStopper::Threshold(int epoch) const {
  const std::vector<double>& seen = Seen(epoch);
  const size_t n = static_cast<size_t>(options_.children);
  if (seen.size() < n) return std::nullopt;
  if (options_.rule == StoppingRule::kHurdles) {
    // Fixed by the first `children` that reached it, never moved after.
    return std::accumulate(seen.begin(), seen.begin() + n, 0.0) /
           static_cast<double>(n);
  }
  // The quantile of the earlier children at this epoch (all, or the last
  // `window`), interpolated linearly between order statistics (numpy's
  // default).
  const std::vector<double>& sorted = quantile_of_.at(epoch);
  const double at = options_.quantile * static_cast<double>(sorted.size() - 1);
  const size_t below = static_cast<size_t>(std::floor(at));
  const size_t above = std::min(below + 1, sorted.size() - 1);
  const double t = at - static_cast<double>(below);
  return sorted[below] + t * (sorted[above] - sorted[below]);
}

EarlyStopper::Answer EarlyStopper::Decide(int64_t model_id, int epoch,
                                          double fitness) const {
  if (auto it = decided_.find({model_id, epoch}); it != decided_.end()) {
    return {it->second, false};
  }
  // A child told to stop at an earlier hurdle that trained on anyway (its
  // ack was lost) stays stopped: the answer never changes.
  if (auto it = stopped_.find(model_id); it != stopped_.end()) {
    return {true, false};
  }
  // A child already judged at a later hurdle (this epoch's report of it was
  // lost, and a second attempt reports it now) passed that later hurdle:
  // stopping it at an earlier one would contradict the answer it got there.
  if (auto it = latest_epoch_.find(model_id);
      it != latest_epoch_.end() && it->second > epoch) {
    return {false, false};
  }
  const std::optional<double> threshold = Threshold(epoch);
  return {threshold.has_value() && fitness < *threshold, true};
}

absl::Status EarlyStopper::Record(const HurdleReport& report) {
  if (!IsHurdle(report.epoch)) {
    return absl::InvalidArgumentError(
        absl::StrCat("a report at epoch ", report.epoch,
                     ", which is not an early-stopping epoch of this search"));
  }
  const Answer answer = Decide(report.model_id, report.epoch, report.fitness);
  if (!answer.is_new || answer.stop != report.stop) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the report of child ", report.model_id, " at epoch ", report.epoch,
        answer.is_new ? " has another decision than its predecessors give"
                      : " is there twice"));
  }
  std::vector<double>& seen = seen_[report.epoch];
  seen.push_back(report.fitness);
  if (options_.rule == StoppingRule::kMedian) {
    std::vector<double>& sorted = quantile_of_[report.epoch];
    sorted.insert(std::upper_bound(sorted.begin(), sorted.end(), report.fitness),
                  report.fitness);
    const size_t window = static_cast<size_t>(options_.window);
    if (window > 0 && seen.size() > window) {
      // The report that just left the window.
      sorted.erase(std::lower_bound(sorted.begin(), sorted.end(),
                                    seen[seen.size() - 1 - window]));
    }
  }
  decided_[{report.model_id, report.epoch}] = report.stop;
  int& latest = latest_epoch_[report.model_id];
  latest = std::max(latest, report.epoch);
  if (report.stop) {
    stopped_[report.model_id] = report;
    ++stopped_count_[report.epoch];
  }
  return absl::OkStatus();
}

std::optional<HurdleReport> EarlyStopper::StoppedAt(int64_t model_id) const {
  auto it = stopped_.find(model_id);
  if (it == stopped_.end()) return std::nullopt;
  return it->second;
}

int EarlyStopper::Reported(int epoch) const {
  return static_cast<int>(Seen(epoch).size());
}

int EarlyStopper::Stopped(int epoch) const {
  auto it = stopped_count_.find(epoch);
  return it == stopped_count_.end() ? 0 : it->second;
}

}  // namespace amoeba
