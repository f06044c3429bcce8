// `amoeba`: the command-line tool for people. Subcommand groups dispatch to
// their own files; flags are gflags (shared with glog).
#include <iostream>
#include <string>
#include <vector>

#include "cli/genotype_command.h"
#include "cli/report_command.h"
#include "cli/status_command.h"
#include "cli/train_command.h"
#include "gflags/gflags.h"
#include "glog/logging.h"

namespace {

constexpr char kUsage[] = R"(usage: amoeba GROUP COMMAND [flags] [args]

groups:
  genotype   the search space: random, mutate, show, validate, dot, known
  train      train a genotype at any N/F on a dataset (`amoeba train help`)
  evaluate   evaluate a model saved by `amoeba train --save`
  status     a running search, from its controller (--controller, --watch)
  report     summary and SVG charts of a search, from its store file
  export     the best genotype of a search (text and proto JSON)

`amoeba GROUP help` describes a group; `amoeba --helpfull` lists every flag.
)";

}  // namespace

int main(int argc, char** argv) {
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
  if (group == "status") return amoeba::RunStatusCommand(args);
  if (group == "report") return amoeba::RunReportCommand(args);
  if (group == "export") return amoeba::RunExportCommand(args);
  if (group == "train" || group == "evaluate") {
    if (!args.empty() && args[0] == "help") {
      std::cout << amoeba::TrainUsage();
      return 0;
    }
    return group == "train" ? amoeba::RunTrainCommand(args)
                            : amoeba::RunEvaluateCommand(args);
  }
  std::cerr << "amoeba: unknown group '" << group << "'\n\n" << kUsage;
  return 2;
}
