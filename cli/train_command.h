// `amoeba train` (train any genotype at any N/F on a dataset; the command
// for retraining the best model at full size) and `amoeba evaluate` (a
// saved model on the test or validation set).
#ifndef AMOEBA_CLI_TRAIN_COMMAND_H_
#define AMOEBA_CLI_TRAIN_COMMAND_H_

#include <string>
#include <vector>

namespace amoeba {

// Exit codes: 0 success, 1 training failed (diverged, out of memory) or bad
// input data, 2 usage error, 3 environment error (missing data, device).
int RunTrainCommand(const std::vector<std::string>& args);
int RunEvaluateCommand(const std::vector<std::string>& args);

std::string TrainUsage();

}  // namespace amoeba

#endif  // AMOEBA_CLI_TRAIN_COMMAND_H_
