// The weights of searches with inheritance: who may read and write them,
// and when they go (the invariant is stated in controller.h).
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "controller/controller.h"
#include "glog/logging.h"

namespace amoeba {

absl::Status Controller::CheckInherits(const Search& search) {
  if (!search.options().inheritance.enabled) {
    return absl::FailedPreconditionError(absl::StrCat(
        "search ", search.search_id(), " does not inherit weights"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::pair<std::string, int64_t>> Controller::ParentWeightsKey(
    const v1::CheckpointRequest& request) {
  if (weights_ == nullptr) {
    return absl::FailedPreconditionError("this controller keeps no weights");
  }
  absl::StatusOr<Search*> search = Find(request.search_id());
  if (!search.ok() || request.search_id().empty()) {
    return absl::InvalidArgumentError("weights of an unknown search");
  }
  RETURN_IF_ERROR(CheckInherits(**search));
  RETURN_IF_ERROR((*search)->CheckHolder(request.worker_id(),
                                         request.model_id(), request.attempt()));
  // The parent comes from the child's own record, never from the request:
  // a child starts from its own parent's weights or from none.
  const int64_t parent = (*search)->InheritsFrom(request.model_id());
  if (parent <= 0) {
    return absl::NotFoundError(absl::StrCat(
        "child ", request.model_id(), " inherits no weights"));
  }
  return std::make_pair(request.search_id(), parent);
}

void Controller::DropUnneededWeights(Search& search) {
  if (weights_ == nullptr || !search.options().inheritance.enabled) return;
  const std::vector<int64_t> kept = weights_->Children(search.search_id());
  if (kept.empty()) return;
  for (int64_t model : search.WeightsNotNeeded(kept)) {
    weights_->Remove(search.search_id(), model);
  }
}

void Controller::SweepWeights() {
  if (weights_ == nullptr) return;
  int removed = 0;
  for (const auto& [search_id, model] : weights_->List()) {
    absl::StatusOr<Search*> search = Find(search_id);
    if (search.ok() && (*search)->options().inheritance.enabled &&
        (*search)->WeightsNotNeeded({model}).empty()) {
      continue;
    }
    weights_->Remove(search_id, model);
    ++removed;
  }
  if (removed > 0) {
    LOG(INFO) << "removed the weights of " << removed
              << " model(s) no child can inherit from any more";
  }
}

}  // namespace amoeba
