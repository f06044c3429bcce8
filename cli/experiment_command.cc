// `amoeba experiment run`: the searches of a comparison on a controller.
#include "cli/experiment_command.h"

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "cli/connection.h"
#include "controller/algorithm.h"
#include "controller/store.h"
#include "gflags/gflags.h"
#include "google/protobuf/util/json_util.h"
#include "proto/controller.grpc.pb.h"

DECLARE_int32(interval_s);
DECLARE_int32(timeout_s);

namespace amoeba {
namespace {

constexpr const char* kDefaultAlgorithms[] = {"aging", "non_aging", "random",
                                              "reinforce"};

std::string SearchName(const v1::ExperimentSpec& spec,
                       const std::string& algorithm, int repeat) {
  return absl::StrCat(spec.name(), "-", algorithm, "-", repeat);
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
  if (spec.algorithms().empty()) {
    for (const char* a : kDefaultAlgorithms) spec.add_algorithms(a);
  }
  for (std::string& a : *spec.mutable_algorithms()) {
    absl::StatusOr<Algorithm> algorithm = AlgorithmFromName(a);
    if (!algorithm.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": algorithms: ", algorithm.status().message()));
    }
    a = AlgorithmName(*algorithm);
  }
  if (spec.repeats() == 0) spec.set_repeats(3);
  if (spec.repeats() < 1 || spec.repeats() > 100) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, ": repeats must be in 1..100, got ", spec.repeats()));
  }
  if (!spec.has_first_seed()) spec.set_first_seed(1);
  // Every search id the name makes must be one the controller takes.
  for (const std::string& algorithm : spec.algorithms()) {
    if (absl::Status s = ValidateSearchName(
            SearchName(spec, algorithm, spec.repeats()));
        !s.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": name: ", s.message()));
    }
  }
  return spec;
}


// Creates every search of the spec that does not exist yet, repeat by
// repeat so that every algorithm starts about as early.
int CreateSearches(v1::Controller::Stub& stub, const v1::ExperimentSpec& spec) {
  int created = 0;
  int existing = 0;
  for (int r = 1; r <= spec.repeats(); ++r) {
    for (const std::string& algorithm : spec.algorithms()) {
      v1::CreateSearchRequest request;
      request.set_search_id(SearchName(spec, algorithm, r));
      *request.mutable_config() = spec.config();
      request.mutable_config()->set_algorithm(algorithm);
      request.mutable_config()->set_seed(spec.first_seed() + r - 1);
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
                   spec.name(), spec.algorithms_size() * spec.repeats(),
                   absl::StrJoin(spec.algorithms(), ", "), spec.repeats(),
                   created, existing)
            << std::endl;
  return 0;
}

}  // namespace

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
  const std::string prefix = spec->name() + "-";
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
    // Per algorithm: children done of the budgets, searches ended, best.
    struct Progress {
      int64_t done = 0;
      int64_t budget = 0;
      int searches = 0;
      int ended = 0;
      double best = 0;
    };
    std::map<std::string, Progress> by_algorithm;
    for (const v1::SearchStatus& search : all.searches()) {
      if (!absl::StartsWith(search.search_id(), prefix)) continue;
      Progress& p = by_algorithm[search.config().algorithm()];
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
    bool all_ended = !by_algorithm.empty();
    for (const std::string& algorithm : spec->algorithms()) {
      const Progress& p = by_algorithm[algorithm];
      absl::StrAppendFormat(&line, " | %s %d/%d best %.4f", algorithm, p.done,
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
         "Searches are named NAME-ALGORITHM-R; repeat R of every algorithm\n"
         "uses seed first_seed + R - 1. Running the command again creates\n"
         "only what is missing and keeps watching.\n"
         "Then: amoeba compare STORE --experiment=NAME.\n\nflags:\n" +
         ConnectionFlagsHelp();
}

}  // namespace amoeba
