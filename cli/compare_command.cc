// `amoeba compare`: the paper's figures and table for the searches of an
// experiment, from the store (read-only).
#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "cli/experiment_command.h"
#include "cli/experiment_stats.h"
#include "cli/svg_plot.h"
#include "controller/search_store.h"
#include "controller/store.h"
#include "gflags/gflags.h"
#include "google/protobuf/util/json_util.h"
#include "proto/controller.pb.h"

DECLARE_string(report_dir);
DEFINE_string(experiment, "", "`compare`: the experiment's name");

namespace amoeba {
namespace {

constexpr int kTopK = 10;
constexpr int kTimePoints = 100;

struct Run {
  std::string search;
  std::string algorithm;
  std::vector<double> fitness;    // done children, in completion order
  std::vector<double> seconds;    // since the search was created
  std::vector<double> parameters;
  std::vector<double> multiply_adds;
};

std::string Color(const std::string& algorithm) {
  if (algorithm == "aging") return "#d0021b";
  if (algorithm == "non_aging") return "#f5a623";
  if (algorithm == "random") return "#4a4a4a";
  if (algorithm == "reinforce") return "#4a90d9";
  return "#7ed321";
}

absl::StatusOr<std::map<std::string, std::vector<Run>>> LoadRuns(
    const std::string& path, const std::string& experiment) {
  auto store = Store::OpenReadOnly(path);
  if (!store.ok()) return store.status();
  auto searches = (*store)->ListSearches();
  if (!searches.ok()) return searches.status();
  std::map<std::string, std::vector<Run>> by_algorithm;
  for (const StoredSearch& s : *searches) {
    if (!absl::StartsWith(s.name, experiment + "-")) continue;
    v1::SearchConfig config;
    if (!google::protobuf::util::JsonStringToMessage(s.config, &config).ok()) {
      return absl::DataLossError(
          absl::StrCat("search ", s.name, ": its stored config does not parse"));
    }
    auto done = (*store)->OpenSearch(s)->QueryModels("state = 'done'",
                                                     "completion_seq", -1, 0);
    if (!done.ok()) return done.status();
    Run run;
    run.search = s.name;
    run.algorithm = config.algorithm();
    for (const ModelRecord& m : *done) {
      run.fitness.push_back(m.fitness);
      run.seconds.push_back(std::max(0.0, m.finished_at - s.created_at));
      run.parameters.push_back(static_cast<double>(m.parameters));
      run.multiply_adds.push_back(static_cast<double>(m.multiply_adds));
    }
    by_algorithm[run.algorithm].push_back(std::move(run));
  }
  if (by_algorithm.empty()) {
    return absl::NotFoundError(absl::StrCat(
        "no search of experiment '", experiment, "' in ", path,
        " (its searches are named ", experiment, "-ALGORITHM-R)"));
  }
  return by_algorithm;
}

// Mean and standard error over repeats of the top-10 curve against
// children evaluated, up to the shortest run.
Series ChildrenCurve(const std::string& algorithm, const std::vector<Run>& runs) {
  size_t length = runs.front().fitness.size();
  for (const Run& r : runs) length = std::min(length, r.fitness.size());
  std::vector<std::vector<double>> curves;
  for (const Run& r : runs) curves.push_back(TopKSoFar(r.fitness, kTopK));
  Series s{algorithm, Color(algorithm), {}, true, {}};
  for (size_t i = 0; i < length; ++i) {
    std::vector<double> at;
    for (const auto& c : curves) at.push_back(c[i]);
    const MeanSe m = MeanAndSe(at);
    s.points.emplace_back(i + 1, m.mean);
    s.band.emplace_back(m.mean - m.se, m.mean + m.se);
  }
  return s;
}

Series TimeCurve(const std::string& algorithm, const std::vector<Run>& runs,
                 const std::vector<double>& times) {
  std::vector<std::vector<std::optional<double>>> curves;
  for (const Run& r : runs) {
    curves.push_back(TopKAtTimes(r.fitness, r.seconds, times, kTopK));
  }
  Series s{algorithm, Color(algorithm), {}, true, {}};
  for (size_t i = 0; i < times.size(); ++i) {
    std::vector<double> at;
    for (const auto& c : curves) {
      if (c[i].has_value()) at.push_back(*c[i]);
    }
    // Only where every repeat has results: a mean of fewer would jump.
    if (at.size() != runs.size()) continue;
    const MeanSe m = MeanAndSe(at);
    s.points.emplace_back(times[i] / 60.0, m.mean);
    s.band.emplace_back(m.mean - m.se, m.mean + m.se);
  }
  return s;
}

bool Write(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
  out.close();
  if (!out) std::cerr << "cannot write " << path << "\n";
  return static_cast<bool>(out);
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
  const auto& by_algorithm = *loaded;
  const std::string dir = FLAGS_report_dir.empty()
                              ? absl::StrCat(args[0], ".", FLAGS_experiment)
                              : FLAGS_report_dir;
  mkdir(dir.c_str(), 0755);

  double last = 0;
  for (const auto& [algorithm, runs] : by_algorithm) {
    for (const Run& r : runs) {
      for (double t : r.seconds) last = std::max(last, t);
    }
  }
  std::vector<double> times;
  for (int i = 1; i <= kTimePoints; ++i) times.push_back(last * i / kTimePoints);

  std::vector<Series> by_children, by_time, by_parameters, by_macs;
  std::string table = absl::StrFormat(
      "experiment %s: mean of the top-%d validation accuracy of each search "
      "(mean ± standard error over repeats)\n\n"
      "%-10s %7s %9s %18s %9s %13s %13s\n",
      FLAGS_experiment, kTopK, "algorithm", "repeats", "children",
      "top-10 mean ± se", "best", "median params", "median MACs");
  std::map<std::string, std::vector<double>> top10_by_algorithm;
  for (const auto& [algorithm, runs] : by_algorithm) {
    by_children.push_back(ChildrenCurve(algorithm, runs));
    by_time.push_back(TimeCurve(algorithm, runs, times));
    Series params{algorithm, Color(algorithm), {}, false, {}};
    Series macs{algorithm, Color(algorithm), {}, false, {}};
    std::vector<double> top10;
    std::vector<double> all_params, all_macs;
    int64_t children = 0;
    double best = 0;
    for (const Run& r : runs) {
      top10.push_back(TopKMean(r.fitness, kTopK));
      children += static_cast<int64_t>(r.fitness.size());
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
    by_parameters.push_back(params);
    by_macs.push_back(macs);
    auto median = [](std::vector<double> v) {
      if (v.empty()) return 0.0;
      std::nth_element(v.begin(), v.begin() + v.size() / 2, v.end());
      return v[v.size() / 2];
    };
    const MeanSe m = MeanAndSe(top10);
    absl::StrAppendFormat(&table, "%-10s %7d %9d %11.4f ± %.4f %9.4f %13.0f %13.0f\n",
                          algorithm, runs.size(), children, m.mean, m.se, best,
                          median(all_params), median(all_macs));
    top10_by_algorithm[algorithm] = top10;
  }
  absl::StrAppendFormat(
      &table,
      "\nrank test (Mann-Whitney U, two-sided, on the per-repeat top-%d "
      "means):\n",
      kTopK);
  for (auto a = top10_by_algorithm.begin(); a != top10_by_algorithm.end(); ++a) {
    for (auto b = std::next(a); b != top10_by_algorithm.end(); ++b) {
      const MeanSe ma = MeanAndSe(a->second);
      const MeanSe mb = MeanAndSe(b->second);
      absl::StrAppendFormat(&table, "  %-10s vs %-10s  difference %+.4f  p = %.3f\n",
                            a->first, b->first, ma.mean - mb.mean,
                            MannWhitneyP(a->second, b->second));
    }
  }
  std::cout << table;

  ChartOptions curve_options;
  curve_options.legend_outside = true;
  ChartOptions children_options = curve_options;
  children_options.integer_x = true;
  ChartOptions cost_options = curve_options;
  cost_options.log_x = true;
  bool ok = Write(dir + "/summary.txt", table);
  ok &= Write(dir + "/top10_vs_children.svg",
              SvgChart("Mean top-10 validation accuracy (± s.e. over repeats)",
                       "children evaluated", "mean of the top 10",
                       by_children, children_options));
  ok &= Write(dir + "/top10_vs_time.svg",
              SvgChart("Mean top-10 validation accuracy (± s.e. over repeats)",
                       "wall time (minutes)", "mean of the top 10", by_time,
                       curve_options));
  ok &= Write(dir + "/accuracy_vs_parameters.svg",
              SvgChart("Every evaluated model: accuracy against size",
                       "parameters (log scale)", "validation accuracy",
                       by_parameters, cost_options));
  ok &= Write(dir + "/accuracy_vs_multiply_adds.svg",
              SvgChart("Every evaluated model: accuracy against cost",
                       "multiply-adds per image (log scale)",
                       "validation accuracy", by_macs, cost_options));
  if (!ok) return 3;
  std::cout << "\nwrote " << dir
            << "/{summary.txt, top10_vs_children.svg, top10_vs_time.svg, "
               "accuracy_vs_parameters.svg, accuracy_vs_multiply_adds.svg}\n";
  return 0;
}

std::string CompareUsage() {
  return "usage: amoeba compare STORE --experiment=NAME [--report_dir=DIR]\n\n"
         "What the paper drew, for the searches of an experiment (named\n"
         "NAME-ALGORITHM-R, as `amoeba experiment run` makes them), from the\n"
         "store (read-only, beside a running controller too): in DIR (default\n"
         "STORE.NAME/) the mean of the top-10 validation accuracy so far\n"
         "against children evaluated and against wall time, one line per\n"
         "algorithm with a band of ± one standard error over repeats;\n"
         "accuracy against parameters and against multiply-adds for every\n"
         "evaluated model; and summary.txt, the table printed: per algorithm\n"
         "the final top-10 mean ± standard error, and a rank test between\n"
         "every two algorithms.\n";
}

}  // namespace amoeba
