#include "cli/finalize_command.h"

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <iostream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "cli/connection.h"
#include "cli/experiment_command.h"
#include "settings/recipes.h"
#include "settings/search_flags.h"
#include "settings/training_flags.h"
#include "gflags/gflags.h"
#include "proto/controller.grpc.pb.h"

DEFINE_int32(top_k, 20, "`finalize`: models per search, best first");
DEFINE_int32(seeds, 1, "`finalize`: training runs per model");
DEFINE_double(final_weight, 1, "`finalize`: share of the fleet of each final "
              "search");
DEFINE_bool(wait, false, "`finalize`: print progress until every final "
            "search is done");
DECLARE_string(experiment);
DECLARE_int32(interval_s);
DECLARE_int32(timeout_s);

namespace amoeba {
namespace {

int Refused(const grpc::Status& s) {
  std::cerr << "amoeba finalize: " << s.error_message() << "\n";
  return s.error_code() == grpc::StatusCode::UNAVAILABLE ||
                 s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED
             ? 3
             : 1;
}

// The training settings the command line gives (the rest: the source's):
// a --recipe preset and the flags given. --dataset with --stem=imagenet
// trains the source's cells on other images (transfer).
v1::TrainingSettings SettingsFromFlags() {
  v1::TrainingSettings t = GivenTrainingSettings();
  // Final jobs are long: checkpoint every epoch unless told otherwise.
  t.set_checkpoint_every(FlagGiven("checkpoint_every") ? FLAGS_checkpoint_every
                                                          : 1);
  return t;
}

// The source searches: --search's list, or every search of --experiment.
absl::StatusOr<std::vector<std::string>> Sources(v1::Controller::Stub& stub) {
  std::vector<std::string> sources;
  if (!FLAGS_experiment.empty()) {
    v1::ListSearchesResponse all;
    const grpc::Status s = stub.ListSearches(
        CallContext().get(), v1::ListSearchesRequest(), &all);
    if (!s.ok()) {
      return absl::UnavailableError(absl::StrCat(
          "controller ", ControllerAddress(), " unreachable: ",
          s.error_message()));
    }
    for (const v1::SearchStatus& search : all.searches()) {
      if (!ArmOfSearch(search.search_id(), FLAGS_experiment).empty()) {
        sources.push_back(search.search_id());
      }
    }
    if (sources.empty()) {
      return absl::NotFoundError(absl::StrCat(
          "the controller has no search of experiment '", FLAGS_experiment,
          "'"));
    }
    return sources;
  }
  for (absl::string_view id :
       absl::StrSplit(SearchFlag(), ',', absl::SkipWhitespace())) {
    sources.emplace_back(id);
  }
  return sources;
}

// Progress of the final searches until all are done (or --timeout_s).
int Wait(v1::Controller::Stub& stub, const std::vector<std::string>& finals) {
  const auto start = std::chrono::steady_clock::now();
  while (true) {
    int64_t done = 0, failed = 0, budget = 0, running = 0;
    int ended = 0;
    double best = 0;
    for (const std::string& id : finals) {
      v1::GetStatusRequest request;
      request.set_search_id(id);
      v1::SearchStatus status;
      const grpc::Status s =
          stub.GetStatus(CallContext().get(), request, &status);
      if (!s.ok()) return Refused(s);
      done += status.done();
      failed += status.failed();
      running += status.running();
      budget += status.config().budget();
      best = std::max(best, status.best().fitness());
      ended += status.state() == v1::FINISHED || status.state() == v1::STOPPED;
    }
    const double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count();
    std::cout << absl::StrFormat(
                     "%6.0fs final training: %d/%d done, %d failed, %d "
                     "running, best test accuracy %.4f",
                     elapsed, done, budget, failed, running, best)
              << std::endl;
    if (ended == static_cast<int>(finals.size())) return 0;
    if (FLAGS_timeout_s > 0 && elapsed > FLAGS_timeout_s) {
      std::cerr << "amoeba finalize: not finished after " << FLAGS_timeout_s
                << "s (it goes on; run with --wait again to keep watching)\n";
      return 1;
    }
    std::this_thread::sleep_for(std::chrono::seconds(FLAGS_interval_s));
  }
}

}  // namespace

int RunFinalizeCommand(const std::vector<std::string>& args) {
  if (!args.empty() || SearchFlag().empty() == FLAGS_experiment.empty()) {
    std::cerr << FinalizeUsage();
    return 2;
  }
  auto stub = ConnectToController();
  if (!stub.ok()) {
    std::cerr << "amoeba finalize: " << stub.status().message() << "\n";
    return 2;
  }
  absl::StatusOr<std::vector<std::string>> sources = Sources(**stub);
  if (!sources.ok()) {
    std::cerr << "amoeba finalize: " << sources.status().message() << "\n";
    return absl::IsUnavailable(sources.status()) ? 3 : 1;
  }
  std::vector<std::string> finals;
  for (const std::string& source : *sources) {
    v1::CreateFinalRequest request;
    request.add_source_search_ids(source);
    request.set_search_id(source + "-final");
    request.set_top_k(FLAGS_top_k);
    request.set_seeds(FLAGS_seeds);
    request.set_weight(FLAGS_final_weight);
    if (FlagGiven("max_attempts")) request.set_max_attempts(FLAGS_max_attempts);
    *request.mutable_settings() = SettingsFromFlags();
    v1::CreateSearchResponse response;
    const grpc::Status s =
        (*stub)->CreateFinal(CallContext().get(), request, &response);
    if (s.error_code() == grpc::StatusCode::ALREADY_EXISTS) {
      std::cout << request.search_id() << " exists already\n";
      finals.push_back(request.search_id());
      continue;
    }
    if (!s.ok()) return Refused(s);
    const v1::SearchConfig& c = response.status().config();
    const v1::TrainingSettings& t = c.settings();
    const std::string images =
        t.max_train_images() > 0
            ? absl::StrFormat("%d training images", t.max_train_images())
            : std::string("every training image");
    std::cout << absl::StrFormat(
        "created %s: %d model(s) of %s x %d seed(s), %s, N=%d F=%d, %d "
        "epochs, batch %d, lr %g, %s, test split, checkpoint every %d "
        "epoch(s), %s\n",
        response.search_id(), c.final_training().jobs_size(), source,
        c.final_training().seeds(), t.dataset(), t.cells_per_stack(),
        t.filters(), t.epochs(), t.batch_size(), t.learning_rate(), images,
        t.checkpoint_every(), RecipeSummary(t.recipe()));
    finals.push_back(response.search_id());
  }
  return FLAGS_wait ? Wait(**stub, finals) : 0;
}

std::string FinalizeUsage() {
  return "usage: amoeba finalize --search=ID[,ID...] [flags]\n"
         "       amoeba finalize --experiment=NAME [flags]\n\n"
         "Final training, the paper's last stage: the --top_k models of each\n"
         "finished search (by validation fitness, one per genotype;\n"
         "early-stopped children left out) are trained again at the size\n"
         "the training flags give (unset: the search's) on every training\n"
         "image, and measured on the test split. The fleet runs them as a\n"
         "search SOURCE-final of its own (amoeba search list; amoeba report\n"
         "--search=SOURCE-final), with the\n"
         "same leases and retries as children; a job whose worker is lost\n"
         "resumes from its last checkpoint on another worker.\n"
         "--experiment finalizes every search of that experiment; `amoeba\n"
         "compare` then draws the final models.\n\n"
         "flags:\n"
         "  --top_k=K              models per search (default 20)\n"
         "  --seeds=R              training runs per model (default 1)\n"
         "  --checkpoint_every=E   epochs between checkpoints (default 1; 0: "
         "none)\n"
         "  --final_weight=W       share of the fleet (default 1)\n"
         "  --max_attempts=N       failures (lost workers included) before a\n"
         "                         job is given up (default: the controller's)\n"
         "  --wait                 print progress until done (--interval_s,\n"
         "                         --timeout_s)\n"
         "  --N --F --epochs --batch_size --lr --weight_decay\n"
         "  --max_train_images --training_seed   as for `amoeba train`\n"
         "  --recipe=NAME          a preset (`amoeba recipe list`), e.g.\n"
         "                         cifar-final; flags given win over it\n"
         "  --optimizer ... --stem --image_size   the recipe's flags, as for\n"
         "                         `amoeba train`; --dataset=folder\n"
         "                         --stem=imagenet trains the cells on photos\n"
         "                         (workers: --data_dir=folder=DIR)\n\n"
         "connection flags:\n" +
         ConnectionFlagsHelp();
}

}  // namespace amoeba
