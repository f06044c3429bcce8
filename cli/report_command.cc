#include "cli/report_command.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <fstream>
#include <iostream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "cli/svg_plot.h"
#include "absl/strings/str_join.h"
#include "store/store_reader.h"
#include "genotype/dot.h"
#include "genotype/genotype_proto.h"
#include "genotype/text.h"
#include "gflags/gflags.h"
#include "google/protobuf/util/json_util.h"

DEFINE_string(report_dir, "", "`report`: output folder (default: STORE.report)");
DEFINE_string(export_format, "both", "`export`: text, json or both");
DECLARE_string(search);

namespace amoeba {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitEmpty = 1;
constexpr int kExitUsage = 2;
constexpr int kExitEnvironment = 3;

bool WriteText(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
  out.close();
  if (!out) std::cerr << "cannot write " << path << "\n";
  return static_cast<bool>(out);
}

// Done models in completion order, or an error message.
absl::StatusOr<std::vector<ModelRecord>> LoadDone(const std::string& path,
                                                  std::vector<ModelRecord>* all) {
  // Read-only: a report never writes, never turns a stray file into a
  // store, and runs beside the controller that writes this one.
  auto store = StoreReader::Open(path);
  if (!store.ok()) return store.status();
  StoredSearch chosen;
  if (FLAGS_search.empty()) {
    auto searches = (*store)->Searches();
    if (!searches.ok()) return searches.status();
    if (searches->size() != 1) {
      std::vector<std::string> names;
      for (const StoredSearch& s : *searches) names.push_back(s.name);
      return absl::InvalidArgumentError(
          searches->empty()
              ? absl::StrCat(path, " holds no search yet")
              : absl::StrCat(path, " holds ", searches->size(),
                             " searches (", absl::StrJoin(names, ", "),
                             "): choose one with --search=ID"));
    }
    chosen = (*searches)[0];
  } else {
    auto found = (*store)->FindSearch(FLAGS_search);
    if (!found.ok()) return found.status();
    chosen = *found;
  }
  auto models = (*store)->Children(chosen);
  if (!models.ok()) return models.status();
  *all = *models;
  std::vector<ModelRecord> done;
  for (const ModelRecord& m : *models) {
    if (m.state == ModelState::kDone) done.push_back(m);
  }
  std::sort(done.begin(), done.end(), [](const auto& a, const auto& b) {
    return a.completion_seq < b.completion_seq;
  });
  return done;
}

const ModelRecord& Best(const std::vector<ModelRecord>& done) {
  return *std::max_element(done.begin(), done.end(),
                           [](const auto& a, const auto& b) {
                             return a.fitness < b.fitness ||
                                    (a.fitness == b.fitness && a.id > b.id);
                           });
}

}  // namespace

std::string ReportUsage() {
  return "usage: amoeba report STORE [--search=ID] [--report_dir=DIR]\n\n"
         "A summary table of a search in STORE (counts, the ten fittest)\n"
         "and, in DIR (default STORE.report/), fitness_over_time.svg,\n"
         "population_histogram.svg, best_genotype.txt and best_genotype.svg.\n"
         "Opens the store read-only: safe beside a running controller.\n\n"
         "flags:\n"
         "  --search=ID              the search (needed when STORE holds several)\n"
         "  --report_dir=DIR         where the files go\n";
}

std::string ExportUsage() {
  return "usage: amoeba export STORE [--search=ID] "
         "[--export_format=text|json|both]\n\n"
         "The best genotype of a search in STORE, as canonical text and/or\n"
         "proto JSON, on standard output. Opens the store read-only.\n\n"
         "flags:\n"
         "  --search=ID                      the search (needed when STORE holds "
         "several)\n"
         "  --export_format=text|json|both   (default both)\n";
}

namespace {

// The summary: counts, the ten best children, the best genotype.
std::string ReportTable(const std::vector<ModelRecord>& all,
                        const std::vector<ModelRecord>& done) {
  int failed = 0;
  int alive = 0;
  for (const ModelRecord& m : all) failed += m.state == ModelState::kFailed;
  for (const ModelRecord& m : done) alive += m.alive;
  std::vector<ModelRecord> ranked = done;
  std::sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) {
    return a.fitness > b.fitness || (a.fitness == b.fitness && a.id < b.id);
  });
  std::string table = absl::StrFormat(
      "models: %d created, %d done, %d failed, %d in the population\n\n"
      "%-6s %-9s %-11s %-14s %-8s %-7s %s\n",
      all.size(), done.size(), failed, alive, "id", "fitness", "parameters",
      "multiply-adds", "parent", "alive", "mutation");
  for (size_t i = 0; i < std::min<size_t>(10, ranked.size()); ++i) {
    const ModelRecord& m = ranked[i];
    absl::StrAppendFormat(&table, "%-6d %-9.4f %-11d %-14d %-8d %-7s %s\n",
                          m.id, m.fitness, m.parameters, m.multiply_adds,
                          m.parent_id, m.alive ? "yes" : "no", m.mutation);
  }
  const ModelRecord& top = Best(done);
  absl::StrAppendFormat(&table,
                        "\nbest: model %d, fitness %.4f, %d parameters, %d "
                        "multiply-adds per image\n  %s\n",
                        top.id, top.fitness, top.parameters, top.multiply_adds,
                        top.genotype);
  return table;
}

// Graphviz's dot, run without a shell (any folder name is safe); false
// when it is missing or fails.
bool RunDot(const std::string& dot_path, const std::string& svg_path) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null",
                                   O_WRONLY, 0);
  std::string program = "dot", format = "-Tsvg", output = "-o";
  std::string svg = svg_path, dot = dot_path;
  char* argv[] = {program.data(), format.data(), output.data(), svg.data(),
                  dot.data(), nullptr};
  pid_t pid = 0;
  const int spawned =
      posix_spawnp(&pid, "dot", &actions, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0) return false;
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return false;
  }
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

// The charts, the summary and the best genotype (text, dot, svg) in `dir`.
bool WriteReportFiles(const std::string& dir, const std::string& table,
                      const std::vector<ModelRecord>& done) {
  std::vector<double> population;
  Series children{"each child", "#4a90d9", {}, false};
  Series best_so_far{"best so far", "#d0021b", {}, true};
  double best = -1;
  for (const ModelRecord& m : done) {
    children.points.emplace_back(m.completion_seq, m.fitness);
    best = std::max(best, m.fitness);
    best_so_far.points.emplace_back(m.completion_seq, best);
    if (m.alive) population.push_back(m.fitness);
  }
  const ModelRecord& top = Best(done);
  // A final training's children (amoeba finalize) are scored on the test
  // split; their mutation column names the job ("final of ...").
  const std::string measure =
      absl::StartsWith(top.mutation, "final") ? "test accuracy"
                                              : "validation accuracy";
  bool ok = WriteText(dir + "/summary.txt", table);
  ok &= WriteText(dir + "/fitness_over_time.svg",
                  SvgChart("Fitness of each child in order of completion",
                           "children completed", measure,
                           {children, best_so_far}));
  ok &= WriteText(dir + "/population_histogram.svg",
                  SvgHistogram(absl::StrFormat("Fitness of the population (%d "
                                               "members)",
                                               population.size()),
                               measure, population, 10));
  ok &= WriteText(dir + "/best_genotype.txt", top.genotype + "\n");
  auto genotype = ParseGenotype(top.genotype);
  if (genotype.ok()) {
    const std::string dot_path = dir + "/best_genotype.dot";
    ok &= WriteText(dot_path, GenotypeToDot(*genotype));
    if (!RunDot(dot_path, dir + "/best_genotype.svg")) {
      std::cerr << "graphviz 'dot' failed; best_genotype.dot is there to draw\n";
    }
  }
  return ok;
}

}  // namespace

int RunReportCommand(const std::vector<std::string>& args) {
  if (args.size() == 1 && args[0] == "help") {
    std::cout << ReportUsage();
    return 0;
  }
  if (args.size() != 1) {
    std::cerr << ReportUsage();
    return kExitUsage;
  }
  std::vector<ModelRecord> all;
  auto done = LoadDone(args[0], &all);
  if (!done.ok()) {
    std::cerr << "amoeba report: " << done.status().message() << "\n";
    return kExitEnvironment;
  }
  if (done->empty()) {
    std::cerr << "amoeba report: no finished model in " << args[0] << " yet\n";
    return kExitEmpty;
  }
  const std::string dir =
      FLAGS_report_dir.empty() ? args[0] + ".report" : FLAGS_report_dir;
  mkdir(dir.c_str(), 0755);
  const std::string table = ReportTable(all, *done);
  std::cout << table;
  if (!WriteReportFiles(dir, table, *done)) return kExitEnvironment;
  std::cout << "\nwrote " << dir
            << "/{summary.txt, fitness_over_time.svg, population_histogram.svg, "
               "best_genotype.txt, best_genotype.svg}\n";
  return kExitOk;
}

std::string StoreUsage() {
  return "usage: amoeba store check STORE\n\n"
         "Checks a store file read-only (beside a running controller too):\n"
         "SQLite's integrity check, every row of models (valid UTF-8, fitness\n"
         "in [0, 1], fingerprints, counts), and the engine's counters against\n"
         "the rows. Prints \"ok\" or every problem found (up to 100) with its\n"
         "row; exit 0 when sound, 1 when damaged, 3 when unreadable.\n";
}

int RunStoreCommand(const std::vector<std::string>& args) {
  if (args.size() == 1 && args[0] == "help") {
    std::cout << StoreUsage();
    return 0;
  }
  if (args.size() != 2 || args[0] != "check") {
    std::cerr << StoreUsage();
    return kExitUsage;
  }
  auto store = StoreReader::Open(args[1]);
  if (!store.ok()) {
    std::cerr << "amoeba store check: " << store.status().message() << "\n";
    return kExitEnvironment;
  }
  auto problems = (*store)->Check();
  if (!problems.ok()) {
    std::cerr << "amoeba store check: " << problems.status().message() << "\n";
    return kExitEnvironment;
  }
  if (problems->empty()) {
    std::cout << args[1] << ": ok\n";
    return 0;
  }
  for (const std::string& p : *problems) std::cout << args[1] << ": " << p << "\n";
  return 1;
}

int RunExportCommand(const std::vector<std::string>& args) {
  if (args.size() == 1 && args[0] == "help") {
    std::cout << ExportUsage();
    return 0;
  }
  if (args.size() != 1) {
    std::cerr << ExportUsage();
    return kExitUsage;
  }
  if (FLAGS_export_format != "text" && FLAGS_export_format != "json" &&
      FLAGS_export_format != "both") {
    std::cerr << "amoeba export: --export_format must be text, json or both\n";
    return kExitUsage;
  }
  std::vector<ModelRecord> all;
  auto done = LoadDone(args[0], &all);
  if (!done.ok()) {
    std::cerr << "amoeba export: " << done.status().message() << "\n";
    return kExitEnvironment;
  }
  if (done->empty()) {
    std::cerr << "amoeba export: no finished model in " << args[0] << " yet\n";
    return kExitEmpty;
  }
  const ModelRecord& top = Best(*done);
  auto genotype = ParseGenotype(top.genotype);
  if (!genotype.ok()) {
    std::cerr << "amoeba export: stored genotype of model " << top.id << ": "
              << genotype.status().message() << "\n";
    return kExitEnvironment;
  }
  if (FLAGS_export_format != "json") {
    std::cout << "# model " << top.id << ", fitness " << top.fitness << "\n"
              << FormatGenotype(*genotype) << "\n";
  }
  if (FLAGS_export_format != "text") {
    std::string json;
    google::protobuf::util::JsonPrintOptions options;
    options.add_whitespace = false;
    const auto status = google::protobuf::util::MessageToJsonString(
        GenotypeToProto(*genotype), &json, options);
    if (!status.ok()) {
      std::cerr << "amoeba export: " << status.ToString() << "\n";
      return kExitEnvironment;
    }
    std::cout << json << "\n";
  }
  return kExitOk;
}

}  // namespace amoeba
