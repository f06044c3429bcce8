// `amoeba experiment run`: the searches of a comparison on a controller.
#include "cli/experiment_command.h"

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <algorithm>
#include <sstream>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "cli/connection.h"
#include "evolution/algorithm.h"
#include "gflags/gflags.h"
#include "google/protobuf/util/json_util.h"
#include "proto/controller.grpc.pb.h"
#include "store/store.h"  // ValidateSearchName

DECLARE_int32(interval_s);
DECLARE_int32(timeout_s);

namespace amoeba {
namespace {

constexpr const char* kDefaultAlgorithms[] = {"aging", "non_aging", "random",
                                              "reinforce"};

std::string SearchName(const v1::ExperimentSpec& spec, const std::string& arm,
                       int repeat) {
  return absl::StrCat(spec.name(), "-", arm, "-", repeat);
}

// The spec, checked: InvalidArgument naming the field.
absl::StatusOr<v1::ExperimentSpec> ReadSpec(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::stringstream text;
  text << in.rdbuf();
  v1::ExperimentSpec spec;
  const auto parsed =
      google::protobuf::util::JsonStringToMessage(text.str(), &spec);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": not an experiment spec: ",
                     std::string(parsed.message().data(),
                                 parsed.message().size())));
  }
  if (spec.name().empty() || spec.name().size() > 40) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": name must be 1 to 40 characters"));
  }
  if (!spec.algorithms().empty() && !spec.arms().empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, ": give either algorithms or arms, not both"));
  }
  if (spec.arms().empty()) {
    if (spec.algorithms().empty()) {
      for (const char* a : kDefaultAlgorithms) spec.add_algorithms(a);
    }
    for (const std::string& a : spec.algorithms()) {
      spec.add_arms()->set_algorithm(a);
    }
    spec.clear_algorithms();
  }
  std::set<std::string> names;
  for (v1::ExperimentArm& arm : *spec.mutable_arms()) {
    absl::StatusOr<Algorithm> algorithm = AlgorithmFromName(arm.algorithm());
    if (!algorithm.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          path, ": algorithms: ", algorithm.status().message()));
    }
    arm.set_algorithm(AlgorithmName(*algorithm));
    if (arm.name().empty()) arm.set_name(arm.algorithm());
    if (arm.name().size() > 20 ||
        !std::all_of(arm.name().begin(), arm.name().end(), [](char c) {
          return absl::ascii_isalnum(c) || c == '_';
        })) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": arm name '", arm.name(),
                       "': letters, digits and '_' only, at most 20"));
    }
    if (!names.insert(arm.name()).second) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": two arms named '", arm.name(), "'"));
    }
  }
  if (spec.repeats() == 0) spec.set_repeats(3);
  if (spec.repeats() < 1 || spec.repeats() > 100) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, ": repeats must be in 1..100, got ", spec.repeats()));
  }
  if (!spec.has_first_seed()) spec.set_first_seed(1);
  // Every search id the name makes must be one the controller takes.
  for (const v1::ExperimentArm& arm : spec.arms()) {
    if (absl::Status s = ValidateSearchName(
            SearchName(spec, arm.name(), spec.repeats()));
        !s.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": name: ", s.message()));
    }
  }
  return spec;
}


std::vector<std::string> ArmNames(const v1::ExperimentSpec& spec) {
  std::vector<std::string> names;
  for (const v1::ExperimentArm& arm : spec.arms()) names.push_back(arm.name());
  return names;
}

// Creates every search of the spec that does not exist yet, repeat by
// repeat so that every algorithm starts about as early.
int CreateSearches(v1::Controller::Stub& stub, const v1::ExperimentSpec& spec) {
  int created = 0;
  int existing = 0;
  for (int r = 1; r <= spec.repeats(); ++r) {
    for (const v1::ExperimentArm& arm : spec.arms()) {
      v1::CreateSearchRequest request;
      request.set_search_id(SearchName(spec, arm.name(), r));
      v1::SearchConfig& config = *request.mutable_config();
      config = spec.config();
      config.set_algorithm(arm.algorithm());
      config.set_seed(spec.first_seed() + r - 1);
      if (arm.has_early_stopping()) {
        *config.mutable_early_stopping() = arm.early_stopping();
      }
      if (arm.has_budget()) config.set_budget(arm.budget());
      if (arm.has_inheritance()) {
        *config.mutable_inheritance() = arm.inheritance();
      }
      v1::CreateSearchResponse response;
      const grpc::Status s =
          stub.CreateSearch(CallContext().get(), request, &response);
      if (s.error_code() == grpc::StatusCode::ALREADY_EXISTS) {
        ++existing;
        continue;
      }
      if (!s.ok()) {
        std::cerr << "amoeba experiment: creating " << request.search_id()
                  << ": " << s.error_message() << "\n";
        return s.error_code() == grpc::StatusCode::UNAVAILABLE ? 3 : 1;
      }
      ++created;
    }
  }
  std::cout << absl::StrFormat(
                   "experiment %s: %d searches (%s x %d repeats); %d created, "
                   "%d already there",
                   spec.name(), spec.arms_size() * spec.repeats(),
                   absl::StrJoin(ArmNames(spec), ", "), spec.repeats(),
                   created, existing)
            << std::endl;
  return 0;
}

}  // namespace

std::string ArmOfSearch(const std::string& search_id,
                        const std::string& experiment) {
  if (!absl::StartsWith(search_id, experiment + "-")) return "";
  const std::string rest = search_id.substr(experiment.size() + 1);
  const size_t dash = rest.rfind('-');
  if (dash == std::string::npos || dash == 0 || dash + 1 == rest.size()) {
    return "";
  }
  for (size_t i = dash + 1; i < rest.size(); ++i) {
    if (!absl::ascii_isdigit(rest[i])) return "";
  }
  const std::string arm = rest.substr(0, dash);
  // Arms have no '-': "fm-x-aging-1" belongs to experiment "fm-x", not to
  // an arm "x-aging" of "fm".
  return absl::StrContains(arm, '-') ? "" : arm;
}

int RunExperimentCommand(const std::vector<std::string>& args) {
  if (args.size() != 2 || args[0] != "run") {
    std::cerr << ExperimentUsage();
    return 2;
  }
  absl::StatusOr<v1::ExperimentSpec> spec = ReadSpec(args[1]);
  if (!spec.ok()) {
    std::cerr << "amoeba experiment: " << spec.status().message() << "\n";
    return 2;
  }
  auto stub = ConnectToController();
  if (!stub.ok()) {
    std::cerr << "amoeba experiment: " << stub.status().message() << "\n";
    return 2;
  }
  if (int rc = CreateSearches(**stub, *spec); rc != 0) return rc;
  const auto start = std::chrono::steady_clock::now();
  while (true) {
    v1::ListSearchesResponse all;
    const grpc::Status s = (*stub)->ListSearches(
        CallContext().get(), v1::ListSearchesRequest(), &all);
    if (!s.ok()) {
      std::cerr << "amoeba experiment: controller " << ControllerAddress()
                << " unreachable: " << s.error_message() << "\n";
      return 3;
    }
    // Per arm: children done of the budgets, searches ended, best.
    struct Progress {
      int64_t done = 0;
      int64_t budget = 0;
      int searches = 0;
      int ended = 0;
      double best = 0;
    };
    std::map<std::string, Progress> by_arm;
    for (const v1::SearchStatus& search : all.searches()) {
      const std::string arm = ArmOfSearch(search.search_id(), spec->name());
      if (arm.empty()) continue;
      Progress& p = by_arm[arm];
      p.done += search.done();
      p.budget += search.config().budget();
      ++p.searches;
      p.ended += search.state() == v1::FINISHED || search.state() == v1::STOPPED;
      p.best = std::max(p.best, search.best().fitness());
    }
    const double elapsed = std::chrono::duration<double>(
                               std::chrono::steady_clock::now() - start)
                               .count();
    std::string line = absl::StrFormat("%6.0fs", elapsed);
    bool all_ended = !by_arm.empty();
    for (const std::string& arm : ArmNames(*spec)) {
      const Progress& p = by_arm[arm];
      absl::StrAppendFormat(&line, " | %s %d/%d best %.4f", arm, p.done,
                            p.budget, p.best);
      all_ended = all_ended && p.searches > 0 && p.ended == p.searches;
    }
    std::cout << line << std::endl;
    if (all_ended) break;
    if (FLAGS_timeout_s > 0 && elapsed > FLAGS_timeout_s) {
      std::cerr << "amoeba experiment: not finished after " << FLAGS_timeout_s
                << "s (it goes on; run the command again to keep watching)\n";
      return 1;
    }
    std::this_thread::sleep_for(std::chrono::seconds(FLAGS_interval_s));
  }
  std::cout << "experiment " << spec->name()
            << " finished; figures and table: amoeba compare STORE "
               "--experiment="
            << spec->name() << std::endl;
  return 0;
}

std::string ExperimentUsage() {
  return "usage: amoeba experiment run SPEC.json [--interval_s=N] "
         "[--timeout_s=N] [flags]\n\n"
         "Creates the searches of a comparison on the controller and waits\n"
         "for them, a progress line per algorithm every --interval_s. SPEC is\n"
         "the JSON of amoeba.v1.ExperimentSpec:\n\n"
         "  {\"name\": \"fm\", \"algorithms\": [\"aging\", \"non_aging\", "
         "\"random\", \"reinforce\"],\n"
         "   \"repeats\": 3, \"config\": {\"population_size\": 20, "
         "\"sample_size\": 5,\n"
         "   \"budget\": 100, \"settings\": {\"epochs\": 1}}}\n\n"
         "Instead of \"algorithms\", \"arms\" compares variants: each arm an\n"
         "algorithm with its own early stopping or budget, e.g.\n\n"
         "  \"arms\": [{\"algorithm\": \"aging\"},\n"
         "           {\"name\": \"aging_hurdles\", \"algorithm\": \"aging\",\n"
         "            \"early_stopping\": {\"rule\": \"hurdles\", "
         "\"epochs\": [1]},\n"
         "            \"budget\": 200}]\n\n"
         "Searches are named NAME-ARM-R (an arm is named after its algorithm\n"
         "unless named); repeat R of every arm uses seed first_seed + R - 1.\n"
         "Running the command again creates only what is missing and keeps\n"
         "watching.\n"
         "Then: amoeba compare STORE --experiment=NAME.\n\nflags:\n" +
         ConnectionFlagsHelp();
}

}  // namespace amoeba
