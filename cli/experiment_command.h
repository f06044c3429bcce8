// `amoeba experiment run SPEC.json`: creates the searches of a comparison
// (arms x repeats of one config; an arm is an algorithm, with its own early
// stopping or budget if wanted) on a controller, shows the progress
// of the whole experiment and waits for it. `amoeba compare STORE
// --experiment=NAME`: the paper's figures and table for those searches,
// from the store (read-only).
#ifndef AMOEBA_CLI_EXPERIMENT_COMMAND_H_
#define AMOEBA_CLI_EXPERIMENT_COMMAND_H_

#include <string>
#include <vector>

namespace amoeba {

// Exit codes: 0 done, 1 refused or not finished in --timeout_s, 2 usage
// error (a bad spec), 3 controller unreachable.
int RunExperimentCommand(const std::vector<std::string>& args);
// Exit codes: 0 written, 1 no such experiment, 2 usage, 3 unreadable store.
int RunCompareCommand(const std::vector<std::string>& args);

// The arm of an experiment's search from its name NAME-ARM-R; "" when
// `search_id` is not a search of `experiment`.
std::string ArmOfSearch(const std::string& search_id,
                        const std::string& experiment);

std::string ExperimentUsage();
std::string CompareUsage();

}  // namespace amoeba

#endif  // AMOEBA_CLI_EXPERIMENT_COMMAND_H_
