#include "settings/search_flags.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"

DEFINE_string(algorithm, "aging", "aging, non_aging, random or reinforce");
DEFINE_int32(population_size, 100, "P: the population's size");
DEFINE_int32(sample_size, 25, "S: the tournament's sample size");
DEFINE_int64(budget, 1000, "children to evaluate");
DEFINE_uint64(search_seed, 1, "the search's seed");
DEFINE_double(weight, 1, "the search's share of the fleet");
DEFINE_double(rl_learning_rate, 0.2, "reinforce only: the policy's learning rate");
DEFINE_bool(deduplicate, false, "re-mutate children already handed out");
DEFINE_int32(max_attempts, 3,
             "failures charged to a child (worker errors, expired leases; "
             "not preemption) before it is given up");
DEFINE_double(lease_timeout_s, 120,
              "a silent worker loses its child after this many seconds");
DEFINE_int32(checkpoint_every, 0,
             "checkpoint children every this many epochs so that a lost "
             "worker's task resumes there (0: never; `amoeba finalize`: 1)");
DEFINE_string(early_stopping, "none",
              "none, hurdles (progressive dynamic hurdles) or median");
DEFINE_string(stop_epochs, "",
              "epochs at which a child may be stopped, e.g. 1,3 (each below "
              "--epochs)");
DEFINE_int32(stop_children, 10,
             "children whose mean fixes a hurdle (median: children before "
             "the rule acts)");
DEFINE_double(stop_quantile, 0.5, "median rule: stop below this quantile");
DEFINE_int32(stop_window, 0, "median rule: of the last N children only (0: all)");
DEFINE_bool(inherit_weights, false,
            "mutated children start from their parent's trained weights");
DEFINE_int32(inherit_epochs, 0,
             "epochs an inheriting child trains (default: half of --epochs, "
             "rounded up)");
DEFINE_double(inherit_learning_rate, 0,
              "an inheriting child's learning rate (default: "
              "--learning_rate)");

namespace amoeba {
namespace {

// --max_attempts and --lease_timeout_s are not here: on the controller they
// also set what every search created later defaults to, so giving them
// alone does not describe a first search.
constexpr const char* kSearchFlags[] = {
    "algorithm",        "population_size", "sample_size",
    "budget",           "search_seed",     "weight",
    "rl_learning_rate", "deduplicate",     "checkpoint_every",
    "early_stopping",   "stop_epochs",     "stop_children",
    "stop_quantile",    "stop_window",     "inherit_weights",
    "inherit_epochs",   "inherit_learning_rate"};

}  // namespace

v1::SearchConfig SearchConfigFromFlags() {
  v1::SearchConfig c;
  if (FlagGiven("algorithm")) c.set_algorithm(FLAGS_algorithm);
  if (FlagGiven("population_size")) c.set_population_size(FLAGS_population_size);
  if (FlagGiven("sample_size")) c.set_sample_size(FLAGS_sample_size);
  if (FlagGiven("budget")) c.set_budget(FLAGS_budget);
  if (FlagGiven("search_seed")) c.set_seed(FLAGS_search_seed);
  if (FlagGiven("weight")) c.set_weight(FLAGS_weight);
  if (FlagGiven("deduplicate")) c.set_deduplicate(FLAGS_deduplicate);
  if (FlagGiven("rl_learning_rate")) c.set_rl_learning_rate(FLAGS_rl_learning_rate);
  if (FlagGiven("max_attempts")) c.set_max_attempts(FLAGS_max_attempts);
  if (FlagGiven("lease_timeout_s")) c.set_lease_timeout_s(FLAGS_lease_timeout_s);
  v1::TrainingSettings* t = c.mutable_settings();
  *t = GivenTrainingSettings();
  if (FlagGiven("checkpoint_every")) {
    t->set_checkpoint_every(FLAGS_checkpoint_every);
  }
  v1::EarlyStopping* e = c.mutable_early_stopping();
  if (FlagGiven("early_stopping")) e->set_rule(FLAGS_early_stopping);
  for (absl::string_view epoch :
       absl::StrSplit(FLAGS_stop_epochs, ',', absl::SkipWhitespace())) {
    int value = 0;
    if (!absl::SimpleAtoi(epoch, &value)) value = 0;
    e->add_epochs(value);
  }
  if (FlagGiven("stop_children")) e->set_children(FLAGS_stop_children);
  if (FlagGiven("stop_quantile")) e->set_quantile(FLAGS_stop_quantile);
  if (FlagGiven("stop_window")) e->set_window(FLAGS_stop_window);
  if (e->ByteSizeLong() == 0) c.clear_early_stopping();
  // Epochs or a rate without --inherit_weights are sent as they are: the
  // controller refuses them by name.
  v1::WeightInheritance* i = c.mutable_inheritance();
  if (FlagGiven("inherit_weights")) i->set_enabled(FLAGS_inherit_weights);
  if (FlagGiven("inherit_epochs")) i->set_epochs(FLAGS_inherit_epochs);
  if (FlagGiven("inherit_learning_rate")) {
    i->set_learning_rate(FLAGS_inherit_learning_rate);
  }
  if (i->ByteSizeLong() == 0) c.clear_inheritance();
  return c;
}

bool SearchFlagsGiven() {
  for (const char* name : kSearchFlags) {
    if (FlagGiven(name)) return true;
  }
  return TrainingFlagsGiven();
}

std::string SearchFlagsHelp() {
  return "  --algorithm=NAME         aging (default), non_aging, random or "
         "reinforce\n"
         "  --rl_learning_rate=X     reinforce only (default 0.2)\n"
         "  --population_size=P      (default 100)\n"
         "  --sample_size=S          (default 25)\n"
         "  --budget=N               children to evaluate (default 1000)\n"
         "  --search_seed=N          (default 1)\n"
         "  --weight=W               share of the fleet (default 1)\n"
         "  --deduplicate            re-mutate children already handed out\n"
         "  --max_attempts=N         failures before a child is given up\n"
         "  --lease_timeout_s=S      a silent worker loses its child after S\n"
         "                           seconds (these two: the controller's)\n"
         "  --early_stopping=RULE    none (default), hurdles or median\n"
         "  --stop_epochs=E1,E2      epochs a child may be stopped at\n"
         "  --stop_children=N        children that fix a hurdle (default 10)\n"
         "  --stop_quantile=Q        median rule's quantile (default 0.5)\n"
         "  --stop_window=N          median of the last N children (0: all)\n"
         "  --checkpoint_every=E     checkpoint children every E epochs, for\n"
         "                           long ones (default 0: never)\n"
         "  --inherit_weights        mutated children start from their\n"
         "                           parent's trained weights (aging, non_aging)\n"
         "  --inherit_epochs=E       epochs they train (default: half of\n"
         "                           --epochs, rounded up)\n"
         "  --inherit_learning_rate=X  their learning rate (default:\n"
         "                           --learning_rate)\n" +
         TrainingFlagsHelp();
}

}  // namespace amoeba
