#include "cli/status_command.h"

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <iostream>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/str_format.h"
#include "cli/connection.h"
#include "gflags/gflags.h"
#include "proto/controller.grpc.pb.h"

DEFINE_bool(watch, false, "`status`: print a line every --interval_s until done");
DEFINE_int32(interval_s, 5, "`status --watch`: seconds between lines");
DEFINE_int32(timeout_s, 0, "`status --watch`: give up after this (0 = never)");

namespace amoeba {
namespace {

bool Fetch(v1::Controller::Stub& stub, const std::string& search_id,
           v1::SearchStatus* status, std::string* error) {
  v1::GetStatusRequest request;
  request.set_search_id(search_id);
  const grpc::Status s = stub.GetStatus(CallContext().get(), request, status);
  if (!s.ok()) *error = s.error_message();
  return s.ok();
}

bool Ended(const v1::SearchStatus& s) {
  return s.state() == v1::FINISHED || s.state() == v1::STOPPED;
}

// --watch: whether --timeout_s has passed since `start` (and says so).
bool WatchTimedOut(std::chrono::steady_clock::time_point start) {
  if (FLAGS_timeout_s <= 0 ||
      std::chrono::steady_clock::now() - start <=
          std::chrono::seconds(FLAGS_timeout_s)) {
    return false;
  }
  std::cerr << "amoeba status: still not finished after " << FLAGS_timeout_s
            << "s\n";
  return true;
}

std::string StateWord(v1::SearchState state) {
  return absl::AsciiStrToLower(v1::SearchState_Name(state));
}

// " | stopped early: 3/12 at epoch 1 (hurdle 0.6123), ..." when the search
// stops children early.
std::string HurdlesText(const v1::SearchStatus& s) {
  std::string text;
  for (const v1::HurdleStatus& h : s.hurdles()) {
    absl::StrAppendFormat(&text, "%s%d/%d at epoch %d", text.empty() ? "" : ", ",
                          h.stopped(), h.reported(), h.epoch());
    if (h.has_threshold()) {
      absl::StrAppendFormat(&text, " (%s %.4f)",
                            s.config().early_stopping().rule() == "median"
                                ? "threshold"
                                : "hurdle",
                            h.threshold());
    }
  }
  return text.empty() ? text : " | stopped early: " + text;
}

}  // namespace

std::string ProgressLine(const v1::SearchStatus& s) {
  return absl::StrFormat(
      "%-8s %d/%d done, %d running, %d waiting, %d failed | population %d: "
      "min %.4f median %.4f max %.4f | best %.4f (model %d) | %d workers | "
      "%.0f evals/h%s",
      StateWord(s.state()), s.done(), s.config().budget(), s.running(),
      s.pending(), s.failed(), s.population_members(), s.population_min(),
      s.population_median(), s.population_max(), s.best().fitness(),
      s.best().id(), s.workers_online(), s.evaluations_per_hour(),
      s.estimated_seconds_left() > 0
          ? absl::StrFormat(", ~%.0fs left", s.estimated_seconds_left())
          : std::string()) +
         (s.workers_without_data() > 0
              ? absl::StrFormat(" | %d worker(s) lack the data",
                                s.workers_without_data())
              : std::string()) +
         (s.workers_without_recipe() > 0
              ? absl::StrFormat(" | %d worker(s) too old for the recipe",
                                s.workers_without_recipe())
              : std::string()) +
         HurdlesText(s);
}

namespace {

// `amoeba status` on a controller of several searches without --search:
// one line per search (repeated with --watch until every one has ended).
int StatusOfAll(v1::Controller::Stub& stub) {
  const auto start = std::chrono::steady_clock::now();
  while (true) {
    v1::ListSearchesResponse all;
    const grpc::Status s = stub.ListSearches(
        CallContext().get(), v1::ListSearchesRequest(), &all);
    if (!s.ok()) {
      std::cerr << "amoeba status: controller " << ControllerAddress()
                << " unreachable: " << s.error_message() << "\n";
      return 3;
    }
    bool all_ended = true;
    for (const v1::SearchStatus& search : all.searches()) {
      std::cout << absl::StrFormat("%-16s ", search.search_id())
                << ProgressLine(search) << "\n";
      all_ended = all_ended && Ended(search);
    }
    std::cout << std::flush;
    if (!FLAGS_watch || all_ended) return 0;
    if (WatchTimedOut(start)) return 1;
    std::this_thread::sleep_for(std::chrono::seconds(FLAGS_interval_s));
    std::cout << "\n";
  }
}

}  // namespace

int RunStatusCommand(const std::vector<std::string>& args) {
  if (!args.empty()) {
    std::cerr << "amoeba status: takes no arguments (use --controller)\n";
    return 2;
  }
  if (FLAGS_interval_s < 1) {
    std::cerr << "amoeba status: --interval_s must be >= 1\n";
    return 2;
  }
  auto stub = ConnectToController();
  if (!stub.ok()) {
    std::cerr << "amoeba status: " << stub.status().message() << "\n";
    return 2;
  }
  std::string search_id = SearchFlag();
  if (search_id.empty()) {
    v1::ListSearchesResponse all;
    const grpc::Status s = (*stub)->ListSearches(
        CallContext().get(), v1::ListSearchesRequest(), &all);
    if (!s.ok()) {
      std::cerr << "amoeba status: controller " << ControllerAddress()
                << " unreachable: " << s.error_message() << "\n";
      return 3;
    }
    if (all.searches_size() == 0) {
      std::cout << "no search yet (amoeba search create)\n";
      return 0;
    }
    if (all.searches_size() > 1) return StatusOfAll(**stub);
    search_id = all.searches(0).search_id();
  }
  const auto start = std::chrono::steady_clock::now();
  v1::SearchStatus status;
  std::string error;
  while (true) {
    if (!Fetch(**stub, search_id, &status, &error)) {
      std::cerr << "amoeba status: controller " << ControllerAddress()
                << " unreachable: " << error << "\n";
      return 3;
    }
    if (!FLAGS_watch) break;
    std::cout << ProgressLine(status) << std::endl;
    if (Ended(status)) break;
    if (WatchTimedOut(start)) return 1;
    std::this_thread::sleep_for(std::chrono::seconds(FLAGS_interval_s));
  }
  if (!FLAGS_watch) std::cout << ProgressLine(status) << "\n";
  const v1::SearchConfig& c = status.config();
  std::cout << absl::StrFormat(
      "search %s: %s, P=%d, S=%d, budget %d, seed %d, weight %g | %s, N=%d, "
      "F=%d, %d epoch(s)\n",
      status.search_id(), c.algorithm(), c.population_size(), c.sample_size(),
      c.budget(), c.seed(), c.weight(), c.settings().dataset(),
      c.settings().cells_per_stack(), c.settings().filters(),
      c.settings().epochs());
  if (status.best().id() > 0) {
    std::cout << absl::StrFormat(
        "best: model %d, fitness %.4f, %d parameters, %d multiply-adds per "
        "image, %s\n  %s\n",
        status.best().id(), status.best().fitness(),
        status.best().parameters(), status.best().multiply_adds(),
        status.best().mutation(),
        status.best().genotype_text());
  }
  return 0;
}

int RunAdminCommand(const std::string& verb, const std::vector<std::string>& args) {
  if (!args.empty()) {
    std::cerr << "amoeba " << verb << ": takes no arguments (use --controller)\n";
    return 2;
  }
  auto stub = ConnectToController();
  if (!stub.ok()) {
    std::cerr << "amoeba " << verb << ": " << stub.status().message() << "\n";
    return 2;
  }
  v1::AdminRequest request;
  request.set_search_id(SearchFlag());
  v1::AdminResponse response;
  grpc::Status s;
  if (verb == "pause") {
    s = (*stub)->Pause(CallContext().get(), request, &response);
  } else if (verb == "resume") {
    s = (*stub)->Resume(CallContext().get(), request, &response);
  } else {
    s = (*stub)->Stop(CallContext().get(), request, &response);
  }
  if (!s.ok()) {
    std::cerr << "amoeba " << verb << ": " << s.error_message() << "\n";
    return s.error_code() == grpc::StatusCode::UNAVAILABLE ? 3 : 1;
  }
  std::cout << "search " << (SearchFlag().empty() ? "" : SearchFlag() + " ")
            << StateWord(response.state()) << "\n";
  return 0;
}

std::string StatusUsage() {
  return "usage: amoeba status [--search=ID] [--watch] [flags]\n\n"
         "One line on a search (state, counts, population, best, workers,\n"
         "rate); --watch repeats it until the search ends. Without --search\n"
         "on a controller of several searches: a line for each.\n\n"
         "flags:\n" +
         ConnectionFlagsHelp() +
         "  --watch                  a line every --interval_s until finished or stopped\n"
         "  --interval_s=N           seconds between lines (default 5)\n"
         "  --timeout_s=N            --watch gives up after N s (0 = never)\n";
}

std::string AdminUsage() {
  return "usage: amoeba pause|resume|stop [--search=ID] [flags]\n\n"
         "pause: no new children are handed out; running ones finish.\n"
         "resume: hand out children again.\n"
         "stop: no new children, running ones are cancelled; a stopped search\n"
         "cannot be resumed. Each prints the new state once it is durable.\n\n"
         "flags:\n" +
         ConnectionFlagsHelp();
}

}  // namespace amoeba
