// `amoeba`: the command-line tool for people. Subcommand groups dispatch to
// their own files; flags are gflags (shared with glog). `train` and
// `evaluate` run the sibling binary `amoeba-train` (cli/train_main.cc), so
// that this one never loads LibTorch.
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "cli/experiment_command.h"
#include "cli/finalize_command.h"
#include "cli/genotype_command.h"
#include "cli/recipe_command.h"
#include "cli/report_command.h"
#include "cli/search_command.h"
#include "cli/status_command.h"
#include "gflags/gflags.h"
#include "glog/logging.h"
#include "settings/program_help.h"

namespace {

constexpr char kUsage[] = R"(usage: amoeba GROUP COMMAND [flags] [args]

groups:
  genotype   the search space: random, mutate, show, validate, dot, known
  train      train a genotype at any N/F on a dataset (`amoeba train help`)
  evaluate   evaluate a model saved by `amoeba train --save`
  recipe     the named presets of the training settings: list, show NAME
  search     the searches of a controller: create, list, status, pause,
             resume, stop (--controller, --token_file, --search)
  status     a search, from its controller (--controller, --search, --watch)
  pause, resume, stop
             change a search's state (--controller, --token_file, --search)
  report     summary and SVG charts of a search, from its store file
  store      check a store file for damage (`amoeba store check STORE`)
  export     the best genotype of a search (text and proto JSON)
  experiment run a comparison: algorithms x repeats as searches on a controller
  compare    the paper's figures and table for an experiment, from its store
  finalize   final training of the best models of finished searches, on the
             fleet, resuming from checkpoints (--search or --experiment)

`amoeba GROUP help` (or `amoeba GROUP --help`) describes a group and its
flags.
)";

// The usage of a group, or "" for an unknown one.
std::string GroupUsage(const std::string& group) {
  if (group == "genotype") return amoeba::GenotypeUsage();
  if (group == "recipe") return amoeba::RecipeUsage();
  if (group == "status") return amoeba::StatusUsage();
  if (group == "search") return amoeba::SearchUsage();
  if (group == "pause" || group == "resume" || group == "stop") {
    return amoeba::AdminUsage();
  }
  if (group == "report") return amoeba::ReportUsage();
  if (group == "store") return amoeba::StoreUsage();
  if (group == "export") return amoeba::ExportUsage();
  if (group == "experiment") return amoeba::ExperimentUsage();
  if (group == "compare") return amoeba::CompareUsage();
  if (group == "finalize") return amoeba::FinalizeUsage();
  return "";
}


// The directory of this executable ("" when /proc is unreadable).
std::string OwnDirectory() {
  char path[4096];
  const ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 1);
  if (n <= 0) return "";
  const std::string self(path, static_cast<size_t>(n));
  const size_t slash = self.rfind('/');
  return slash == std::string::npos ? "" : self.substr(0, slash);
}

// Replaces this process with `amoeba-train` and the same arguments: the one
// beside this executable (an install or a build tree keeps them together),
// else the first on PATH. Returns only when neither runs (exit code 3, an
// environment error, as for missing data).
int RunTrainBinary(const std::string& group, int argc, char** argv) {
  constexpr char kName[] = "amoeba-train";
  const std::string beside = OwnDirectory() + "/" + kName;
  std::vector<char*> args(argv, argv + argc);
  args.push_back(nullptr);
  args[0] = const_cast<char*>(beside.c_str());
  execv(beside.c_str(), args.data());
  const int beside_error = errno;
  args[0] = const_cast<char*>(kName);
  execvp(kName, args.data());
  std::cerr << "amoeba: `amoeba " << group << "` needs " << kName
            << " (the part of amoeba that links LibTorch), found neither at "
            << beside << " (" << std::strerror(beside_error)
            << ") nor on PATH (" << std::strerror(errno)
            << "); install it beside amoeba\n";
  return 3;
}

}  // namespace

int main(int argc, char** argv) {
  // `amoeba GROUP --help` answers with the group's own usage and flags,
  // before gflags prints every flag linked in (LibTorch's among them).
  // The group is the first word that names one: a flag's value given as a
  // separate word (`--N 3 train`) is skipped.
  std::string first_word;
  bool wants_help = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (amoeba::IsHelpFlag(arg)) wants_help = true;
    const bool names_group = !GroupUsage(arg).empty() || arg == "train" ||
                             arg == "evaluate";
    if (first_word.empty() && names_group) first_word = arg;
  }
  if (first_word == "train" || first_word == "evaluate") {
    return RunTrainBinary(first_word, argc, argv);
  }
  if (wants_help) {
    const std::string usage = GroupUsage(first_word);
    std::cout << (usage.empty() ? kUsage : usage);
    return 0;
  }
  gflags::SetUsageMessage(kUsage);
  gflags::ParseCommandLineFlags(&argc, &argv, /*remove_flags=*/true);
  FLAGS_logtostderr = true;
  google::InitGoogleLogging(argv[0]);

  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "help" || args[0] == "-h") {
    std::cout << kUsage;
    return args.empty() ? 2 : 0;
  }
  const std::string group = args[0];
  args.erase(args.begin());
  if (group == "genotype") return amoeba::RunGenotypeCommand(args);
  if (!args.empty() && args[0] == "help" && !GroupUsage(group).empty()) {
    std::cout << GroupUsage(group);
    return 0;
  }
  if (group == "recipe") return amoeba::RunRecipeCommand(args);
  if (group == "status") return amoeba::RunStatusCommand(args);
  if (group == "search") return amoeba::RunSearchCommand(args);
  if (group == "pause" || group == "resume" || group == "stop") {
    return amoeba::RunAdminCommand(group, args);
  }
  if (group == "report") return amoeba::RunReportCommand(args);
  if (group == "store") return amoeba::RunStoreCommand(args);
  if (group == "export") return amoeba::RunExportCommand(args);
  if (group == "experiment") return amoeba::RunExperimentCommand(args);
  if (group == "compare") return amoeba::RunCompareCommand(args);
  if (group == "finalize") return amoeba::RunFinalizeCommand(args);
  std::cerr << "amoeba: unknown group '" << group << "'\n\n" << kUsage;
  return 2;
}
