// `amoeba compare`'s part for final training (amoeba finalize): the final
// models of an experiment's searches, drawn as the paper's Figure 4 (test
// accuracy against model cost, one marker per final model, a colour per
// arm, every repeat) with a table of each arm's best final model.
#ifndef AMOEBA_CLI_COMPARE_FINAL_H_
#define AMOEBA_CLI_COMPARE_FINAL_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace amoeba {

// The colour of an arm in every chart of `amoeba compare`.
std::string ArmColor(const std::string& arm);

// Writes `text` to `path` (replacing it). Internal naming the path when it
// cannot.
absl::Status WriteTextFile(const std::string& path, const std::string& text);

struct FinalModelsReport {
  std::string table;                // "" when the experiment has none
  std::vector<std::string> files;   // written into the report folder
};

// Reads the final searches (algorithm final) of `experiment`'s searches
// from the store at `path` and writes their figures into `dir`. An
// experiment without final training gives an empty report. DataLoss for a
// store whose content does not parse; Internal when a file cannot be
// written.
absl::StatusOr<FinalModelsReport> WriteFinalModels(
    const std::string& path, const std::string& experiment,
    const std::string& dir);

}  // namespace amoeba

#endif  // AMOEBA_CLI_COMPARE_FINAL_H_
