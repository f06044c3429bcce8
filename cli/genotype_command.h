// `amoeba genotype ...`: random, mutate, show, validate, dot, known.
#ifndef AMOEBA_CLI_GENOTYPE_COMMAND_H_
#define AMOEBA_CLI_GENOTYPE_COMMAND_H_

#include <string>
#include <vector>

namespace amoeba {

// Runs the subcommand args[0] with the remaining positional arguments
// (flags were already parsed by gflags). Returns the process exit code:
// 0 success, 1 invalid input (a bad genotype), 2 usage error, 3 failure of
// the environment (a file that cannot be written, graphviz missing).
int RunGenotypeCommand(const std::vector<std::string>& args);

// The help text of `amoeba genotype`.
std::string GenotypeUsage();

}  // namespace amoeba

#endif  // AMOEBA_CLI_GENOTYPE_COMMAND_H_
