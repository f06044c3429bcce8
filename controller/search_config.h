// A search's configuration: the options the scheduler runs with, the wire
// and stored form (v1.SearchConfig, kept in the store as JSON), and the one
// set of defaults for everything a config leaves unset.
#ifndef AMOEBA_CONTROLLER_SEARCH_CONFIG_H_
#define AMOEBA_CONTROLLER_SEARCH_CONFIG_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "settings/training_flags.h"
#include "evolution/early_stopping.h"
#include "evolution/engine.h"
#include "proto/controller.pb.h"

namespace amoeba {

// Weight inheritance (v1.WeightInheritance): a mutated child starts from its
// parent's trained weights and trains `epochs` epochs at `learning_rate`.
struct InheritanceOptions {
  bool enabled = false;
  int epochs = 0;             // 1..settings.epochs when enabled
  double learning_rate = 0;   // > 0 when enabled
};

struct SearchOptions {
  EngineConfig engine;
  // Unset: the defaults of settings/training_flags.h.
  v1::TrainingSettings settings = DefaultTrainingSettings();
  absl::Duration lease_timeout = absl::Seconds(120);
  absl::Duration heartbeat_interval = absl::Seconds(10);
  // Failures charged to a child (worker errors, silence; not divergence,
  // not preemption) before it is given up.
  int max_attempts = 3;
  // What GetTask tells a worker to wait when it has nothing to hand out.
  absl::Duration retry_after = absl::Seconds(1);
  // Share of the fleet relative to other running searches.
  double weight = 1;
  // Stopping hopeless children at a few epochs (off by default).
  EarlyStoppingOptions early_stopping;
  InheritanceOptions inheritance;
  // Algorithm final only: where its children come from (engine.
  // fixed_children holds their genotypes).
  v1::FinalTraining final_training;
};

// InvalidArgument naming the bad setting.
absl::Status ValidateSearchOptions(const SearchOptions& options);
// The inheritance part of it: evolution only, epochs in 1..settings.epochs,
// a learning rate in (0, 10], neither early stopping nor checkpoints.
absl::Status ValidateInheritance(const SearchOptions& options);

// What child `id` of a final search trains, for its `mutation` column:
// "final of SEARCH #MODEL" (and " seed R of S" with several seeds).
std::string FinalJobName(const v1::FinalTraining& final_training, int64_t id);

// The settings that identify a search (compared when the controller is
// restarted with the flags that created it), as key/value text.
std::vector<std::pair<std::string, std::string>> SearchConfigEntries(
    const SearchOptions& options);

// FailedPrecondition naming the first setting that differs ("setting
// 'population_size' is 100 in the store but 50 now; ...").
absl::Status CheckSameSearch(const SearchOptions& stored,
                             const SearchOptions& wanted);

// Values a config may leave to the controller: its flags.
struct ControllerDefaults {
  absl::Duration lease_timeout = absl::Seconds(120);
  absl::Duration heartbeat_interval = absl::Seconds(10);
  int max_attempts = 3;
  absl::Duration retry_after = absl::Seconds(1);
};

// The controller-wide values `options` carries (what a config may leave
// to the controller).
ControllerDefaults DefaultsOf(const SearchOptions& options);

// The defaults of a search config (and of the controller's flags that
// create a first search): aging, P=100, S=25, budget 1000, Fashion-MNIST,
// N=1, F=8, one epoch, ... Training settings come from
// DefaultTrainingSettings().
v1::SearchConfig DefaultSearchConfig();

// The options of `config`, unset (zero) fields taking DefaultSearchConfig()'s
// or `defaults`' values. InvalidArgument naming the field
// ("config.sample_size: ...").
absl::StatusOr<SearchOptions> SearchOptionsFromConfig(
    const v1::SearchConfig& config, const ControllerDefaults& defaults);
// The complete config of `options` (every field set).
v1::SearchConfig SearchConfigFromOptions(const SearchOptions& options);

// The stored form. DataLoss for text that is not a SearchConfig.
std::string SearchConfigToJson(const v1::SearchConfig& config);
absl::StatusOr<v1::SearchConfig> SearchConfigFromJson(const std::string& json);

}  // namespace amoeba

#endif  // AMOEBA_CONTROLLER_SEARCH_CONFIG_H_
