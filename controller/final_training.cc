// Controller::CreateFinal: the final-training stage after a search (the
// paper's "augmented" models). A final search is an ordinary search of
// algorithm final whose children are fixed (search_config.cc,
// FinalChildren), so it runs on the same leases, attempts, fair share and
// durability as any search; this file only chooses the models and the
// settings.
#include <algorithm>
#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/status_macros.h"
#include "controller/controller.h"
#include "glog/logging.h"

namespace amoeba {
namespace {

constexpr int kDefaultTopK = 20;  // the paper's "top 20 models"
constexpr int kMaxTopK = 1000;

absl::Status Invalid(const std::string& why) {
  return absl::InvalidArgumentError(why);
}

// The best `k` models of `search` that trained every epoch, best first,
// one per genotype: aging evolution evaluates a genotype again and again
// (identity mutations, a parent's copies), and training the same network
// twice is what --seeds is for.
absl::StatusOr<std::vector<v1::FinalJob>> TopModels(Search& search, int k) {
  v1::ListModelsRequest request;
  request.set_search_id(search.search_id());
  request.set_filter(v1::ListModelsRequest::HISTORY);
  request.set_order(v1::ListModelsRequest::BY_FITNESS);
  request.set_page_size(kMaxTopK);
  std::vector<v1::FinalJob> jobs;
  std::set<std::string> genotypes;
  while (static_cast<int>(jobs.size()) < k) {
    ASSIGN_OR_RETURN(v1::ListModelsResponse page, search.ListModels(request));
    for (const v1::ModelSummary& model : page.models()) {
      // An early-stopped child's fitness is of fewer epochs: not comparable.
      if (model.stopped_epoch() > 0) continue;
      if (!genotypes.insert(model.fingerprint()).second) continue;
      v1::FinalJob job;
      job.set_search_id(search.search_id());
      job.set_model_id(model.id());
      job.set_genotype(model.genotype_text());
      job.set_fitness(model.fitness());
      jobs.push_back(std::move(job));
      if (static_cast<int>(jobs.size()) == k) break;
    }
    if (page.next_page_token().empty()) break;
    request.set_page_token(page.next_page_token());
  }
  return jobs;
}

}  // namespace

absl::StatusOr<Search*> Controller::CreateFinal(
    const v1::CreateFinalRequest& request) {
  if (request.source_search_ids().empty()) {
    return Invalid("source_search_ids: name at least one finished search");
  }
  const int top_k = request.has_top_k() ? request.top_k() : kDefaultTopK;
  if (top_k < 1 || top_k > kMaxTopK) {
    return Invalid(absl::StrFormat("top_k must be in 1..%d, got %d", kMaxTopK,
                                   top_k));
  }
  v1::SearchConfig config;
  config.set_algorithm(AlgorithmName(Algorithm::kFinal));
  v1::FinalTraining* final_training = config.mutable_final_training();
  final_training->set_seeds(request.has_seeds() ? request.seeds() : 1);
  for (const std::string& id : request.source_search_ids()) {
    absl::StatusOr<Search*> source = Find(id);
    if (!source.ok()) {
      return Invalid(absl::StrCat("source search '", id, "': ",
                                  source.status().message()));
    }
    Search& search = **source;
    if (search.options().engine.algorithm == Algorithm::kFinal) {
      return Invalid(absl::StrCat("source search '", id,
                                  "' is a final training, not a search"));
    }
    if (!search.Finished()) {
      const v1::SearchStatus status = search.Status();
      return Invalid(absl::StrFormat(
          "source search '%s' is not finished (%d of %d children done); "
          "finalize it once its budget is done",
          id, status.done(), search.options().engine.budget));
    }
    ASSIGN_OR_RETURN(std::vector<v1::FinalJob> jobs, TopModels(search, top_k));
    if (jobs.empty()) {
      return Invalid(absl::StrCat("source search '", id,
                                  "' has no model that trained every epoch"));
    }
    for (v1::FinalJob& job : jobs) *final_training->add_jobs() = std::move(job);
  }
  ASSIGN_OR_RETURN(Search * first, Find(request.source_search_ids(0)));
  v1::TrainingSettings* settings = config.mutable_settings();
  *settings = first->options().settings;
  settings->MergeFrom(request.settings());
  settings->set_final_training(true);
  settings->set_validation_images(0);
  if (request.has_weight()) config.set_weight(request.weight());
  if (request.has_max_attempts()) config.set_max_attempts(request.max_attempts());
  if (request.has_lease_timeout_s()) {
    config.set_lease_timeout_s(request.lease_timeout_s());
  }
  const std::string name =
      request.search_id().empty()
          ? absl::StrCat(request.source_search_ids(0), "-final")
          : request.search_id();
  absl::StatusOr<Search*> created = CreateSearch(name, config);
  if (created.ok()) {
    LOG(INFO) << "final training " << name << ": "
              << final_training->jobs_size() << " models x "
              << final_training->seeds() << " seeds at N="
              << settings->cells_per_stack() << " F=" << settings->filters()
              << ", " << settings->epochs() << " epochs";
  }
  return created;
}

}  // namespace amoeba
