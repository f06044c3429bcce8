#include "controller/lease_table.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "glog/logging.h"

namespace amoeba {

void LeaseTable::Grant(int64_t child, const std::string& worker_id, int attempt,
                       uint64_t incarnation, uint64_t grant_sequence,
                       absl::Time now) {
  CHECK(by_child_.count(child) == 0) << "child " << child << " is leased twice";
  by_child_[child] = Lease{child,       worker_id,      attempt,
                           incarnation, grant_sequence, now + timeout_};
  by_worker_[worker_id].insert(child);
}

const Lease* LeaseTable::Find(int64_t child) const {
  auto it = by_child_.find(child);
  return it == by_child_.end() ? nullptr : &it->second;
}

bool LeaseTable::IsCurrent(int64_t child, const std::string& worker_id,
                           int attempt) const {
  const Lease* lease = Find(child);
  return lease != nullptr && lease->worker_id == worker_id &&
         lease->attempt == attempt;
}

bool LeaseTable::Renew(int64_t child, const std::string& worker_id, int attempt,
                       absl::Time now) {
  auto it = by_child_.find(child);
  if (it == by_child_.end() || it->second.worker_id != worker_id ||
      it->second.attempt != attempt) {
    return false;
  }
  it->second.deadline = std::max(it->second.deadline, now + timeout_);
  return true;
}

void LeaseTable::Erase(std::map<int64_t, Lease>::iterator it) {
  auto worker = by_worker_.find(it->second.worker_id);
  if (worker != by_worker_.end()) {
    worker->second.erase(it->first);
    if (worker->second.empty()) by_worker_.erase(worker);
  }
  by_child_.erase(it);
}

std::optional<Lease> LeaseTable::Release(int64_t child) {
  auto it = by_child_.find(child);
  if (it == by_child_.end()) return std::nullopt;
  Lease lease = it->second;
  Erase(it);
  return lease;
}

std::vector<Lease> LeaseTable::ReleaseOlderIncarnations(
    const std::string& worker_id, uint64_t incarnation) {
  std::vector<Lease> released;
  for (int64_t child : ChildrenOf(worker_id)) {
    auto it = by_child_.find(child);
    // A restored lease (incarnation 0) is left to Reconcile: whether the
    // worker still holds it is not known until it says so.
    if (it->second.incarnation != 0 && it->second.incarnation < incarnation) {
      released.push_back(it->second);
      Erase(it);
    }
  }
  return released;
}

std::vector<Lease> LeaseTable::ReleaseAll() {
  std::vector<Lease> released;
  for (auto& [child, lease] : by_child_) released.push_back(lease);
  by_child_.clear();
  by_worker_.clear();
  return released;
}

std::vector<Lease> LeaseTable::TakeExpired(absl::Time now) {
  std::vector<Lease> expired;
  for (auto it = by_child_.begin(); it != by_child_.end();) {
    auto next = std::next(it);
    if (it->second.deadline <= now) {
      expired.push_back(it->second);
      Erase(it);
    }
    it = next;
  }
  return expired;
}

Reconciliation LeaseTable::Reconcile(const std::string& worker_id,
                                     const WorkerViewRef& view,
                                     absl::Time now) {
  Reconciliation out;
  if (view.incarnation == 0) return out;
  std::set<std::pair<int64_t, int>> held_tasks;
  for (const HeldTaskRef& held : view.held) {
    held_tasks.insert({held.child, held.attempt});
    auto it = by_child_.find(held.child);
    if (it != by_child_.end() && it->second.worker_id == worker_id &&
        it->second.attempt == held.attempt) {
      it->second.deadline = std::max(it->second.deadline, now + timeout_);
      if (it->second.incarnation < view.incarnation) {
        // Restored after a controller restart, or granted just before the
        // worker's registration reached us: this incarnation holds it.
        it->second.incarnation = view.incarnation;
        it->second.grant_sequence = 0;
      }
    } else {
      out.cancel.push_back(held);
    }
  }
  // Every request numbered below this one has returned to the worker.
  const bool quiescent = view.settled + 1 >= view.sequence;
  for (int64_t child : ChildrenOf(worker_id)) {
    auto it = by_child_.find(child);
    const Lease& lease = it->second;
    // Judged by (child, attempt): a worker may still deliver an older
    // attempt's result while the answer granting a newer one was lost.
    if (held_tasks.count({child, lease.attempt}) > 0) continue;
    bool orphan = false;
    if (lease.incarnation == 0) {
      orphan = quiescent;
    } else if (lease.incarnation < view.incarnation) {
      orphan = true;
    } else if (lease.incarnation == view.incarnation) {
      orphan = lease.grant_sequence <= view.settled;
    }  // else: the view is from an older incarnation; it says nothing.
    if (orphan) {
      out.orphans.push_back(lease);
      Erase(it);
    }
  }
  return out;
}

std::vector<int64_t> LeaseTable::ChildrenOf(
    const std::string& worker_id) const {
  auto it = by_worker_.find(worker_id);
  if (it == by_worker_.end()) return {};
  return std::vector<int64_t>(it->second.begin(), it->second.end());
}

absl::Status LeaseTable::CheckInvariants() const {
  size_t indexed = 0;
  for (const auto& [worker, children] : by_worker_) {
    if (children.empty()) {
      return absl::InternalError(
          absl::StrCat("worker ", worker, " has an empty lease list"));
    }
    for (int64_t child : children) {
      auto it = by_child_.find(child);
      if (it == by_child_.end() || it->second.worker_id != worker) {
        return absl::InternalError(absl::StrCat(
            "worker ", worker, " lists child ", child, " without its lease"));
      }
      ++indexed;
    }
  }
  if (indexed != by_child_.size()) {
    return absl::InternalError(absl::StrCat(by_child_.size(), " leases but ",
                                            indexed, " in the worker index"));
  }
  return absl::OkStatus();
}

}  // namespace amoeba
