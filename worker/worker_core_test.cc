#include "worker/worker_core.h"

#include "catch2/catch.hpp"

namespace amoeba {
namespace {

v1::GetTaskResponse Answer(int64_t child, int attempt) {
  v1::GetTaskResponse response;
  response.mutable_task()->set_model_id(child);
  response.mutable_task()->set_attempt(attempt);
  response.mutable_task()->set_search_id("s-1");
  return response;
}

EvaluationResult Fit(double fitness) {
  EvaluationResult r;
  r.ok = true;
  r.fitness = fitness;
  return r;
}

TEST_CASE("views number requests and settle only what returned") {
  WorkerCore core("w", 2, 7, "simulated");
  v1::WorkerView a = core.BeginRequest();
  v1::WorkerView b = core.BeginRequest();
  CHECK(a.incarnation() == 7);
  CHECK(a.sequence() == 1);
  CHECK(a.settled() == 0);
  CHECK(b.sequence() == 2);
  CHECK(b.settled() == 0);  // request 1 is still out
  core.EndRequest(b.sequence());
  CHECK(core.BeginRequest().settled() == 0);  // 1 is still out, 3 now too
  core.EndRequest(1);
  core.EndRequest(3);
  v1::WorkerView d = core.BeginRequest();
  CHECK(d.sequence() == 4);
  CHECK(d.settled() == 3);
}

TEST_CASE("a task is held from acceptance until its result is delivered") {
  WorkerCore core("w", 1, 1, "simulated");
  auto task = core.TakeTask(0, Answer(5, 1));
  REQUIRE(task.has_value());
  CHECK(core.BeginRequest().held_size() == 1);
  auto report = core.Finish(0, *task, Fit(0.5), false);
  REQUIRE(report.has_value());
  CHECK(report->search_id() == "s-1");
  CHECK(report->ok());
  CHECK(core.Held().size() == 1);  // still held while it is delivered
  core.Delivered({"s-1", 5, 1});
  CHECK(core.Held().empty());
  CHECK(core.BeginRequest().held_size() == 0);
}

TEST_CASE("one child is never in two slots") {
  WorkerCore core("w", 2, 1, "simulated");
  auto first = core.TakeTask(0, Answer(5, 1));
  REQUIRE(first.has_value());
  // The same answer again (a duplicated response) is not run.
  CHECK_FALSE(core.TakeTask(1, Answer(5, 1)).has_value());
  CHECK(core.Busy() == 1);
  // A newer attempt of the child cancels the older slot.
  auto newer = core.TakeTask(1, Answer(5, 2));
  REQUIRE(newer.has_value());
  CHECK(core.Cancelled(0));
  CHECK_FALSE(core.Finish(0, *first, Fit(0.9), false).has_value());
  CHECK(core.Held() == std::vector<TaskKey>{{"s-1", 5, 2}});
}

TEST_CASE(
    "cancels from the controller stop running tasks, not pending results") {
  WorkerCore core("w", 2, 1, "simulated");
  auto a = core.TakeTask(0, Answer(1, 1));
  auto b = core.TakeTask(1, Answer(2, 1));
  REQUIRE(a.has_value());
  REQUIRE(b.has_value());
  REQUIRE(
      core.Finish(1, *b, Fit(0.4), false).has_value());  // waits for delivery
  v1::GetTaskResponse answer;
  for (int64_t child : {1, 2}) {
    v1::HeldTask* c = answer.add_cancel();
    c->set_model_id(child);
    c->set_attempt(1);
    c->set_search_id("s-1");
  }
  CHECK_FALSE(core.TakeTask(1, answer).has_value());
  CHECK(core.Cancelled(0));
  CHECK_FALSE(core.Cancelled(1));
  CHECK(core.Held().size() == 2);
}

TEST_CASE("children of different searches with the same id are different tasks") {
  WorkerCore core("w", 2, 1, "simulated");
  v1::GetTaskResponse other = Answer(5, 1);
  other.mutable_task()->set_search_id("s-2");
  REQUIRE(core.TakeTask(0, Answer(5, 1)).has_value());
  REQUIRE(core.TakeTask(1, other).has_value());
  CHECK_FALSE(core.Cancelled(0));
  // A cancel names its search: only that search's child 5 stops.
  v1::GetTaskResponse cancel;
  v1::HeldTask* c = cancel.add_cancel();
  c->set_model_id(5);
  c->set_attempt(1);
  c->set_search_id("s-2");
  core.Cancel(cancel.cancel());
  CHECK_FALSE(core.Cancelled(0));
  CHECK(core.Cancelled(1));
  v1::WorkerView view = core.BeginRequest();
  REQUIRE(view.held_size() == 2);
  CHECK(view.held(0).search_id() == "s-1");
  CHECK(view.held(1).search_id() == "s-2");
}

TEST_CASE("a stopping worker hands its tasks back as preempted") {
  WorkerCore core("w", 1, 1, "simulated");
  auto task = core.TakeTask(0, Answer(3, 2));
  REQUIRE(task.has_value());
  EvaluationResult cancelled;
  cancelled.cancelled = true;
  auto report = core.Finish(0, *task, cancelled, /*stopping=*/true);
  REQUIRE(report.has_value());
  CHECK(report->preempted());
  CHECK_FALSE(report->ok());
}

TEST_CASE("a failure text is made valid UTF-8 and short enough to be accepted") {
  WorkerCore core("w", 1, 1, "simulated");
  auto task = core.TakeTask(0, Answer(3, 1));
  REQUIRE(task.has_value());
  EvaluationResult failed;
  failed.failure = "bad \xff\xfe bytes \xc3\xa9 " + std::string(10000, 'x');
  auto report = core.Finish(0, *task, failed, false);
  REQUIRE(report.has_value());
  CHECK(report->failure().rfind("bad ?? bytes \xc3\xa9 x", 0) == 0);
  CHECK(report->failure().size() <= 4000);
  // It serializes and parses back (a proto3 string must be UTF-8).
  v1::ResultReport parsed;
  CHECK(parsed.ParseFromString(report->SerializeAsString()));
}

}  // namespace
}  // namespace amoeba
