// `amoeba-train`: the part of the `amoeba` tool that needs LibTorch.
// `amoeba train ...` and `amoeba evaluate ...` run this binary with the same
// arguments, so the rest of the tool (searches, reports, genotypes) starts
// in milliseconds and installs on hosts without LibTorch: loading LibTorch
// and the libraries it pulls in costs ~0.7 s of CPU per process.
//
// Usage: amoeba-train (train|evaluate) [flags] [args]   (as `amoeba`)
#include <iostream>
#include <string>
#include <vector>

#include "cli/train_command.h"
#include "gflags/gflags.h"
#include "glog/logging.h"
#include "settings/program_help.h"

int main(int argc, char** argv) {
  // The group's own usage, before gflags prints every flag linked in
  // (LibTorch's among them).
  for (int i = 1; i < argc; ++i) {
    if (amoeba::IsHelpFlag(argv[i])) {
      std::cout << amoeba::TrainUsage();
      return 0;
    }
  }
  gflags::SetUsageMessage(amoeba::TrainUsage());
  gflags::ParseCommandLineFlags(&argc, &argv, /*remove_flags=*/true);
  FLAGS_logtostderr = true;
  google::InitGoogleLogging(argv[0]);

  std::vector<std::string> args(argv + 1, argv + argc);
  const std::string group = args.empty() ? "" : args[0];
  if (group != "train" && group != "evaluate") {
    std::cerr << "amoeba-train: the first word must be train or evaluate\n\n"
              << amoeba::TrainUsage();
    return 2;
  }
  args.erase(args.begin());
  if (!args.empty() && args[0] == "help") {
    std::cout << amoeba::TrainUsage();
    return 0;
  }
  return group == "train" ? amoeba::RunTrainCommand(args)
                          : amoeba::RunEvaluateCommand(args);
}
