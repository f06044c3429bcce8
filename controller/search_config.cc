#include "controller/search_config.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"
#include "genotype/text.h"
#include "settings/recipes.h"
#include "settings/training_settings.h"
#include "google/protobuf/util/json_util.h"

namespace amoeba {

absl::Status ValidateSearchOptions(const SearchOptions& o) {
  RETURN_IF_ERROR(ValidateEngineConfig(o.engine));
  if (o.lease_timeout < absl::Milliseconds(100)) {
    return absl::InvalidArgumentError("lease timeout must be at least 100 ms");
  }
  if (o.heartbeat_interval <= absl::ZeroDuration() ||
      o.heartbeat_interval >= o.lease_timeout) {
    return absl::InvalidArgumentError(
        "heartbeat interval must be positive and shorter than the lease "
        "timeout");
  }
  if (o.max_attempts < 1 || o.max_attempts > 100) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "max attempts must be in 1..100, got %d", o.max_attempts));
  }
  if (!(o.engine.rl_learning_rate > 0) || !(o.engine.rl_learning_rate <= 100)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "rl learning rate must be in (0, 100], got ", o.engine.rl_learning_rate));
  }
  if (!(o.weight > 0) || !(o.weight <= 1e6)) {
    return absl::InvalidArgumentError(
        absl::StrCat("weight must be in (0, 1e6], got ", o.weight));
  }
  const v1::TrainingSettings& t = o.settings;
  // What is accepted here trains on every worker that has the data: the
  // trainer's own checks, on the options the worker will build.
  RETURN_IF_ERROR(ValidateTrainingSettings(t));
  const bool final = o.engine.algorithm == Algorithm::kFinal;
  if (t.final_training() != final) {
    return absl::InvalidArgumentError(
        "settings.final_training goes with algorithm final (CreateFinal) "
        "only: a search must not select on the test split");
  }
  if ((final ? t.validation_images() != 0 : t.validation_images() < 1) ||
      t.max_train_images() < 0) {
    return absl::InvalidArgumentError(
        "validation images must be >= 1 (0 for final training) and max "
        "train images >= 0 (0 = all)");
  }
  if (t.checkpoint_every() < 0 || t.checkpoint_every() > t.epochs()) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "checkpoint_every must be in 0..epochs (%d), got %d", t.epochs(),
        t.checkpoint_every()));
  }
  if (final && o.early_stopping.rule != StoppingRule::kNone) {
    return absl::InvalidArgumentError("final training stops no model early");
  }
  RETURN_IF_ERROR(ValidateInheritance(o));
  return ValidateEarlyStopping(o.early_stopping, t.epochs());
}

absl::Status ValidateInheritance(const SearchOptions& o) {
  const InheritanceOptions& i = o.inheritance;
  if (!i.enabled) return absl::OkStatus();
  // Only evolution has parents: a random or REINFORCE child has none whose
  // weights it could start from.
  if (o.engine.algorithm != Algorithm::kAging &&
      o.engine.algorithm != Algorithm::kNonAging) {
    return absl::InvalidArgumentError(absl::StrCat(
        "inheritance goes with algorithm aging or non_aging, not ",
        AlgorithmName(o.engine.algorithm)));
  }
  if (i.epochs < 1 || i.epochs > o.settings.epochs()) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "inheritance.epochs must be in 1..settings.epochs (%d), got %d",
        o.settings.epochs(), i.epochs));
  }
  if (!(i.learning_rate > 0) || !(i.learning_rate <= 10)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "inheritance.learning_rate must be in (0, 10], got ",
        i.learning_rate));
  }
  // A stopping epoch would mean another thing for an inheriting child
  // (fewer epochs, a head start): the two do not mix.
  if (o.early_stopping.rule != StoppingRule::kNone) {
    return absl::InvalidArgumentError(
        "inheritance and early_stopping cannot be combined");
  }
  if (o.settings.checkpoint_every() > 0) {
    return absl::InvalidArgumentError(
        "inheritance and checkpoint_every cannot be combined");
  }
  return absl::OkStatus();
}

namespace {

// "none", or "hurdles at 1,3 (10 children)", "median at 2 (q 0.5, 10
// children)": compared when a search is resumed.
std::string EarlyStoppingEntry(const EarlyStoppingOptions& e) {
  if (e.rule == StoppingRule::kNone) return "none";
  std::string text = absl::StrCat(StoppingRuleName(e.rule), " at ",
                                  absl::StrJoin(e.epochs, ","), " (");
  if (e.rule == StoppingRule::kMedian) {
    absl::StrAppend(&text, "q ", e.quantile, ", ");
    if (e.window > 0) absl::StrAppend(&text, "window ", e.window, ", ");
  }
  absl::StrAppend(&text, e.children, " children)");
  return text;
}

// A final search's children: every job's genotype, `seeds` times in a
// row; the budget is their number.
absl::Status FinalChildren(const v1::SearchConfig& c, SearchOptions* o) {
  const v1::FinalTraining& f = c.final_training();
  const int seeds = f.has_seeds() ? f.seeds() : 1;
  if (f.jobs().empty() || f.jobs_size() > 100000 || seeds < 1 ||
      seeds > 100) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "config.final_training needs 1..100000 jobs and seeds in 1..100, got "
        "%d and %d",
        f.jobs_size(), seeds));
  }
  o->final_training = f;
  o->final_training.set_seeds(seeds);
  o->engine.fixed_children.clear();
  for (int i = 0; i < f.jobs_size(); ++i) {
    absl::StatusOr<Genotype> genotype = ParseGenotype(f.jobs(i).genotype());
    if (!genotype.ok()) {
      return absl::InvalidArgumentError(
          absl::StrFormat("config.final_training.jobs[%d].genotype: %s", i,
                          genotype.status().message()));
    }
    for (int r = 0; r < seeds; ++r) {
      o->engine.fixed_children.push_back(Canonicalize(*genotype));
    }
  }
  o->engine.budget = static_cast<int64_t>(o->engine.fixed_children.size());
  o->engine.population_size =
      static_cast<int>(std::max<int64_t>(2, o->engine.budget));
  o->engine.sample_size = 1;
  o->engine.deduplicate = false;
  return absl::OkStatus();
}

}  // namespace

std::string FinalJobName(const v1::FinalTraining& f, int64_t id) {
  const int seeds = std::max(1, f.seeds());
  const int64_t job = (id - 1) / seeds;
  if (id < 1 || job >= f.jobs_size()) return "final";
  std::string name = absl::StrCat("final of ", f.jobs(job).search_id(), " #",
                                  f.jobs(job).model_id());
  if (seeds > 1) {
    absl::StrAppend(&name, " seed ", (id - 1) % seeds + 1, " of ", seeds);
  }
  return name;
}

std::vector<std::pair<std::string, std::string>> SearchConfigEntries(
    const SearchOptions& o) {
  const v1::TrainingSettings& t = o.settings;
  std::vector<std::pair<std::string, std::string>> entries = {
      {"algorithm", AlgorithmName(o.engine.algorithm)},
      {"population_size", absl::StrCat(o.engine.population_size)},
      {"sample_size", absl::StrCat(o.engine.sample_size)},
      {"budget", absl::StrCat(o.engine.budget)},
      {"seed", absl::StrCat(o.engine.seed)},
      {"deduplicate", o.engine.deduplicate ? "true" : "false"},
      {"rl_learning_rate", absl::StrCat(o.engine.rl_learning_rate)},
      {"dataset", t.dataset()},
      {"cells_per_stack", absl::StrCat(t.cells_per_stack())},
      {"filters", absl::StrCat(t.filters())},
      {"epochs", absl::StrCat(t.epochs())},
      {"batch_size", absl::StrCat(t.batch_size())},
      {"learning_rate", absl::StrCat(t.learning_rate())},
      {"weight_decay", absl::StrCat(t.weight_decay())},
      {"validation_images", absl::StrCat(t.validation_images())},
      {"max_train_images", absl::StrCat(t.max_train_images())},
      {"training_seed", absl::StrCat(t.seed())},
      {"early_stopping", EarlyStoppingEntry(o.early_stopping)},
      {"inheritance",
       o.inheritance.enabled
           ? absl::StrCat(o.inheritance.epochs, " epochs at learning rate ",
                          o.inheritance.learning_rate)
           : "off"},
  };
  // Every value of the recipe, defaults included.
  for (auto& [flag, value] : RecipeFields(t.recipe())) {
    entries.emplace_back(flag, std::move(value));
  }
  return entries;
}

absl::Status CheckSameSearch(const SearchOptions& stored,
                             const SearchOptions& wanted) {
  const auto before = SearchConfigEntries(stored);
  const auto now = SearchConfigEntries(wanted);
  for (size_t i = 0; i < before.size(); ++i) {
    if (before[i].second != now[i].second) {
      return absl::FailedPreconditionError(absl::StrFormat(
          "setting '%s' is %s in the store but %s now; restart with the "
          "stored setting or use a new store",
          before[i].first, before[i].second, now[i].second));
    }
  }
  return absl::OkStatus();
}

ControllerDefaults DefaultsOf(const SearchOptions& options) {
  ControllerDefaults defaults;
  defaults.lease_timeout = options.lease_timeout;
  defaults.heartbeat_interval = options.heartbeat_interval;
  defaults.max_attempts = options.max_attempts;
  defaults.retry_after = options.retry_after;
  return defaults;
}

v1::SearchConfig DefaultSearchConfig() {
  v1::SearchConfig c;
  c.set_algorithm("aging");
  c.set_population_size(100);
  c.set_sample_size(25);
  c.set_budget(1000);
  c.set_seed(1);
  c.set_deduplicate(false);
  c.set_rl_learning_rate(0.2);
  c.set_weight(1);
  *c.mutable_settings() = DefaultTrainingSettings();
  return c;
}

absl::StatusOr<SearchOptions> SearchOptionsFromConfig(
    const v1::SearchConfig& given, const ControllerDefaults& defaults) {
  // Defaults first, then every field the config sets.
  v1::SearchConfig c = DefaultSearchConfig();
  c.MergeFrom(given);
  SearchOptions o;
  absl::StatusOr<Algorithm> algorithm = AlgorithmFromName(c.algorithm());
  if (!algorithm.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("config.algorithm: ", algorithm.status().message()));
  }
  o.engine.algorithm = *algorithm;
  o.engine.population_size = c.population_size();
  o.engine.sample_size = c.sample_size();
  o.engine.budget = c.budget();
  o.engine.seed = c.seed();
  o.engine.deduplicate = c.deduplicate();
  o.engine.rl_learning_rate = c.rl_learning_rate();
  o.settings = c.settings();
  o.weight = c.weight();
  if (o.engine.algorithm == Algorithm::kFinal) {
    RETURN_IF_ERROR(FinalChildren(c, &o));
  } else if (c.has_final_training()) {
    return absl::InvalidArgumentError(
        "config.final_training goes with algorithm final only");
  }
  const v1::EarlyStopping& e = c.early_stopping();
  if (absl::Status s = StoppingRuleFromName(
          e.has_rule() ? e.rule() : "none", &o.early_stopping.rule);
      !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("config.", s.message()));
  }
  o.early_stopping.epochs.assign(e.epochs().begin(), e.epochs().end());
  if (e.has_children()) o.early_stopping.children = e.children();
  if (e.has_quantile()) o.early_stopping.quantile = e.quantile();
  if (e.has_window()) o.early_stopping.window = e.window();
  const v1::WeightInheritance& inherit = c.inheritance();
  o.inheritance.enabled = inherit.enabled();
  if (o.inheritance.enabled) {
    o.inheritance.epochs = inherit.has_epochs()
                               ? inherit.epochs()
                               : (o.settings.epochs() + 1) / 2;
    o.inheritance.learning_rate = inherit.has_learning_rate()
                                      ? inherit.learning_rate()
                                      : o.settings.learning_rate();
  } else if (inherit.has_epochs() || inherit.has_learning_rate()) {
    return absl::InvalidArgumentError(
        "config.inheritance: epochs and learning_rate need enabled: true");
  }
  o.heartbeat_interval = defaults.heartbeat_interval;
  o.retry_after = defaults.retry_after;
  o.max_attempts = c.has_max_attempts() ? c.max_attempts() : defaults.max_attempts;
  o.lease_timeout = defaults.lease_timeout;
  if (c.has_lease_timeout_s()) {
    if (!std::isfinite(c.lease_timeout_s()) || c.lease_timeout_s() < 0.1 ||
        c.lease_timeout_s() > 86400 * 7) {
      return absl::InvalidArgumentError(absl::StrCat(
          "config.lease_timeout_s must be in 0.1..604800, got ",
          c.lease_timeout_s()));
    }
    o.lease_timeout = absl::Seconds(c.lease_timeout_s());
  }
  if (absl::Status s = ValidateSearchOptions(o); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("config: ", s.message()));
  }
  return o;
}

v1::SearchConfig SearchConfigFromOptions(const SearchOptions& o) {
  v1::SearchConfig c;
  c.set_algorithm(AlgorithmName(o.engine.algorithm));
  c.set_population_size(o.engine.population_size);
  c.set_sample_size(o.engine.sample_size);
  c.set_budget(o.engine.budget);
  c.set_seed(o.engine.seed);
  c.set_deduplicate(o.engine.deduplicate);
  c.set_rl_learning_rate(o.engine.rl_learning_rate);
  *c.mutable_settings() = o.settings;
  c.set_lease_timeout_s(absl::ToDoubleSeconds(o.lease_timeout));
  c.set_max_attempts(o.max_attempts);
  c.set_weight(o.weight);
  if (o.engine.algorithm == Algorithm::kFinal) {
    *c.mutable_final_training() = o.final_training;
  }
  if (o.early_stopping.rule != StoppingRule::kNone) {
    v1::EarlyStopping* e = c.mutable_early_stopping();
    e->set_rule(StoppingRuleName(o.early_stopping.rule));
    for (int epoch : o.early_stopping.epochs) e->add_epochs(epoch);
    e->set_children(o.early_stopping.children);
    e->set_quantile(o.early_stopping.quantile);
    if (o.early_stopping.window > 0) e->set_window(o.early_stopping.window);
  }
  if (o.inheritance.enabled) {
    v1::WeightInheritance* i = c.mutable_inheritance();
    i->set_enabled(true);
    i->set_epochs(o.inheritance.epochs);
    i->set_learning_rate(o.inheritance.learning_rate);
  }
  return c;
}

std::string SearchConfigToJson(const v1::SearchConfig& config) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  std::string json;
  // Cannot fail for a message of a known type.
  (void)google::protobuf::util::MessageToJsonString(config, &json, options);
  return json;
}

absl::StatusOr<v1::SearchConfig> SearchConfigFromJson(const std::string& json) {
  v1::SearchConfig config;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  auto status =
      google::protobuf::util::JsonStringToMessage(json, &config, options);
  if (!status.ok()) {
    return absl::DataLossError(absl::StrCat(
        "stored search config is not a SearchConfig: ",
        std::string(status.message().data(), status.message().size())));
  }
  return config;
}

}  // namespace amoeba
