#include "cli/search_command.h"

#include <grpcpp/grpcpp.h>

#include <iostream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_format.h"
#include "cli/connection.h"
#include "cli/status_command.h"
#include "settings/recipes.h"
#include "settings/search_flags.h"
#include "gflags/gflags.h"
#include "proto/controller.grpc.pb.h"

namespace amoeba {
namespace {

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
  *request.mutable_config() = SearchConfigFromFlags();
  v1::CreateSearchResponse response;
  const grpc::Status s =
      stub.CreateSearch(CallContext().get(), request, &response);
  if (!s.ok()) return Refused("create", s);
  const v1::SearchConfig& c = response.status().config();
  std::cout << absl::StrFormat(
      "created search %s: %s, P=%d, S=%d, budget %d, seed %d, weight %g | "
      "%s, N=%d, F=%d, %d epoch(s), batch %d, lr %g, %s\n",
      response.search_id(), c.algorithm(), c.population_size(),
      c.sample_size(), c.budget(), c.seed(), c.weight(),
      c.settings().dataset(), c.settings().cells_per_stack(),
      c.settings().filters(), c.settings().epochs(),
      c.settings().batch_size(), c.settings().learning_rate(),
      RecipeSummary(c.settings().recipe()));
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
         "search flags:\n" +
         SearchFlagsHelp() + "\nconnection flags:\n" + ConnectionFlagsHelp();
}

}  // namespace amoeba
