#include "cli/compare_final.h"

#include <algorithm>
#include <fstream>
#include <map>
#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "cli/experiment_command.h"
#include "cli/experiment_stats.h"
#include "cli/svg_plot.h"
#include "common/status_macros.h"
#include "store/store_reader.h"
#include "google/protobuf/util/json_util.h"
#include "proto/controller.pb.h"

namespace amoeba {
namespace {

struct FinalModel {
  double test_accuracy = 0;
  double parameters = 0;
  double multiply_adds = 0;
};

// One final search: the final models of one repeat of an arm.
struct FinalRun {
  std::vector<FinalModel> models;  // done jobs only
  int failed = 0;
};

absl::StatusOr<std::map<std::string, std::vector<FinalRun>>> LoadFinalRuns(
    const std::string& path, const std::string& experiment) {
  auto store = StoreReader::Open(path);
  if (!store.ok()) return store.status();
  auto searches = (*store)->Searches();
  if (!searches.ok()) return searches.status();
  std::map<std::string, std::vector<FinalRun>> by_arm;
  for (const StoredSearch& s : *searches) {
    ASSIGN_OR_RETURN(const v1::SearchConfig config, StoreReader::Config(s));
    if (config.algorithm() != "final" ||
        config.final_training().jobs().empty()) {
      continue;
    }
    // The arm of the search its models came from.
    const std::string arm =
        ArmOfSearch(config.final_training().jobs(0).search_id(), experiment);
    if (arm.empty()) continue;
    FinalRun run;
    auto models = (*store)->Children(s);
    if (!models.ok()) return models.status();
    for (const ModelRecord& m : *models) {
      if (m.state == ModelState::kFailed) ++run.failed;
      if (m.state != ModelState::kDone) continue;
      FinalModel f;
      f.test_accuracy = m.fitness;
      f.parameters = static_cast<double>(m.parameters);
      f.multiply_adds = static_cast<double>(m.multiply_adds);
      run.models.push_back(f);
    }
    by_arm[arm].push_back(std::move(run));
  }
  return by_arm;
}

}  // namespace

absl::Status WriteTextFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
  out.close();
  if (!out) return absl::InternalError(absl::StrCat("cannot write ", path));
  return absl::OkStatus();
}

absl::StatusOr<FinalModelsReport> WriteFinalModels(
    const std::string& path, const std::string& experiment,
    const std::string& dir) {
  auto loaded = LoadFinalRuns(path, experiment);
  if (!loaded.ok()) return loaded.status();
  FinalModelsReport report;
  if (loaded->empty()) return report;
  std::vector<Series> by_parameters, by_macs;
  std::map<std::string, std::vector<double>> best_by_arm;
  std::string& t = report.table;
  t = absl::StrFormat(
      "\nfinal models (amoeba finalize): fitness is test accuracy\n"
      "%-14s %7s %6s %7s %20s %9s %14s %14s\n",
      "arm", "repeats", "models", "failed", "best final mean ± se", "top",
      "median params", "median MACs");
  for (const auto& [arm, runs] : *loaded) {
    Series params{arm, ArmColor(arm), {}, false, {}};
    Series macs{arm, ArmColor(arm), {}, false, {}};
    std::vector<double> best_per_repeat, all_params, all_macs;
    int models = 0, failed = 0;
    double top = 0;
    for (const FinalRun& run : runs) {
      failed += run.failed;
      if (run.models.empty()) continue;
      double best = 0;
      for (const FinalModel& m : run.models) {
        ++models;
        best = std::max(best, m.test_accuracy);
        if (m.parameters > 0) params.points.emplace_back(m.parameters, m.test_accuracy);
        if (m.multiply_adds > 0) {
          macs.points.emplace_back(m.multiply_adds, m.test_accuracy);
        }
        all_params.push_back(m.parameters);
        all_macs.push_back(m.multiply_adds);
      }
      top = std::max(top, best);
      best_per_repeat.push_back(best);
    }
    by_parameters.push_back(params);
    by_macs.push_back(macs);
    auto median = [](std::vector<double> v) {
      if (v.empty()) return 0.0;
      std::nth_element(v.begin(), v.begin() + v.size() / 2, v.end());
      return v[v.size() / 2];
    };
    const MeanSe m = best_per_repeat.empty() ? MeanSe{0, 0}
                                             : MeanAndSe(best_per_repeat);
    absl::StrAppendFormat(&t, "%-14s %7d %6d %7d %11.4f ± %.4f %9.4f %14.0f %14.0f\n",
                          arm, runs.size(), models, failed, m.mean, m.se, top,
                          median(all_params), median(all_macs));
    best_by_arm[arm] = best_per_repeat;
  }
  absl::StrAppend(&t,
                  "\n(best final: the best final model of each repeat, mean ± "
                  "s.e. over repeats)\nrank test (Mann-Whitney U, two-sided, "
                  "on the per-repeat best final models):\n");
  for (auto a = best_by_arm.begin(); a != best_by_arm.end(); ++a) {
    for (auto b = std::next(a); b != best_by_arm.end(); ++b) {
      if (a->second.empty() || b->second.empty()) continue;
      absl::StrAppendFormat(
          &t, "  %-14s vs %-14s  difference %+.4f  p = %.3f\n", a->first,
          b->first, MeanAndSe(a->second).mean - MeanAndSe(b->second).mean,
          MannWhitneyP(a->second, b->second));
    }
  }
  ChartOptions options;
  options.legend_outside = true;
  options.log_x = true;
  const std::vector<std::pair<std::string, std::string>> charts = {
      {"final_accuracy_vs_parameters.svg",
       SvgChart("Final models: test accuracy against size (every repeat)",
                "parameters (log scale)", "test accuracy", by_parameters,
                options)},
      {"final_accuracy_vs_multiply_adds.svg",
       SvgChart("Final models: test accuracy against cost (every repeat)",
                "multiply-adds per image (log scale)", "test accuracy", by_macs,
                options)},
  };
  for (const auto& [name, svg] : charts) {
    absl::Status written = WriteTextFile(dir + "/" + name, svg);
    if (!written.ok()) return written;
    report.files.push_back(name);
  }
  return report;
}

}  // namespace amoeba
