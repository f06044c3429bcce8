// The leases of running children: which worker holds which child, in which
// attempt, until when. This class alone grants, renews, expires and releases
// them, and it owns the protocol's central invariant:
//
//   a child has at most one lease, and a worker's lease list is exactly the
//   leases naming it.
//
// Reconciliation: every request of a worker carries a WorkerView (what it
// holds, and how far its requests have settled). A lease the worker does
// not hold is an *orphan* when the request that granted it has settled (its
// answer was lost, or it was granted to an earlier incarnation of the
// worker); orphans are released at once instead of waiting for expiry. A
// held task that is not the worker's current lease must be cancelled.
// Stale or reordered views are harmless: a lease is judged only against the
// view's own `settled`, and a task handed out again gets a new attempt.
//
// Pure: no I/O, no clock of its own (callers pass `now`), no locking. The
// caller serializes calls (Search holds its mutex).
#ifndef AMOEBA_CONTROLLER_LEASE_TABLE_H_
#define AMOEBA_CONTROLLER_LEASE_TABLE_H_

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace amoeba {

struct Lease {
  int64_t child = 0;
  std::string worker_id;
  int attempt = 0;
  // The worker incarnation and the request number that granted the lease.
  // Both 0 for a lease restored from the store after a controller restart
  // (which request granted it is not known).
  uint64_t incarnation = 0;
  uint64_t grant_sequence = 0;
  absl::Time deadline;
};

// One task a worker holds: (child, attempt).
struct HeldTaskRef {
  int64_t child = 0;
  int attempt = 0;
  bool operator==(const HeldTaskRef& o) const {
    return child == o.child && attempt == o.attempt;
  }
};

// What a worker said of itself in one request (proto WorkerView).
struct WorkerViewRef {
  uint64_t incarnation = 0;  // 0: no view; reconcile nothing
  uint64_t sequence = 0;
  uint64_t settled = 0;
  std::vector<HeldTaskRef> held;
};

struct Reconciliation {
  std::vector<Lease> orphans;       // released: the worker does not hold them
  std::vector<HeldTaskRef> cancel;  // held, but not the worker's lease
};

class LeaseTable {
 public:
  explicit LeaseTable(absl::Duration timeout) : timeout_(timeout) {}

  // REQUIRES: `child` has no lease.
  void Grant(int64_t child, const std::string& worker_id, int attempt,
             uint64_t incarnation, uint64_t grant_sequence, absl::Time now);

  // nullptr when `child` has no lease. Valid until the next non-const call.
  const Lease* Find(int64_t child) const;
  // Whether (worker, attempt) holds the lease of `child`.
  bool IsCurrent(int64_t child, const std::string& worker_id,
                 int attempt) const;
  // Extends the lease when (worker, attempt) is current; false otherwise.
  bool Renew(int64_t child, const std::string& worker_id, int attempt,
             absl::Time now);

  // Removes and returns the lease of `child` (nullopt when none).
  std::optional<Lease> Release(int64_t child);
  // Removes and returns every lease of `worker_id` granted to an incarnation
  // older than `incarnation` (the worker restarted). Restored leases stay:
  // Reconcile decides them.
  std::vector<Lease> ReleaseOlderIncarnations(const std::string& worker_id,
                                              uint64_t incarnation);
  // Removes and returns every lease.
  std::vector<Lease> ReleaseAll();
  // Removes and returns the leases whose deadline is at or before `now`.
  std::vector<Lease> TakeExpired(absl::Time now);

  // Applies one view of `worker_id` (see the file comment): held current
  // leases are renewed (and adopted by the view's incarnation), orphans
  // released and returned, stale held tasks listed for cancelling.
  // A view with incarnation 0 changes nothing.
  Reconciliation Reconcile(const std::string& worker_id,
                           const WorkerViewRef& view, absl::Time now);

  // The children `worker_id` holds a lease for, by id.
  std::vector<int64_t> ChildrenOf(const std::string& worker_id) const;
  size_t size() const { return by_child_.size(); }
  const std::map<int64_t, Lease>& leases() const { return by_child_; }

  // Internal if the two indexes disagree (a bug); for tests and the
  // simulation.
  absl::Status CheckInvariants() const;

 private:
  void Erase(std::map<int64_t, Lease>::iterator it);

  const absl::Duration timeout_;
  std::map<int64_t, Lease> by_child_;
  std::map<std::string, std::set<int64_t>> by_worker_;
};

}  // namespace amoeba

#endif  // AMOEBA_CONTROLLER_LEASE_TABLE_H_
