// Early stopping of children: at a few "hurdle" epochs a worker reports the
// child's validation fitness, and the search answers "continue" or "stop
// here". Two rules:
//
//  * Progressive dynamic hurdles (So, Liang, Le: The Evolved Transformer,
//    ICML 2019, section 3.1): hurdle k is the mean fitness at epoch e_k of
//    the first `children` children that reached e_k. Until that many have,
//    every child continues; afterwards a child strictly below the hurdle
//    stops there. A stopped child keeps its fitness at the hurdle and joins
//    the population with it, as in the paper.
//  * Median stopping (the baseline of Vizier, Katib and Ray Tune): once
//    `children` children reported epoch e, a child strictly below the
//    `quantile` of their fitness at e stops (0.5: the median). With a
//    `window`, only the last `window` children that reported e count: an
//    evolving population outgrows a threshold set by all its past.
//
// Decisions are a function of the reports before them, in the order they
// were recorded: replaying the stored reports in that order rebuilds the
// same state, so a restarted controller gives every later report the answer
// the first controller would have given. A second report of the same child
// and epoch (a retry, a re-run attempt) gets the first report's decision and
// records nothing: a child is counted at most once per hurdle.
//
// Pure: no I/O, no clock, no threads. Thread safety: none; the search
// serializes calls.
#ifndef AMOEBA_EVOLUTION_EARLY_STOPPING_H_
#define AMOEBA_EVOLUTION_EARLY_STOPPING_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"

namespace amoeba {

enum class StoppingRule { kNone, kHurdles, kMedian };

// "none", "hurdles", "median".
std::string StoppingRuleName(StoppingRule rule);
// InvalidArgument for an unknown name.
absl::Status StoppingRuleFromName(const std::string& name, StoppingRule* rule);

struct EarlyStoppingOptions {
  StoppingRule rule = StoppingRule::kNone;  // the paper: no early stopping
  // Epochs at which a child may be stopped: strictly increasing, each at
  // least 1 and below the epochs a child trains (a hurdle at the last epoch
  // would save nothing).
  std::vector<int> epochs;
  // Hurdles: children whose mean fixes each hurdle. Median: children that
  // must have reported an epoch before the rule acts there.
  int children = 10;
  // Median only: stop below this quantile of the earlier children, in (0, 1).
  double quantile = 0.5;
  // Median only: the quantile of the last `window` children that reported
  // the epoch; 0: of all of them.
  int window = 0;
};

// InvalidArgument naming the bad setting ("early_stopping.epochs: 5 is not
// below the 5 epochs a child trains", ...). `epochs_trained` is the
// search's settings.epochs.
absl::Status ValidateEarlyStopping(const EarlyStoppingOptions& options,
                                   int epochs_trained);

// One report, as recorded (and stored) in order.
struct HurdleReport {
  int64_t model_id = 0;
  int epoch = 0;
  double fitness = 0;
  bool stop = false;  // the decision given
};

class EarlyStopper {
 public:
  // REQUIRES: ValidateEarlyStopping(options, ...) is OK.
  explicit EarlyStopper(EarlyStoppingOptions options);

  const EarlyStoppingOptions& options() const { return options_; }
  bool enabled() const { return options_.rule != StoppingRule::kNone; }
  // Whether `epoch` is one at which children may be stopped.
  bool IsHurdle(int epoch) const;

  // The answer to a report of `fitness` for `model_id` at hurdle epoch
  // `epoch`, and whether it is new (then it must be recorded, with
  // Record(), once it is durable). A child and epoch already recorded get
  // the recorded decision; so does any later epoch of a child that was
  // told to stop, and an earlier epoch of a child already judged at a later
  // one gets "continue" (it passed that later hurdle) without being counted.
  // REQUIRES: IsHurdle(epoch), 0 <= fitness <= 1.
  struct Answer {
    bool stop = false;
    bool is_new = false;
  };
  Answer Decide(int64_t model_id, int epoch, double fitness) const;

  // Adds a decided report (a new one, or a stored one when replaying).
  // Replaying the stored reports in their order rebuilds this state
  // exactly. InvalidArgument when the report is not what Decide would have
  // answered now (the stored reports do not belong to these options).
  absl::Status Record(const HurdleReport& report);

  // The report at which `model_id` was stopped, if it was.
  std::optional<HurdleReport> StoppedAt(int64_t model_id) const;
  // The hurdle at `epoch` once it is fixed (hurdles), or the current
  // threshold (median); nullopt while too few children reported.
  std::optional<double> Threshold(int epoch) const;
  // Children that reported `epoch`, and how many of them were stopped.
  int Reported(int epoch) const;
  int Stopped(int epoch) const;
  // Reports recorded so far, over every epoch (the next one is number
  // recorded() + 1 in the store).
  int64_t recorded() const { return static_cast<int64_t>(decided_.size()); }

 private:
  // Fitness at `epoch` of the children before, in report order.
  const std::vector<double>& Seen(int epoch) const;

  const EarlyStoppingOptions options_;
  // epoch -> fitness of the children that reported it, in report order.
  std::map<int, std::vector<double>> seen_;
  // Median: epoch -> the values its quantile is of (all, or the last
  // `window`), ascending. Kept sorted as reports come: a sort per report
  // would cost O(n log n) for every child of a 20,000-child search.
  std::map<int, std::vector<double>> quantile_of_;
  std::map<int, int> stopped_count_;         // epoch -> children stopped
  // (model, epoch) -> decision, and model -> the report that stopped it.
  std::map<std::pair<int64_t, int>, bool> decided_;
  std::map<int64_t, HurdleReport> stopped_;
  std::map<int64_t, int> latest_epoch_;  // model -> latest epoch recorded
};

}  // namespace amoeba

#endif  // AMOEBA_EVOLUTION_EARLY_STOPPING_H_
