#include "cli/search_command.h"

#include <grpcpp/grpcpp.h>

#include <iostream>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/str_format.h"
#include "cli/connection.h"
#include "cli/status_command.h"
#include "common/training_flags.h"
#include "gflags/gflags.h"
#include "proto/controller.grpc.pb.h"

DEFINE_string(algorithm, "aging",
              "`search create`: aging, non_aging, random or reinforce");
DEFINE_int32(population_size, 100, "`search create`: P");
DEFINE_int32(sample_size, 25, "`search create`: S");
DEFINE_int64(budget, 1000, "`search create`: children to evaluate");
DEFINE_uint64(search_seed, 1, "`search create`: the search's seed");
DEFINE_double(weight, 1, "`search create`: share of the fleet");
DEFINE_double(rl_learning_rate, 0.2,
              "`search create`: REINFORCE's learning rate");
DEFINE_bool(deduplicate, false,
            "`search create`: re-mutate children already handed out");
DEFINE_int32(max_attempts, 3,
             "`search create`: failures charged to a child before it is "
             "given up (default: the controller's)");
DEFINE_double(lease_timeout_s, 120,
              "`search create`: a silent worker loses its child after this "
              "(default: the controller's)");

DEFINE_int32(checkpoint_every, 1,
             "`finalize` (default 1) and `search create` (default 0): "
             "checkpoint every this many epochs so that a lost worker's task "
             "resumes there (0: never)");
DEFINE_string(early_stopping, "none",
              "`search create`: none, hurdles (progressive dynamic hurdles) "
              "or median");
DEFINE_string(stop_epochs, "",
              "`search create`: epochs at which a child may be stopped, "
              "e.g. 1,3 (each below --epochs)");
DEFINE_int32(stop_children, 10,
             "`search create`: children whose mean fixes a hurdle (median: "
             "children before the rule acts)");
DEFINE_double(stop_quantile, 0.5,
              "`search create`: median rule: stop below this quantile");
DEFINE_int32(stop_window, 0,
             "`search create`: median rule: of the last N children only "
             "(0: all)");

namespace amoeba {
namespace {

// Only what the command line says: the controller fills the rest with the
// defaults every search shares (and its own lease timeout and attempts).
v1::SearchConfig ConfigFromFlags() {
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
  const v1::TrainingSettings all = TrainingSettingsFromFlags();
  v1::TrainingSettings* t = c.mutable_settings();
  if (FlagGiven("dataset")) t->set_dataset(all.dataset());
  if (FlagGiven("N")) t->set_cells_per_stack(all.cells_per_stack());
  if (FlagGiven("F")) t->set_filters(all.filters());
  if (FlagGiven("epochs")) t->set_epochs(all.epochs());
  if (FlagGiven("batch_size")) t->set_batch_size(all.batch_size());
  if (FlagGiven("lr")) t->set_learning_rate(all.learning_rate());
  if (FlagGiven("weight_decay")) t->set_weight_decay(all.weight_decay());
  if (FlagGiven("validation_images")) {
    t->set_validation_images(all.validation_images());
  }
  if (FlagGiven("max_train_images")) {
    t->set_max_train_images(all.max_train_images());
  }
  if (FlagGiven("training_seed")) t->set_seed(all.seed());
  if (FlagGiven("checkpoint_every")) {
    t->set_checkpoint_every(FLAGS_checkpoint_every);
  }
  v1::EarlyStopping* e = c.mutable_early_stopping();
  if (FlagGiven("early_stopping")) e->set_rule(FLAGS_early_stopping);
  for (absl::string_view epoch :
       absl::StrSplit(FLAGS_stop_epochs, ',', absl::SkipWhitespace())) {
    int value = 0;
    // A malformed entry is sent as 0, which the controller refuses by name.
    if (!absl::SimpleAtoi(epoch, &value)) value = 0;
    e->add_epochs(value);
  }
  if (FlagGiven("stop_children")) e->set_children(FLAGS_stop_children);
  if (FlagGiven("stop_quantile")) e->set_quantile(FLAGS_stop_quantile);
  if (FlagGiven("stop_window")) e->set_window(FLAGS_stop_window);
  if (e->ByteSizeLong() == 0) c.clear_early_stopping();
  return c;
}

int Refused(const std::string& verb, const grpc::Status& s) {
  std::cerr << "amoeba search " << verb << ": " << s.error_message() << "\n";
  return s.error_code() == grpc::StatusCode::UNAVAILABLE ||
                 s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED
             ? 3
             : 1;
}

int Create(v1::Controller::Stub& stub) {
  v1::CreateSearchRequest request;
  request.set_search_id(SearchFlag());
  *request.mutable_config() = ConfigFromFlags();
  v1::CreateSearchResponse response;
  const grpc::Status s =
      stub.CreateSearch(CallContext().get(), request, &response);
  if (!s.ok()) return Refused("create", s);
  const v1::SearchConfig& c = response.status().config();
  std::cout << absl::StrFormat(
      "created search %s: %s, P=%d, S=%d, budget %d, seed %d, weight %g | "
      "%s, N=%d, F=%d, %d epoch(s), batch %d, lr %g\n",
      response.search_id(), c.algorithm(), c.population_size(),
      c.sample_size(), c.budget(), c.seed(), c.weight(),
      c.settings().dataset(), c.settings().cells_per_stack(),
      c.settings().filters(), c.settings().epochs(),
      c.settings().batch_size(), c.settings().learning_rate());
  return 0;
}

int List(v1::Controller::Stub& stub) {
  v1::ListSearchesResponse all;
  const grpc::Status s =
      stub.ListSearches(CallContext().get(), v1::ListSearchesRequest(), &all);
  if (!s.ok()) return Refused("list", s);
  if (all.searches_size() == 0) {
    std::cout << "no search yet (amoeba search create)\n";
    return 0;
  }
  std::cout << absl::StrFormat("%-16s %-10s %-9s %6s %-13s %7s %7s %8s\n",
                               "search", "algorithm", "state", "weight",
                               "done/budget", "running", "failed", "best");
  for (const v1::SearchStatus& search : all.searches()) {
    std::cout << absl::StrFormat(
        "%-16s %-10s %-9s %6g %-13s %7d %7d %8.4f\n", search.search_id(),
        search.config().algorithm(),
        absl::AsciiStrToLower(v1::SearchState_Name(search.state())),
        search.config().weight(),
        absl::StrFormat("%d/%d", search.done(), search.config().budget()),
        search.running(), search.failed(), search.best().fitness());
  }
  return 0;
}

}  // namespace

int RunSearchCommand(const std::vector<std::string>& args) {
  if (args.size() != 1) {
    std::cerr << SearchUsage();
    return 2;
  }
  const std::string& verb = args[0];
  if (verb == "status") return RunStatusCommand({});
  if (verb == "pause" || verb == "resume" || verb == "stop") {
    if (SearchFlag().empty()) {
      std::cerr << "amoeba search " << verb << ": name the search with "
                << "--search=ID (amoeba search list shows them)\n";
      return 2;
    }
    return RunAdminCommand(verb, {});
  }
  if (verb != "create" && verb != "list") {
    std::cerr << "amoeba search: unknown command '" << verb << "'\n\n"
              << SearchUsage();
    return 2;
  }
  auto stub = ConnectToController();
  if (!stub.ok()) {
    std::cerr << "amoeba search " << verb << ": " << stub.status().message()
              << "\n";
    return 2;
  }
  return verb == "create" ? Create(**stub) : List(**stub);
}

std::string SearchUsage() {
  return "usage: amoeba search create [--search=ID] [search flags]\n"
         "       amoeba search list\n"
         "       amoeba search status|pause|resume|stop --search=ID\n\n"
         "A controller runs many searches over one fleet of workers; each\n"
         "worker takes children from the running search furthest below its\n"
         "share (children in flight / weight).\n"
         "create: a new search, running at once (an id is generated when\n"
         "  --search is not given). Flags not given take the defaults below\n"
         "  (lease timeout and attempts: the controller's).\n"
         "list: every search with its state and progress.\n"
         "status, pause, resume, stop: as `amoeba status` etc. for one search.\n\n"
         "search flags:\n"
         "  --algorithm=NAME         aging (default), non_aging, random or "
         "reinforce\n"
         "  --rl_learning_rate=X     reinforce only (default 0.2)\n"
         "  --population_size=P      (default 100)\n"
         "  --sample_size=S          (default 25)\n"
         "  --budget=N               children to evaluate (default 1000)\n"
         "  --search_seed=N          (default 1)\n"
         "  --weight=W               share of the fleet (default 1)\n"
         "  --deduplicate            re-mutate children already handed out\n"
         "  --max_attempts=N --lease_timeout_s=S\n"
         "  --early_stopping=RULE    none (default), hurdles or median\n"
         "  --stop_epochs=E1,E2      epochs a child may be stopped at\n"
         "  --stop_children=N        children that fix a hurdle (default 10)\n"
         "  --stop_quantile=Q        median rule's quantile (default 0.5)\n"
         "  --stop_window=N          median of the last N children (0: all)\n"
         "  --checkpoint_every=E     checkpoint children every E epochs, for\n"
         "                           long ones (default 0: never)\n" +
         TrainingFlagsHelp() + "\nconnection flags:\n" + ConnectionFlagsHelp();
}

}  // namespace amoeba
