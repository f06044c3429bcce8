// `amoeba report STORE`: a summary table and pictures of a search, from its
// store (readable while the controller runs): each child's fitness over
// time with the best-so-far line, a histogram of the population's fitness,
// and the best genotype's cells drawn as SVG.
// `amoeba export STORE`: the best genotype as text and as proto JSON, ready
// for `amoeba train`.
#ifndef AMOEBA_CLI_REPORT_COMMAND_H_
#define AMOEBA_CLI_REPORT_COMMAND_H_

#include <string>
#include <vector>

namespace amoeba {

// Exit codes: 0 success, 1 empty search, 2 usage error, 3 unreadable store
// or unwritable output.
std::string ReportUsage();
std::string StoreUsage();

// `amoeba store check STORE`.
int RunStoreCommand(const std::vector<std::string>& args);
std::string ExportUsage();

int RunReportCommand(const std::vector<std::string>& args);
int RunExportCommand(const std::vector<std::string>& args);

}  // namespace amoeba

#endif  // AMOEBA_CLI_REPORT_COMMAND_H_
