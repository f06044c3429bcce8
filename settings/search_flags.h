// The flags that describe a search (v1.SearchConfig), defined once for
// `amoeba search create` and `amoeba-controller` (whose search flags create
// its first search, or check it on a restart): one name, one type and one
// meaning in both.
//
//   --algorithm --population_size --sample_size --budget --search_seed
//   --weight --rl_learning_rate --deduplicate --max_attempts
//   --lease_timeout_s --checkpoint_every --early_stopping --stop_epochs
//   --stop_children --stop_quantile --stop_window --inherit_weights
//   --inherit_epochs --inherit_learning_rate
// plus the training flags of training_flags.h.
#ifndef AMOEBA_SETTINGS_SEARCH_FLAGS_H_
#define AMOEBA_SETTINGS_SEARCH_FLAGS_H_

#include <string>

#include "settings/training_flags.h"
#include "gflags/gflags.h"
#include "proto/controller.pb.h"

DECLARE_string(algorithm);
DECLARE_int32(population_size);
DECLARE_int32(sample_size);
DECLARE_int64(budget);
DECLARE_uint64(search_seed);
DECLARE_double(weight);
DECLARE_double(rl_learning_rate);
DECLARE_bool(deduplicate);
DECLARE_int32(max_attempts);
DECLARE_double(lease_timeout_s);
DECLARE_int32(checkpoint_every);
DECLARE_string(early_stopping);
DECLARE_string(stop_epochs);
DECLARE_int32(stop_children);
DECLARE_double(stop_quantile);
DECLARE_int32(stop_window);
DECLARE_bool(inherit_weights);
DECLARE_int32(inherit_epochs);
DECLARE_double(inherit_learning_rate);

namespace amoeba {

// Only what the command line gives: the controller fills the rest with the
// defaults every search shares (and its own lease timeout and attempts).
// A malformed --stop_epochs entry is sent as 0, which the controller
// refuses by name.
v1::SearchConfig SearchConfigFromFlags();

// Whether any flag that describes a search was given: a search or training
// flag other than --max_attempts and --lease_timeout_s (which the
// controller also takes as the defaults of every search).
bool SearchFlagsGiven();

// The flags, for the help of the programs that take them.
std::string SearchFlagsHelp();

}  // namespace amoeba

#endif  // AMOEBA_SETTINGS_SEARCH_FLAGS_H_
