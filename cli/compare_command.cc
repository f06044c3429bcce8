// `amoeba compare`: the paper's figures and table for the searches of an
// experiment, from the store (read-only).
#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iostream>
#include <limits>
#include <map>
#include <memory>
#include <optional>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "cli/compare_final.h"
#include "cli/experiment_command.h"
#include "cli/experiment_stats.h"
#include "cli/svg_plot.h"
#include "common/status_macros.h"
#include "store/store_reader.h"
#include "gflags/gflags.h"
#include "proto/controller.pb.h"

DECLARE_string(report_dir);
DEFINE_string(experiment, "", "`compare`: the experiment's name");

namespace amoeba {

// An arm named after its algorithm gets the algorithm's colour (the same in
// every experiment); other arms the next free one.
std::string ArmColor(const std::string& arm) {
  static const std::map<std::string, std::string> kAlgorithms = {
      {"aging", "#d0021b"},
      {"non_aging", "#f5a623"},
      {"random", "#4a4a4a"},
      {"reinforce", "#4a90d9"}};
  static const char* kOthers[] = {"#7ed321", "#9013fe", "#50e3c2", "#8b572a",
                                  "#bd10e0", "#417505"};
  static std::map<std::string, std::string> assigned;
  if (auto it = kAlgorithms.find(arm); it != kAlgorithms.end()) {
    return it->second;
  }
  auto [it, added] = assigned.emplace(arm, "");
  if (added) it->second = kOthers[(assigned.size() - 1) % std::size(kOthers)];
  return it->second;
}

namespace {

constexpr int kTopK = 10;
constexpr int kTimePoints = 100;

struct Run {
  std::string search;
  std::string algorithm;
  std::vector<double> fitness;    // done children, in completion order
  std::vector<double> seconds;    // since the search was created
  // Epochs trained by the search when each completed: the cost a GPU owner
  // pays. A child stopped early cost its stopped epoch.
  std::vector<double> epochs;
  int stopped = 0;
  // Weight inheritance: mutated children of an inheriting search, those
  // that started from their parent's weights, and the sum of the fraction
  // of parameters they copied.
  int inheriting = 0;
  int inherited = 0;
  double inherited_fraction = 0;
  std::vector<double> parameters;
  std::vector<double> multiply_adds;
};

absl::StatusOr<std::map<std::string, std::vector<Run>>> LoadRuns(
    const std::string& path, const std::string& experiment) {
  auto store = StoreReader::Open(path);
  if (!store.ok()) return store.status();
  auto searches = (*store)->Searches();
  if (!searches.ok()) return searches.status();
  std::map<std::string, std::vector<Run>> by_arm;
  for (const StoredSearch& s : *searches) {
    const std::string arm = ArmOfSearch(s.name, experiment);
    if (arm.empty()) continue;
    ASSIGN_OR_RETURN(const v1::SearchConfig config, StoreReader::Config(s));
    auto done = (*store)->FinishedChildren(s);
    if (!done.ok()) return done.status();
    auto hurdles = (*store)->HurdleReports(s);
    if (!hurdles.ok()) return hurdles.status();
    std::map<int64_t, int> stopped_at;
    for (const HurdleReport& h : *hurdles) {
      if (h.stop) stopped_at[h.model_id] = h.epoch;
    }
    const int full_epochs = std::max(1, config.settings().epochs());
    const bool inherits = config.inheritance().enabled();
    // A mutated child of an inheriting search trains the inheriting
    // epochs, whether or not its parent's weights reached it.
    const int inheriting_epochs =
        inherits ? std::max(1, config.inheritance().epochs()) : full_epochs;
    Run run;
    run.search = s.name;
    run.algorithm = config.algorithm();
    double epochs = 0;
    for (const ModelRecord& m : *done) {
      const auto stopped = stopped_at.find(m.id);
      run.stopped += stopped != stopped_at.end();
      const bool inheriting = inherits && m.parent_id > 0;
      epochs += stopped != stopped_at.end() ? stopped->second
                : inheriting                  ? inheriting_epochs
                                              : full_epochs;
      if (inheriting) {
        ++run.inheriting;
        run.inherited += m.inherited_parameters > 0;
        if (m.parameters > 0) {
          run.inherited_fraction += static_cast<double>(m.inherited_parameters) /
                                    static_cast<double>(m.parameters);
        }
      }
      run.fitness.push_back(m.fitness);
      run.seconds.push_back(std::max(0.0, m.finished_at - s.created_at));
      run.epochs.push_back(epochs);
      run.parameters.push_back(static_cast<double>(m.parameters));
      run.multiply_adds.push_back(static_cast<double>(m.multiply_adds));
    }
    by_arm[arm].push_back(std::move(run));
  }
  if (by_arm.empty()) {
    return absl::NotFoundError(absl::StrCat(
        "no search of experiment '", experiment, "' in ", path,
        " (its searches are named ", experiment, "-ARM-R)"));
  }
  return by_arm;
}

// Mean and standard error over repeats of the top-10 curve against
// children evaluated, up to the shortest run.
Series ChildrenCurve(const std::string& algorithm, const std::vector<Run>& runs) {
  size_t length = runs.front().fitness.size();
  for (const Run& r : runs) length = std::min(length, r.fitness.size());
  std::vector<std::vector<double>> curves;
  for (const Run& r : runs) curves.push_back(TopKSoFar(r.fitness, kTopK));
  Series s{algorithm, ArmColor(algorithm), {}, true, {}};
  for (size_t i = 0; i < length; ++i) {
    std::vector<double> at;
    for (const auto& c : curves) at.push_back(c[i]);
    const MeanSe m = MeanAndSe(at);
    s.points.emplace_back(i + 1, m.mean);
    s.band.emplace_back(m.mean - m.se, m.mean + m.se);
  }
  return s;
}

// The mean (± s.e. over repeats) of the top-k completed by each cost in
// `at` (seconds or epochs, `cost` of each completion), where every repeat
// has results: a mean of fewer would jump. x is the cost / `x_unit`.
Series CostCurve(const std::string& arm, const std::vector<Run>& runs,
                 std::vector<double> Run::*cost, const std::vector<double>& at,
                 int k, double x_unit) {
  std::vector<std::vector<std::optional<double>>> curves;
  for (const Run& r : runs) {
    curves.push_back(TopKAtTimes(r.fitness, r.*cost, at, k));
  }
  Series s{arm, ArmColor(arm), {}, true, {}};
  for (size_t i = 0; i < at.size(); ++i) {
    std::vector<double> values;
    for (const auto& c : curves) {
      if (c[i].has_value()) values.push_back(*c[i]);
    }
    if (values.size() != runs.size()) continue;
    const MeanSe m = MeanAndSe(values);
    s.points.emplace_back(at[i] / x_unit, m.mean);
    s.band.emplace_back(m.mean - m.se, m.mean + m.se);
  }
  return s;
}

// `points` evenly spaced costs up to the largest of any run.
std::vector<double> CostGrid(
    const std::map<std::string, std::vector<Run>>& by_arm,
    std::vector<double> Run::*cost, int points) {
  double last = 0;
  for (const auto& [arm, runs] : by_arm) {
    for (const Run& r : runs) {
      for (double c : r.*cost) last = std::max(last, c);
    }
  }
  std::vector<double> grid;
  for (int i = 1; i <= points; ++i) grid.push_back(last * i / points);
  return grid;
}

double TotalEpochs(const Run& r) {
  return r.epochs.empty() ? 0 : r.epochs.back();
}

// Equal compute: every arm at the same epochs trained per search (the
// fewest any search of the experiment trained), and the epochs each arm
// needed to reach the mean best that every arm reached.
// The fewest epochs any of `runs` trained.
double ShortestRun(const std::vector<Run>& runs) {
  double shortest = std::numeric_limits<double>::infinity();
  for (const Run& r : runs) shortest = std::min(shortest, TotalEpochs(r));
  return shortest;
}

// The mean of the k best `r` had completed after `epochs` (0 before any).
double TopKByEpochs(const Run& r, double epochs, int k) {
  return TopKAtTimes(r.fitness, r.epochs, {epochs}, k)[0].value_or(0);
}

std::string EqualComputeTable(
    const std::map<std::string, std::vector<Run>>& by_arm) {
  double budget = std::numeric_limits<double>::infinity();
  for (const auto& [arm, runs] : by_arm) {
    budget = std::min(budget, ShortestRun(runs));
  }
  std::string table = absl::StrFormat(
      "\nat equal compute: %.0f epochs trained per search (the fewest of any "
      "search)\n%-14s %21s %21s\n",
      budget, "arm", "best mean ± se", "top-10 mean ± se");
  // The level every arm's mean best reached within its own shortest run.
  double level = std::numeric_limits<double>::infinity();
  for (const auto& [arm, runs] : by_arm) {
    const double shortest = ShortestRun(runs);
    std::vector<double> best, top10, final_best;
    for (const Run& r : runs) {
      best.push_back(TopKByEpochs(r, budget, 1));
      top10.push_back(TopKByEpochs(r, budget, kTopK));
      final_best.push_back(TopKByEpochs(r, shortest, 1));
    }
    level = std::min(level, MeanAndSe(final_best).mean);
    const MeanSe b = MeanAndSe(best);
    const MeanSe t = MeanAndSe(top10);
    absl::StrAppendFormat(&table, "%-14s %11.4f ± %.4f %11.4f ± %.4f\n", arm,
                          b.mean, b.se, t.mean, t.se);
  }
  absl::StrAppendFormat(&table,
                        "\nepochs trained until the mean best reached %.4f "
                        "(the lowest final mean best of any arm)\n",
                        level);
  for (const auto& [arm, runs] : by_arm) {
    std::vector<std::vector<double>> fitness, epochs;
    for (const Run& r : runs) {
      fitness.push_back(r.fitness);
      epochs.push_back(r.epochs);
    }
    const std::optional<double> reached =
        FirstCostReaching(fitness, epochs, level, ShortestRun(runs));
    absl::StrAppendFormat(&table, "%-14s %s\n", arm,
                          reached.has_value()
                              ? absl::StrFormat("%.0f epochs", *reached)
                              : std::string("not reached"));
  }
  return table;
}

bool Write(const std::string& path, const std::string& text) {
  const absl::Status written = WriteTextFile(path, text);
  if (!written.ok()) std::cerr << written.message() << "\n";
  return written.ok();
}

// Every chart of `amoeba compare`, one series per arm.
struct CompareCharts {
  std::vector<Series> by_children, by_time, top10_by_epochs, best_by_epochs,
      by_parameters, by_macs;
};

double Median(std::vector<double> v) {
  if (v.empty()) return 0.0;
  std::nth_element(v.begin(), v.begin() + v.size() / 2, v.end());
  return v[v.size() / 2];
}

// One arm's line of the summary table; its models go onto the cost charts
// and the per-repeat top-10 means into `top10`.
std::string ArmLine(const std::string& arm, const std::vector<Run>& runs,
                    CompareCharts* charts, std::vector<double>* top10) {
  Series params{arm, ArmColor(arm), {}, false, {}};
  Series macs{arm, ArmColor(arm), {}, false, {}};
  std::vector<double> all_params, all_macs;
  int64_t children = 0;
  int64_t stopped = 0;
  double epochs = 0;
  double best = 0;
  for (const Run& r : runs) {
    top10->push_back(TopKMean(r.fitness, kTopK));
    children += static_cast<int64_t>(r.fitness.size());
    stopped += r.stopped;
    epochs += TotalEpochs(r);
    for (size_t i = 0; i < r.fitness.size(); ++i) {
      // A simulated evaluator reports no cost: nothing to place on a log
      // axis.
      if (r.parameters[i] > 0) {
        params.points.emplace_back(r.parameters[i], r.fitness[i]);
      }
      if (r.multiply_adds[i] > 0) {
        macs.points.emplace_back(r.multiply_adds[i], r.fitness[i]);
      }
      all_params.push_back(r.parameters[i]);
      all_macs.push_back(r.multiply_adds[i]);
      best = std::max(best, r.fitness[i]);
    }
  }
  charts->by_parameters.push_back(params);
  charts->by_macs.push_back(macs);
  const MeanSe m = MeanAndSe(*top10);
  return absl::StrFormat(
      "%-14s %7d %9d %11.4f ± %.4f %9.4f %13.0f %13.0f %10.0f %8d\n", arm,
      runs.size(), children, m.mean, m.se, best, Median(all_params),
      Median(all_macs), epochs, stopped);
}

// Arms with weight inheritance: how many mutated children started from their
// parent's weights, and what share of their parameters came from it.
std::string InheritanceLines(
    const std::map<std::string, std::vector<Run>>& by_arm) {
  std::string text;
  for (const auto& [arm, runs] : by_arm) {
    int inheriting = 0;
    int inherited = 0;
    double fraction = 0;
    for (const Run& r : runs) {
      inheriting += r.inheriting;
      inherited += r.inherited;
      fraction += r.inherited_fraction;
    }
    if (inheriting == 0) continue;
    if (text.empty()) text = "\nweight inheritance (mutated children):\n";
    absl::StrAppendFormat(
        &text,
        "%-14s %d of %d started from their parent's weights; mean %.1f%% of "
        "their parameters inherited\n",
        arm, inherited, inheriting,
        100.0 * fraction / std::max(1, inheriting));
  }
  return text;
}

// Every pair of arms: the difference of their mean top-10 and its p-value.
std::string RankTests(
    const std::map<std::string, std::vector<double>>& top10_by_arm) {
  std::string text = absl::StrFormat(
      "\n(epochs: trained by all repeats together; stopped: children stopped "
      "early)\n\nrank test (Mann-Whitney U, two-sided, on the per-repeat "
      "top-%d means):\n",
      kTopK);
  for (auto a = top10_by_arm.begin(); a != top10_by_arm.end(); ++a) {
    for (auto b = std::next(a); b != top10_by_arm.end(); ++b) {
      const MeanSe ma = MeanAndSe(a->second);
      const MeanSe mb = MeanAndSe(b->second);
      absl::StrAppendFormat(&text, "  %-14s vs %-14s  difference %+.4f  p = %.3f\n",
                            a->first, b->first, ma.mean - mb.mean,
                            MannWhitneyP(a->second, b->second));
    }
  }
  return text;
}

// The summary table and the curves of every arm.
std::string Summarize(const std::map<std::string, std::vector<Run>>& by_arm,
                      CompareCharts* charts) {
  const std::vector<double> times = CostGrid(by_arm, &Run::seconds, kTimePoints);
  const std::vector<double> epoch_grid =
      CostGrid(by_arm, &Run::epochs, kTimePoints);
  std::string table = absl::StrFormat(
      "experiment %s: mean of the top-%d validation accuracy of each search "
      "(mean ± standard error over repeats)\n\n"
      "%-14s %7s %9s %18s %9s %13s %13s %10s %8s\n",
      FLAGS_experiment, kTopK, "arm", "repeats", "children",
      "top-10 mean ± se", "best", "median params", "median MACs",
      "epochs", "stopped");
  std::map<std::string, std::vector<double>> top10_by_arm;
  for (const auto& [arm, runs] : by_arm) {
    charts->by_children.push_back(ChildrenCurve(arm, runs));
    charts->by_time.push_back(
        CostCurve(arm, runs, &Run::seconds, times, kTopK, 60.0));
    charts->top10_by_epochs.push_back(
        CostCurve(arm, runs, &Run::epochs, epoch_grid, kTopK, 1.0));
    charts->best_by_epochs.push_back(
        CostCurve(arm, runs, &Run::epochs, epoch_grid, 1, 1.0));
    table += ArmLine(arm, runs, charts, &top10_by_arm[arm]);
  }
  table += RankTests(top10_by_arm);
  table += EqualComputeTable(by_arm);
  table += InheritanceLines(by_arm);
  return table;
}

// Writes every chart into `dir`; false (after saying which) when one
// cannot be written.
bool WriteCharts(const std::string& dir, const CompareCharts& charts) {
  ChartOptions curve_options;
  curve_options.legend_outside = true;
  ChartOptions children_options = curve_options;
  children_options.integer_x = true;
  ChartOptions cost_options = curve_options;
  cost_options.log_x = true;
  bool ok = Write(dir + "/top10_vs_children.svg",
                  SvgChart("Mean top-10 validation accuracy (± s.e. over repeats)",
                           "children evaluated", "mean of the top 10",
                           charts.by_children, children_options));
  ok &= Write(dir + "/top10_vs_time.svg",
              SvgChart("Mean top-10 validation accuracy (± s.e. over repeats)",
                       "wall time (minutes)", "mean of the top 10",
                       charts.by_time, curve_options));
  ok &= Write(dir + "/top10_vs_epochs.svg",
              SvgChart("Mean top-10 validation accuracy (± s.e. over repeats)",
                       "epochs trained by the search", "mean of the top 10",
                       charts.top10_by_epochs, children_options));
  ok &= Write(dir + "/best_vs_epochs.svg",
              SvgChart("Best validation accuracy so far (mean ± s.e. over "
                       "repeats)",
                       "epochs trained by the search", "best so far",
                       charts.best_by_epochs, children_options));
  ok &= Write(dir + "/accuracy_vs_parameters.svg",
              SvgChart("Every evaluated model: accuracy against size",
                       "parameters (log scale)", "validation accuracy",
                       charts.by_parameters, cost_options));
  ok &= Write(dir + "/accuracy_vs_multiply_adds.svg",
              SvgChart("Every evaluated model: accuracy against cost",
                       "multiply-adds per image (log scale)",
                       "validation accuracy", charts.by_macs, cost_options));
  return ok;
}

}  // namespace

int RunCompareCommand(const std::vector<std::string>& args) {
  if (args.size() != 1 || FLAGS_experiment.empty()) {
    std::cerr << CompareUsage();
    return 2;
  }
  auto loaded = LoadRuns(args[0], FLAGS_experiment);
  if (!loaded.ok()) {
    std::cerr << "amoeba compare: " << loaded.status().message() << "\n";
    return absl::IsNotFound(loaded.status()) &&
                   absl::StrContains(loaded.status().message(), "no search")
               ? 1
               : 3;
  }
  const std::string dir = FLAGS_report_dir.empty()
                              ? absl::StrCat(args[0], ".", FLAGS_experiment)
                              : FLAGS_report_dir;
  mkdir(dir.c_str(), 0755);
  CompareCharts charts;
  std::string table = Summarize(*loaded, &charts);
  absl::StatusOr<FinalModelsReport> finals =
      WriteFinalModels(args[0], FLAGS_experiment, dir);
  if (!finals.ok()) {
    std::cerr << "amoeba compare: final models: " << finals.status().message()
              << "\n";
    return 3;
  }
  table += finals->table;
  std::cout << table;
  const bool summary_written = Write(dir + "/summary.txt", table);
  if (!WriteCharts(dir, charts) || !summary_written) return 3;
  std::cout << "\nwrote " << dir
            << "/{summary.txt, top10_vs_children.svg, top10_vs_time.svg, "
               "top10_vs_epochs.svg, best_vs_epochs.svg, "
               "accuracy_vs_parameters.svg, accuracy_vs_multiply_adds.svg";
  for (const std::string& file : finals->files) std::cout << ", " << file;
  std::cout << "}\n";
  return 0;
}

std::string CompareUsage() {
  return "usage: amoeba compare STORE --experiment=NAME [--report_dir=DIR]\n\n"
         "What the paper drew, for the searches of an experiment (named\n"
         "NAME-ARM-R, as `amoeba experiment run` makes them), from the\n"
         "store (read-only, beside a running controller too): in DIR (default\n"
         "STORE.NAME/) the mean of the top-10 validation accuracy so far\n"
         "against children evaluated, wall time and epochs trained (a child\n"
         "stopped early costs the epochs it trained), and the best so far\n"
         "against epochs, one line per arm with a band of ± one standard\n"
         "error over repeats; accuracy against parameters and against\n"
         "multiply-adds for every evaluated model; and summary.txt, the table\n"
         "printed: per arm the final top-10 mean ± standard error, a rank test\n"
         "between every two arms, and the arms at equal compute (the same\n"
         "epochs trained).\n"
         "With final training (amoeba finalize --experiment=NAME): the final\n"
         "models' test accuracy against parameters and multiply-adds (one\n"
         "marker per final model, every repeat) and, in the table, each arm's\n"
         "best final model (mean ± s.e. over repeats) with a rank test.\n";
}

}  // namespace amoeba
