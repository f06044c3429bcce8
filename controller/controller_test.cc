// The Controller: searches created at run time in one real SQLite store,
// every worker serving every search, the fair share by weight, and a
// restart restoring every search.
#include "controller/controller.h"

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "catch2/catch.hpp"
#include "common/clock.h"
#include "store/test_rows.h"
#include "testing/test_files.h"

namespace amoeba {
namespace {

v1::SearchConfig Config(const std::string& algorithm, int64_t budget,
                        double weight = 1) {
  v1::SearchConfig c;
  c.set_algorithm(algorithm);
  c.set_population_size(4);
  c.set_sample_size(2);
  c.set_budget(budget);
  c.set_weight(weight);
  return c;
}

ControllerDefaults Defaults() {
  ControllerDefaults d;
  d.lease_timeout = absl::Seconds(60);
  d.heartbeat_interval = absl::Seconds(10);
  d.max_attempts = 2;
  return d;
}

struct Harness {
  explicit Harness(const std::string& name) : path(FreshSqlitePath(name)) {
    Reopen();
  }
  void Reopen() {
    controller.reset();
    auto store = Store::Open(path);
    REQUIRE(store.ok());
    auto opened = Controller::Open(*std::move(store), Defaults(), &clock);
    INFO(opened.status().ToString());
    REQUIRE(opened.ok());
    controller = *std::move(opened);
  }
  Search* Create(const std::string& id, const v1::SearchConfig& config) {
    auto search = controller->CreateSearch(id, config);
    INFO(search.status().ToString());
    REQUIRE(search.ok());
    return *search;
  }
  void Register(const std::string& worker) {
    v1::RegisterRequest request;
    request.set_worker_id(worker);
    request.set_incarnation(1);
    REQUIRE(controller->Register(request).ok());
    sequence[worker] = 0;
  }
  // A GetTask with a view that holds `held`; every earlier request settled.
  v1::GetTaskResponse Ask(const std::string& worker,
                          const std::vector<v1::Task>& held = {}) {
    v1::GetTaskRequest request;
    request.set_worker_id(worker);
    v1::WorkerView* view = request.mutable_view();
    view->set_incarnation(1);
    view->set_sequence(++sequence[worker]);
    view->set_settled(sequence[worker] - 1);
    for (const v1::Task& t : held) {
      v1::HeldTask* h = view->add_held();
      h->set_model_id(t.model_id());
      h->set_attempt(t.attempt());
      h->set_search_id(t.search_id());
    }
    auto response = controller->GetTask(request);
    INFO(response.status().ToString());
    REQUIRE(response.ok());
    return *response;
  }
  v1::ResultReport Result(const std::string& worker, const v1::Task& task,
                          double fitness) {
    v1::ResultReport report;
    report.set_worker_id(worker);
    report.set_search_id(task.search_id());
    report.set_model_id(task.model_id());
    report.set_attempt(task.attempt());
    report.set_ok(true);
    report.set_fitness(fitness);
    v1::WorkerView* view = report.mutable_view();
    view->set_incarnation(1);
    view->set_sequence(++sequence[worker]);
    view->set_settled(sequence[worker] - 1);
    v1::HeldTask* h = view->add_held();
    h->set_model_id(task.model_id());
    h->set_attempt(task.attempt());
    h->set_search_id(task.search_id());
    return report;
  }

  std::string path;
  FakeClock clock;
  std::unique_ptr<Controller> controller;
  std::map<std::string, uint64_t> sequence;
};

TEST_CASE("CreateSearch validates the config and the id, naming the field") {
  Harness h("create.db");
  auto bad_algorithm = h.controller->CreateSearch("x", Config("evolve", 10));
  CHECK(bad_algorithm.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(std::string(bad_algorithm.status().message()),
             Catch::StartsWith("config.algorithm: "));
  v1::SearchConfig big_sample = Config("aging", 10);
  big_sample.set_sample_size(5);
  auto refused = h.controller->CreateSearch("x", big_sample);
  CHECK(refused.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(std::string(refused.status().message()),
             Catch::Contains("sample size S must be in 1..P (4), got 5"));
  v1::SearchConfig no_weight = Config("aging", 10, -1);
  CHECK_THAT(std::string(
                 h.controller->CreateSearch("x", no_weight).status().message()),
             Catch::Contains("weight must be in (0, 1e6]"));
  v1::SearchConfig bad_dataset = Config("aging", 10);
  bad_dataset.mutable_settings()->set_dataset("imagenet");
  CHECK_THAT(std::string(h.controller->CreateSearch("x", bad_dataset)
                             .status()
                             .message()),
             Catch::Contains("unknown dataset 'imagenet'; known: fashion_mnist, cifar10, folder"));
  CHECK(h.controller->CreateSearch("bad id", Config("aging", 10))
            .status()
            .code() == absl::StatusCode::kInvalidArgument);
  CHECK(h.controller->Searches().empty());  // nothing half-created

  // Unset fields take the documented defaults; an empty id is generated.
  Search* generated = h.Create("", v1::SearchConfig());
  CHECK_THAT(generated->search_id(), Catch::StartsWith("s-"));
  CHECK(generated->search_id().size() == 14);
  const v1::SearchConfig config = generated->Status().config();
  CHECK(config.algorithm() == "aging");
  CHECK(config.population_size() == 100);
  CHECK(config.sample_size() == 25);
  CHECK(config.budget() == 1000);
  CHECK(config.weight() == 1);
  CHECK(config.settings().learning_rate() == 0.05);
  CHECK(config.lease_timeout_s() == 60);  // the controller's default
  // A zero that is set stays zero.
  v1::SearchConfig all_images = Config("aging", 10);
  all_images.mutable_settings()->set_max_train_images(0);
  all_images.mutable_settings()->set_weight_decay(0);
  const v1::SearchConfig kept =
      h.Create("all-images", all_images)->Status().config();
  CHECK(kept.settings().max_train_images() == 0);
  CHECK(kept.settings().weight_decay() == 0);

  CHECK(h.controller->CreateSearch("all-images", Config("aging", 10))
            .status()
            .code() == absl::StatusCode::kAlreadyExists);
  CHECK(h.controller->Find("").status().code() ==
        absl::StatusCode::kInvalidArgument);
  CHECK(h.controller->Find("nope").status().code() ==
        absl::StatusCode::kNotFound);
  CHECK(h.controller->Find("all-images").ok());
}

TEST_CASE("A controller holds at most kMaxSearches searches") {
  Harness h("many.db");
  for (size_t i = 0; i < Controller::kMaxSearches; ++i) {
    h.Create("s" + std::to_string(i), Config("aging", 1));
  }
  CHECK(h.controller->CreateSearch("one-more", Config("aging", 1))
            .status()
            .code() == absl::StatusCode::kResourceExhausted);
  h.Reopen();
  CHECK(h.controller->Searches().size() == Controller::kMaxSearches);
  h.Register("w");
  CHECK(h.Ask("w").has_task());
}

TEST_CASE("Workers are shared by weight; a paused search gets none") {
  Harness h("share.db");
  Search* light = h.Create("light", Config("aging", 100, 1));
  Search* heavy = h.Create("heavy", Config("random", 100, 3));
  std::map<std::string, int> handed;
  for (int i = 0; i < 16; ++i) {
    const std::string worker = "w" + std::to_string(i);
    h.Register(worker);
    const v1::GetTaskResponse answer = h.Ask(worker);
    REQUIRE(answer.has_task());
    ++handed[answer.task().search_id()];
  }
  CHECK(handed["light"] == 4);
  CHECK(handed["heavy"] == 12);
  CHECK(light->Share().leased == 4);
  CHECK(heavy->Share().leased == 12);

  REQUIRE(heavy->Pause().ok());
  for (int i = 16; i < 20; ++i) {
    const std::string worker = "w" + std::to_string(i);
    h.Register(worker);
    const v1::GetTaskResponse answer = h.Ask(worker);
    REQUIRE(answer.has_task());
    CHECK(answer.task().search_id() == "light");
  }
  REQUIRE(light->Pause().ok());
  h.Register("idle");
  const v1::GetTaskResponse none = h.Ask("idle");
  CHECK_FALSE(none.has_task());
  CHECK_FALSE(none.search_finished());
  CHECK(none.retry_after_ms() > 0);
}

TEST_CASE("A fleet smaller than the searches serves them all in turn") {
  Harness h("few-workers.db");
  for (int i = 0; i < 6; ++i) {
    h.Create("s" + std::to_string(i), Config("aging", 100, i == 5 ? 2 : 1));
  }
  h.Register("w");
  std::map<std::string, int> served;
  for (int i = 0; i < 70; ++i) {
    const v1::Task task = h.Ask("w").task();
    ++served[task.search_id()];
    REQUIRE(*h.controller->ReportResult(h.Result("w", task, 0.5)));
  }
  // One worker, one child at a time: every search leases nothing between
  // children, and the least served goes next (the weight-2 one twice as
  // often).
  for (int i = 0; i < 5; ++i) CHECK(served["s" + std::to_string(i)] == 10);
  CHECK(served["s5"] == 20);
}

TEST_CASE("Results go to their own search; child ids repeat across searches") {
  Harness h("route.db");
  h.Create("a", Config("aging", 2));
  h.Create("b", Config("aging", 2));
  h.Register("w");
  h.Register("v");
  const v1::Task first = h.Ask("w").task();
  const v1::Task second = h.Ask("v").task();
  REQUIRE(first.search_id() != second.search_id());
  CHECK(first.model_id() == 1);
  CHECK(second.model_id() == 1);
  // A result naming a search the controller does not run.
  v1::ResultReport stray = h.Result("w", first, 0.5);
  stray.set_search_id("c");
  CHECK(h.controller->ReportResult(stray).status().code() ==
        absl::StatusCode::kInvalidArgument);
  // The other search's child 1 is not w's.
  v1::ResultReport crossed = h.Result("w", first, 0.5);
  crossed.set_search_id(second.search_id());
  CHECK(h.controller->ReportResult(crossed).status().code() ==
        absl::StatusCode::kPermissionDenied);
  REQUIRE(*h.controller->ReportResult(h.Result("w", first, 0.5)));
  Search* a = *h.controller->Find(first.search_id());
  Search* b = *h.controller->Find(second.search_id());
  CHECK(a->Status().done() == 1);
  CHECK(b->Status().done() == 0);
  CHECK(b->Share().leased == 1);  // v still runs its child 1
}

TEST_CASE("A result's ack brings the next child of the search most lacking") {
  Harness h("next.db");
  h.Create("a", Config("aging", 50, 1));
  h.Register("w");
  const v1::Task task = h.Ask("w").task();
  REQUIRE(task.search_id() == "a");
  h.Create("b", Config("aging", 50, 2));
  // a's one lease (w's) ends now: both lack as much, and the heavier, b,
  // comes first.
  v1::ResultReport report = h.Result("w", task, 0.5);
  report.set_next_task(true);
  v1::GetTaskResponse next;
  REQUIRE(*h.controller->ReportResult(report, &next));
  REQUIRE(next.has_task());
  CHECK(next.task().search_id() == "b");
  // With b busy now, the following one is a's again, in the same step.
  v1::ResultReport again = h.Result("w", next.task(), 0.6);
  again.set_next_task(true);
  h.Register("v");
  REQUIRE(h.Ask("v").task().search_id() == "a");
  v1::GetTaskResponse after;
  REQUIRE(*h.controller->ReportResult(again, &after));
  REQUIRE(after.has_task());
  CHECK(after.task().search_id() == "b");
}

TEST_CASE("A search created after a worker registered is served by it") {
  Harness h("late.db");
  h.Register("w");
  const v1::GetTaskResponse nothing = h.Ask("w");
  CHECK_FALSE(nothing.has_task());
  CHECK_FALSE(nothing.search_finished());
  h.Create("late", Config("aging", 5));
  h.Create("later", Config("aging", 5));
  const v1::GetTaskResponse task = h.Ask("w");
  REQUIRE(task.has_task());
  v1::HeartbeatRequest heartbeat;
  heartbeat.set_worker_id("w");
  CHECK(h.controller->Heartbeat(heartbeat).ok());
  // An unknown worker is told to register, with or without searches.
  v1::GetTaskRequest stranger;
  stranger.set_worker_id("stranger");
  CHECK(h.controller->GetTask(stranger).status().code() ==
        absl::StatusCode::kFailedPrecondition);
}

TEST_CASE("A restarted controller restores every search exactly") {
  Harness h("restart.db");
  h.Create("aging", Config("aging", 6));
  h.Create("random", Config("random", 6, 2));
  h.Register("w");
  std::vector<v1::Task> held;
  for (int i = 0; i < 5; ++i) {
    const v1::Task task = h.Ask("w", held).task();
    REQUIRE(*h.controller->ReportResult(h.Result("w", task, 0.1 * i + 0.1)));
  }
  REQUIRE((*h.controller->Find("random"))->Pause().ok());
  std::map<std::string, EngineState> before;
  for (Search* s : h.controller->Searches()) {
    before[s->search_id()] = s->EngineSnapshot();
  }
  h.Reopen();
  REQUIRE(h.controller->Searches().size() == 2);
  for (Search* s : h.controller->Searches()) {
    const EngineState after = s->EngineSnapshot();
    const EngineState& was = before[s->search_id()];
    CHECK(after.rng == was.rng);
    CHECK(after.next_id == was.next_id);
    CHECK(after.completed == was.completed);
    CHECK(after.population.size() == was.population.size());
  }
  CHECK((*h.controller->Find("random"))->Status().state() == v1::PAUSED);
  CHECK((*h.controller->Find("aging"))->Status().state() == v1::RUNNING);
  CHECK((*h.controller->Find("random"))->options().weight == 2);
  // Both finish their budgets exactly, with one worker between them.
  h.Register("w");
  REQUIRE((*h.controller->Find("random"))->Resume().ok());
  for (int i = 0; i < 20; ++i) {
    const v1::GetTaskResponse answer = h.Ask("w");
    if (!answer.has_task()) break;
    REQUIRE(*h.controller->ReportResult(h.Result("w", answer.task(), 0.5)));
  }
  for (Search* s : h.controller->Searches()) {
    CHECK(s->Status().done() == 6);
    CHECK(s->Status().state() == v1::FINISHED);
  }
  CHECK(h.Ask("w").search_finished());
}

TEST_CASE("The search flags create a first search, then must match it") {
  Harness h("flags.db");
  SearchOptions options;
  options.engine.population_size = 4;
  options.engine.sample_size = 2;
  options.engine.budget = 9;
  options.lease_timeout = absl::Seconds(60);
  auto first = h.controller->CreateOrCheckFirstSearch("", options);
  REQUIRE(first.ok());
  const std::string first_id = (*first)->search_id();
  h.Create("other", Config("random", 3));
  h.Reopen();  // *first is gone with the old controller
  auto again = h.controller->CreateOrCheckFirstSearch("", options);
  REQUIRE(again.ok());
  CHECK((*again)->search_id() == first_id);
  options.engine.budget = 10;
  auto changed = h.controller->CreateOrCheckFirstSearch("", options);
  CHECK(changed.status().code() == absl::StatusCode::kFailedPrecondition);
  CHECK_THAT(std::string(changed.status().message()),
             Catch::Contains("setting 'budget' is 9 in the store but 10 now"));
  options.engine.budget = 9;
  options.settings.mutable_recipe()->set_cutout(8);
  changed = h.controller->CreateOrCheckFirstSearch("", options);
  CHECK_THAT(std::string(changed.status().message()),
             Catch::Contains("setting 'cutout' is 0 in the store but 8 now"));
  options.settings.mutable_recipe()->clear_cutout();
  // Naming a new id adds a search to a store that has some.
  auto named = h.controller->CreateOrCheckFirstSearch("named", options);
  REQUIRE(named.ok());
  CHECK(h.controller->Searches().size() == 3);
}

TEST_CASE("A previous-version store opens as a controller of its one search") {
  const std::string path = FreshSqlitePath("v1-controller.db");
  REQUIRE(WritePreviousVersionStore(path).ok());
  auto store = Store::Open(path);
  REQUIRE(store.ok());
  FakeClock clock;
  auto controller = Controller::Open(*std::move(store), Defaults(), &clock);
  INFO(controller.status().ToString());
  REQUIRE(controller.ok());
  auto search = (*controller)->Find("");
  REQUIRE(search.ok());
  const v1::SearchStatus status = (*search)->Status();
  CHECK(status.search_id() == "s-c8b9409b6507");
  CHECK(status.state() == v1::FINISHED);
  CHECK(status.done() == 10);
  CHECK(status.population_members() == 4);
  CHECK(status.config().population_size() == 4);
  CHECK(status.config().sample_size() == 2);
  CHECK(status.config().seed() == 3);
  CHECK(status.config().settings().max_train_images() == 2000);
  // What the old store did not record comes from the controller's flags.
  CHECK(status.config().lease_timeout_s() == 60);
  CHECK(status.config().max_attempts() == 2);
  // The search flags that made it still match it.
  SearchOptions flags;
  flags.engine.population_size = 4;
  flags.engine.sample_size = 2;
  flags.engine.budget = 10;
  flags.engine.seed = 3;
  CHECK((*controller)->CreateOrCheckFirstSearch("", flags).ok());
}

}  // namespace
}  // namespace amoeba
