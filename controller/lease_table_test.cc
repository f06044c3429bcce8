#include "controller/lease_table.h"

#include "catch2/catch.hpp"
#include "common/clock.h"

namespace amoeba {
namespace {

constexpr absl::Duration kTimeout = absl::Seconds(60);

WorkerViewRef View(uint64_t incarnation, uint64_t sequence, uint64_t settled,
                   std::vector<HeldTaskRef> held) {
  return WorkerViewRef{incarnation, sequence, settled, std::move(held)};
}

TEST_CASE("a lease is granted once, renewed only by its holder, and expires") {
  FakeClock clock;
  LeaseTable table(kTimeout);
  table.Grant(7, "a", 1, 1, 1, clock.Now());
  CHECK(table.IsCurrent(7, "a", 1));
  CHECK_FALSE(table.IsCurrent(7, "a", 2));
  CHECK_FALSE(table.IsCurrent(7, "b", 1));
  clock.Advance(absl::Seconds(50));
  CHECK_FALSE(table.Renew(7, "b", 1, clock.Now()));  // not the holder
  CHECK(table.TakeExpired(clock.Now() + absl::Seconds(10)).size() == 1);
  REQUIRE(table.size() == 0);
  table.Grant(7, "a", 2, 1, 2, clock.Now());
  clock.Advance(absl::Seconds(50));
  CHECK(table.Renew(7, "a", 2, clock.Now()));
  clock.Advance(absl::Seconds(50));
  CHECK(table.TakeExpired(clock.Now()).empty());  // renewed at 50 s
  clock.Advance(absl::Seconds(10));
  CHECK(table.TakeExpired(clock.Now()).size() == 1);
  CHECK(table.CheckInvariants().ok());
}

TEST_CASE("a lease whose granting request settled without it is an orphan") {
  FakeClock clock;
  LeaseTable table(kTimeout);
  // Request 3 granted child 5; its answer was lost.
  table.Grant(5, "w", 1, 9, 3, clock.Now());
  // A view sent while request 3 was still out says nothing of it.
  Reconciliation early = table.Reconcile("w", View(9, 4, 2, {}), clock.Now());
  CHECK(early.orphans.empty());
  CHECK(table.Find(5) != nullptr);
  // Once request 3 has returned and the worker still does not hold 5, the
  // lease is released.
  Reconciliation late = table.Reconcile("w", View(9, 5, 4, {}), clock.Now());
  REQUIRE(late.orphans.size() == 1);
  CHECK(late.orphans[0].child == 5);
  CHECK(table.size() == 0);
  CHECK(table.CheckInvariants().ok());
}

TEST_CASE("held tasks that are not the worker's lease are cancelled") {
  FakeClock clock;
  LeaseTable table(kTimeout);
  table.Grant(1, "w", 1, 2, 1, clock.Now());
  table.Grant(2, "other", 3, 1, 1, clock.Now());
  Reconciliation r = table.Reconcile(
      "w", View(2, 3, 2, {{1, 1}, {2, 2}, {3, 1}}), clock.Now());
  CHECK(r.orphans.empty());
  REQUIRE(r.cancel.size() == 2);
  CHECK(r.cancel[0] == HeldTaskRef{2, 2});  // reassigned to `other`
  CHECK(r.cancel[1] == HeldTaskRef{3, 1});  // no lease at all
  CHECK(table.IsCurrent(2, "other", 3));    // a stale holder disturbs nothing
}

TEST_CASE(
    "held tasks renew their leases; a view without incarnation changes "
    "nothing") {
  FakeClock clock;
  LeaseTable table(kTimeout);
  table.Grant(1, "w", 1, 2, 1, clock.Now());
  clock.Advance(absl::Seconds(59));
  table.Reconcile("w", View(2, 2, 1, {{1, 1}}), clock.Now());
  clock.Advance(absl::Seconds(30));
  CHECK(table.TakeExpired(clock.Now()).empty());
  Reconciliation none = table.Reconcile("w", View(0, 0, 0, {}), clock.Now());
  CHECK(none.orphans.empty());
  CHECK(table.size() == 1);
}

TEST_CASE(
    "a restarted worker's old leases are released; a stale view of the old "
    "process changes nothing") {
  FakeClock clock;
  LeaseTable table(kTimeout);
  table.Grant(1, "w", 1, 5, 1, clock.Now());
  table.Grant(2, "w", 1, 6, 1, clock.Now());
  // A delayed view of incarnation 5 says nothing of incarnation 6's lease.
  Reconciliation stale = table.Reconcile("w", View(5, 9, 9, {}), clock.Now());
  REQUIRE(stale.orphans.size() == 1);
  CHECK(stale.orphans[0].child == 1);
  CHECK(table.Find(2) != nullptr);
  table.Grant(3, "w", 1, 6, 2, clock.Now());
  table.Grant(4, "w", 1, 0, 0, clock.Now());  // restored: left to Reconcile
  std::vector<Lease> released = table.ReleaseOlderIncarnations("w", 7);
  CHECK(released.size() == 2);
  CHECK(table.size() == 1);
  CHECK(table.Find(4) != nullptr);
}

TEST_CASE(
    "a lease restored after a controller restart is adopted or released when "
    "the worker is quiescent") {
  FakeClock clock;
  LeaseTable table(kTimeout);
  table.Grant(1, "w", 2, 0, 0, clock.Now());
  table.Grant(2, "w", 1, 0, 0, clock.Now());
  // Request 4 is sent while request 3 is still out: an unknown grant could
  // be in it, so the restored lease of child 2 stays.
  Reconciliation busy =
      table.Reconcile("w", View(8, 4, 2, {{1, 2}}), clock.Now());
  CHECK(busy.orphans.empty());
  CHECK(table.Find(1)->incarnation == 8);  // adopted
  Reconciliation quiet =
      table.Reconcile("w", View(8, 5, 4, {{1, 2}}), clock.Now());
  REQUIRE(quiet.orphans.size() == 1);
  CHECK(quiet.orphans[0].child == 2);
  CHECK(table.IsCurrent(1, "w", 2));
  CHECK(table.ReleaseAll().size() == 1);
  CHECK(table.CheckInvariants().ok());
}

TEST_CASE("an older attempt still held does not shield a newer orphaned one") {
  FakeClock clock;
  LeaseTable table(kTimeout);
  // The worker still delivers attempt 1's result; attempt 2 of the same
  // child was granted by request 4, whose answer was lost.
  table.Grant(5, "w", 2, 3, 4, clock.Now());
  Reconciliation r = table.Reconcile("w", View(3, 6, 5, {{5, 1}}), clock.Now());
  REQUIRE(r.orphans.size() == 1);
  CHECK(r.orphans[0].attempt == 2);
  REQUIRE(r.cancel.size() == 1);
  CHECK(r.cancel[0] == HeldTaskRef{5, 1});
  CHECK(table.size() == 0);
}

}  // namespace
}  // namespace amoeba
