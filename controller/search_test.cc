// Focused tests of Search's protocol rules, driven directly (no gRPC) with a
// fake clock and a real SQLite store. The simulation (simulation/) checks
// the same rules under random faults.
#include "controller/controller.h"
#include "controller/search.h"

#include <atomic>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>

#include "catch2/catch.hpp"
#include "common/clock.h"
#include "settings/recipes.h"
#include "testing/test_files.h"

namespace amoeba {
namespace {

SearchOptions Options() {
  SearchOptions o;
  o.engine.algorithm = Algorithm::kAging;
  o.engine.population_size = 2;
  o.engine.sample_size = 2;
  o.engine.budget = 4;
  o.engine.seed = 3;
  o.settings.set_dataset("fashion_mnist");
  o.settings.set_cells_per_stack(1);
  o.settings.set_filters(8);
  o.settings.set_epochs(1);
  o.settings.set_batch_size(16);
  o.lease_timeout = absl::Seconds(60);
  o.heartbeat_interval = absl::Seconds(10);
  o.max_attempts = 2;
  return o;
}

struct Harness {
  explicit Harness(const std::string& name, SearchOptions options = Options())
      : path(FreshSqlitePath(name)), options(options) {
    Reopen();
  }
  void Reopen() {
    Close();
    auto opened = OpenSingleSearchController(path, options, &clock);
    INFO(opened.status().ToString());
    REQUIRE(opened.ok());
    controller = *std::move(opened);
    search = controller->Searches().front();
  }
  void Close() {
    search = nullptr;
    controller.reset();
  }
  // A worker of this version (kTrainingRecipeFeature) unless `old`.
  void Register(const std::string& worker, uint64_t incarnation = 1,
                bool old = false) {
    v1::RegisterRequest request;
    request.set_worker_id(worker);
    request.set_incarnation(incarnation);
    if (!old) request.add_features(kTrainingRecipeFeature);
    REQUIRE(search->Register(request).ok());
  }
  // `worker` asks a few times and gets no task, only a time to ask again.
  void RequireNoTaskFor(const std::string& worker) {
    v1::GetTaskRequest ask;
    ask.set_worker_id(worker);
    for (int i = 0; i < 3; ++i) {
      auto answer = search->GetTask(ask);
      REQUIRE(answer.ok());
      CHECK_FALSE(answer->has_task());
      CHECK(answer->retry_after_ms() > 0);
    }
  }
  v1::Task Take(const std::string& worker) {
    v1::GetTaskRequest request;
    request.set_worker_id(worker);
    auto response = search->GetTask(request);
    REQUIRE(response.ok());
    REQUIRE(response->has_task());
    return response->task();
  }
  // `worker`'s report of `task`, not yet saying how it went.
  static v1::ResultReport ReportOf(const std::string& worker,
                                   const v1::Task& task) {
    v1::ResultReport report;
    report.set_worker_id(worker);
    report.set_model_id(task.model_id());
    report.set_attempt(task.attempt());
    report.set_search_id(task.search_id());
    return report;
  }
  absl::StatusOr<bool> Report(const std::string& worker, const v1::Task& task,
                              bool ok, bool preempted = false,
                              double fitness = 0.5) {
    v1::ResultReport report = ReportOf(worker, task);
    report.set_ok(ok);
    report.set_fitness(fitness);
    report.set_failure(ok ? "" : preempted ? "worker stopping" : "error");
    report.set_preempted(preempted);
    return search->ReportResult(report);
  }
  v1::ModelSummary Model(int64_t id) {
    auto model = search->GetModel(id);
    REQUIRE(model.ok());
    return model->model();
  }

  FakeClock clock;
  std::string path;
  SearchOptions options;
  std::unique_ptr<Controller> controller;
  Search* search = nullptr;
};

TEST_CASE("a stale failure does not disturb the newer attempt") {
  Harness h("stale-failure.db");
  h.Register("a");
  h.Register("b");
  const v1::Task first = h.Take("a");
  h.clock.Advance(absl::Seconds(61));
  h.search->ExpireLeases();  // a went silent: the child goes to b
  const v1::Task second = h.Take("b");
  REQUIRE(second.model_id() == first.model_id());
  REQUIRE(second.attempt() == 2);
  // a's late "worker stopping" and error reports are ignored...
  CHECK_FALSE(*h.Report("a", first, /*ok=*/false, /*preempted=*/true));
  CHECK_FALSE(*h.Report("a", first, /*ok=*/false));
  CHECK(h.Model(first.model_id()).state() == v1::MODEL_RUNNING);
  // ...and b's success counts.
  CHECK(*h.Report("b", second, /*ok=*/true));
  CHECK(h.Model(first.model_id()).state() == v1::MODEL_DONE);
  CHECK(h.search->CheckInvariants().ok());
}

TEST_CASE("a result counts only from the worker that held that attempt") {
  Harness h("holder.db");
  h.Register("a");
  h.Register("b");
  const v1::Task task = h.Take("a");
  auto stolen = h.Report("b", task, /*ok=*/true);
  REQUIRE_FALSE(stolen.ok());
  CHECK(stolen.status().code() == absl::StatusCode::kPermissionDenied);
  auto diverged = h.Report("b", task, /*ok=*/false);
  CHECK(diverged.status().code() == absl::StatusCode::kPermissionDenied);
  CHECK(h.Model(task.model_id()).state() == v1::MODEL_RUNNING);
  CHECK(*h.Report("a", task, /*ok=*/true));
}

TEST_CASE("a result of another search is refused") {
  Harness h("search-id.db");
  h.Register("a");
  v1::Task task = h.Take("a");
  REQUIRE(task.search_id() == h.search->search_id());
  task.set_search_id("s-000000000000");
  auto other = h.Report("a", task, /*ok=*/true);
  REQUIRE_FALSE(other.ok());
  CHECK(other.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(std::string(other.status().message()),
             Catch::Contains("belongs to search"));
  task.clear_search_id();
  CHECK(h.Report("a", task, /*ok=*/true).status().code() ==
        absl::StatusCode::kInvalidArgument);
  // The id survives a restart.
  const std::string id = h.search->search_id();
  h.Reopen();
  CHECK(h.search->search_id() == id);
}

TEST_CASE("preemption does not use up attempts; errors do") {
  Harness h("preempt.db");
  h.Register("a");
  v1::Task task = h.Take("a");
  for (int i = 0; i < 5; ++i) {  // more hand-backs than max_attempts (2)
    CHECK(*h.Report("a", task, /*ok=*/false, /*preempted=*/true));
    const v1::Task again = h.Take("a");
    REQUIRE(again.model_id() == task.model_id());
    task = again;
  }
  CHECK(h.Model(task.model_id()).failures() == 0);
  CHECK(h.Model(task.model_id()).attempts() == 6);
  CHECK(*h.Report("a", task, /*ok=*/false));
  task = h.Take("a");
  CHECK(h.Model(task.model_id()).failures() == 1);
  // The charged count survives a restart.
  h.Reopen();
  h.Register("a", 2);
  CHECK(h.Model(task.model_id()).failures() == 1);
  v1::GetTaskRequest request;
  request.set_worker_id("a");
  request.mutable_view()->set_incarnation(2);
  request.mutable_view()->set_sequence(1);
  auto next = h.search->GetTask(request);
  REQUIRE(next.ok());
  REQUIRE(next->task().model_id() == task.model_id());  // released, requeued
  CHECK(*h.Report("a", next->task(), /*ok=*/false));
  CHECK(h.Model(task.model_id()).state() == v1::MODEL_FAILED);
  CHECK(h.Model(task.model_id()).failures() == 2);
}

TEST_CASE("a worker without the dataset hands tasks back; it gets no more") {
  Harness h("missing_data.db");
  h.Register("a");
  h.Register("b");
  const v1::Task task = h.Take("a");
  v1::ResultReport report = Harness::ReportOf("a", task);
  report.set_ok(false);
  report.set_failure("fashion_mnist: .../train-images-idx3-ubyte not found");
  report.set_missing_data("fashion_mnist");
  for (int i = 0; i < 3; ++i) {  // more hand-backs than max_attempts (2)
    CHECK(*h.search->ReportResult(report) == (i == 0));  // then: stale
  }
  // Not the child's fault: no attempt used up.
  CHECK(h.Model(task.model_id()).failures() == 0);
  CHECK(h.Model(task.model_id()).state() != v1::MODEL_FAILED);
  // Worker a asks again: nothing of this search, for as long as it runs.
  h.RequireNoTaskFor("a");
  CHECK(h.search->Status().workers_without_data() == 1);
  v1::GetTaskRequest ask;
  ask.set_worker_id("a");
  // Another worker takes the child.
  CHECK(h.Take("b").model_id() == task.model_id());
  // A new process of a (the data may be there now) is asked again.
  h.Register("a", 2);
  ask.mutable_view()->set_incarnation(2);
  ask.mutable_view()->set_sequence(1);
  auto answer = h.search->GetTask(ask);
  REQUIRE(answer.ok());
  CHECK(answer->has_task());
  CHECK(h.search->Status().workers_without_data() == 0);
}

TEST_CASE("a worker too old for the search's recipe gets none of its tasks") {
  SearchOptions options = Options();
  options.settings.mutable_recipe()->set_ema_decay(0.999);
  Harness h("old_worker.db", options);
  h.Register("old", 1, /*old=*/true);
  h.Register("new");
  h.RequireNoTaskFor("old");
  CHECK(h.search->Status().workers_without_recipe() == 1);
  v1::GetTaskRequest ask;
  ask.set_worker_id("old");
  CHECK(h.Take("new").settings().recipe().ema_decay() == 0.999);
  // Upgraded (a new process that says it trains recipes): served.
  h.Register("old", 2);
  CHECK(h.search->Status().workers_without_recipe() == 0);
  ask.mutable_view()->set_incarnation(2);
  ask.mutable_view()->set_sequence(1);
  auto answer = h.search->GetTask(ask);
  REQUIRE(answer.ok());
  CHECK(answer->has_task());

  // A recipe that equals the defaults (a preset's name aside) is what old
  // workers train anyway: they are served.
  SearchOptions plain = Options();
  plain.settings.mutable_recipe()->set_name("search");
  plain.settings.mutable_recipe()->set_drop_path_schedule("time-and-depth");
  Harness p("old_worker_plain.db", plain);
  p.Register("old", 1, /*old=*/true);
  CHECK(p.Take("old").model_id() > 0);
  CHECK(p.search->Status().workers_without_recipe() == 0);
}

TEST_CASE("Stop releases every lease; holders are told to cancel") {
  Harness h("stop.db");
  h.Register("a");
  const v1::Task task = h.Take("a");
  REQUIRE(*h.search->Stop() == "stopped");
  CHECK(h.search->Leases().empty());
  v1::ProgressReport progress;
  progress.set_worker_id("a");
  progress.set_model_id(task.model_id());
  progress.set_attempt(task.attempt());
  CHECK(h.search->ReportProgress(progress)->cancel);
  v1::GetTaskRequest request;
  request.set_worker_id("a");
  auto answer = h.search->GetTask(request);
  REQUIRE(answer.ok());
  CHECK_FALSE(answer->has_task());  // nobody gets it again
  CHECK(h.Model(task.model_id()).state() == v1::MODEL_PENDING);
  CHECK(h.search->CheckInvariants().ok());
  h.Reopen();
  CHECK(h.search->Status().state() == v1::STOPPED);
  CHECK(h.search->Leases().empty());
}

TEST_CASE("the last run-state change survives a restart") {
  Harness h("run-state.db");
  REQUIRE(*h.search->Pause() == "paused");
  REQUIRE(*h.search->Resume() == "running");
  REQUIRE(*h.search->Pause() == "paused");
  h.Reopen();
  CHECK(h.search->Status().state() == v1::PAUSED);
  REQUIRE(*h.search->Resume() == "running");
  h.Reopen();
  CHECK(h.search->Status().state() == v1::RUNNING);
}

TEST_CASE("a run-state change overtaken by another one is not stored after it") {
  Harness h("run-state-overtaken.db");
  // Pause changes the state, then Resume runs entirely before Pause's write
  // is waited for: the store must end with the state the search is in.
  std::atomic<bool> first{true};
  h.search->SetRunStateHookForTest([&] {
    if (first.exchange(false)) {
      std::thread resume([&] { REQUIRE(h.search->Resume().ok()); });
      resume.join();
    }
  });
  REQUIRE(h.search->Pause().ok());
  CHECK(h.search->Status().state() == v1::RUNNING);
  h.search->SetRunStateHookForTest(nullptr);
  h.Reopen();
  CHECK(h.search->Status().state() == v1::RUNNING);
}

TEST_CASE("concurrent pauses and resumes persist in the order they were made") {
  Harness h("run-state-race.db");
  // Two operators flip the state at once; whatever the interleaving, the
  // state a restart restores is the state the search was left in.
  for (int round = 0; round < 5; ++round) {
    std::thread pauser([&] {
      for (int i = 0; i < 100; ++i) REQUIRE(h.search->Pause().ok());
    });
    std::thread resumer([&] {
      for (int i = 0; i < 100; ++i) REQUIRE(h.search->Resume().ok());
    });
    pauser.join();
    resumer.join();
    const v1::SearchState state = h.search->Status().state();
    h.Reopen();
    REQUIRE(h.search->Status().state() == state);
  }
}

TEST_CASE("the best model is not shown alive after it died of age") {
  SearchOptions options = Options();
  options.engine.budget = 6;
  Harness h("best.db", options);
  h.Register("a");
  // The first child is the best; P = 2, so it dies when the third completes.
  const v1::Task best = h.Take("a");
  REQUIRE(*h.Report("a", best, true, false, 0.9));
  CHECK(h.search->Status().best().alive());
  for (int i = 0; i < 2; ++i)
    REQUIRE(*h.Report("a", h.Take("a"), true, false, 0.1));
  const v1::SearchStatus status = h.search->Status();
  CHECK(status.best().id() == best.model_id());
  CHECK_FALSE(status.best().alive());
}

TEST_CASE("A store whose counters disagree with its rows is refused, not resumed") {
  Harness h("damaged.db");
  h.Register("a");
  REQUIRE(*h.Report("a", h.Take("a"), true));
  h.Take("a");
  h.Close();
  // The counters row gone: resuming would restart over the history.
  REQUIRE(std::system(("sqlite3 " + h.path + " 'DELETE FROM engine_state'").c_str()) == 0);
  auto reopened = OpenSingleSearchController(h.path, h.options, &h.clock);
  REQUIRE_FALSE(reopened.ok());
  CHECK(reopened.status().code() == absl::StatusCode::kDataLoss);
  CHECK_THAT(std::string(reopened.status().message()),
             Catch::Contains("2 children but no engine_state row"));
  // A completion count that does not match the rows.
  Harness g("damaged-count.db");
  g.Register("a");
  REQUIRE(*g.Report("a", g.Take("a"), true));
  g.Close();
  REQUIRE(std::system(("sqlite3 " + g.path + " 'UPDATE engine_state SET completed = 5'").c_str()) == 0);
  auto reopened2 = OpenSingleSearchController(g.path, g.options, &g.clock);
  REQUIRE_FALSE(reopened2.ok());
  CHECK(reopened2.status().code() == absl::StatusCode::kDataLoss);
}

TEST_CASE("GetStatus lists a bounded number of evaluator names") {
  SearchOptions options = Options();
  options.engine.budget = 40;
  Harness h("evaluators.db", options);
  h.Register("a");
  for (int i = 0; i < 30; ++i) {
    const v1::Task task = h.Take("a");
    v1::ResultReport report = Harness::ReportOf("a", task);
    report.set_ok(true);
    report.set_fitness(0.5);
    report.set_evaluator("evaluator-" + std::to_string(i));
    REQUIRE(*h.search->ReportResult(report));
  }
  CHECK(h.search->Status().evaluators_size() == 16);
}

TEST_CASE("ListWorkers pages through many workers") {
  Harness h("workers.db");
  for (int i = 0; i < 5; ++i) h.Register("w" + std::to_string(i));
  v1::ListWorkersRequest request;
  request.set_page_size(2);
  std::vector<std::string> seen;
  for (int page = 0; page < 10; ++page) {
    auto response = h.search->ListWorkers(request);
    REQUIRE(response.ok());
    CHECK(response->total() == 5);
    CHECK(response->workers_size() <= 2);
    for (const auto& w : response->workers()) seen.push_back(w.worker_id());
    if (response->next_page_token().empty()) break;
    request.set_page_token(response->next_page_token());
  }
  CHECK(seen == std::vector<std::string>{"w0", "w1", "w2", "w3", "w4"});
  request.set_page_token(std::string(100, '9'));
  CHECK(h.search->ListWorkers(request).status().code() ==
        absl::StatusCode::kInvalidArgument);
  request.set_page_token("");
  request.set_page_size(5000);
  CHECK(h.search->ListWorkers(request).status().code() ==
        absl::StatusCode::kInvalidArgument);
}

TEST_CASE("ReportProgress for a child that never existed is NotFound") {
  Harness h("progress.db");
  h.Register("a");
  v1::ProgressReport progress;
  progress.set_worker_id("a");
  progress.set_model_id(12345);
  progress.set_attempt(1);
  CHECK(h.search->ReportProgress(progress).status().code() ==
        absl::StatusCode::kNotFound);
}

v1::ProgressReport Hurdle(const v1::Task& task, const std::string& worker,
                          int epoch, double validation_accuracy) {
  v1::ProgressReport progress;
  progress.set_worker_id(worker);
  progress.set_model_id(task.model_id());
  progress.set_attempt(task.attempt());
  progress.set_search_id(task.search_id());
  progress.set_epoch(epoch);
  progress.set_epochs(4);
  progress.set_validation_accuracy(validation_accuracy);
  return progress;
}

TEST_CASE("early stopping: decided by the holder, durable, never taken back") {
  SearchOptions options = Options();
  options.engine.budget = 8;
  options.settings.set_epochs(4);
  options.early_stopping.rule = StoppingRule::kHurdles;
  options.early_stopping.epochs = {2};
  options.early_stopping.children = 2;
  Harness h("early-stopping.db", options);
  h.Register("a");
  h.Register("b");
  // Two children fix the hurdle at 0.5 (mean of 0.25 and 0.75).
  const v1::Task first = h.Take("a");
  const v1::Task second = h.Take("b");
  CHECK_FALSE(h.search->ReportProgress(Hurdle(first, "a", 2, 0.25))->stop);
  CHECK_FALSE(h.search->ReportProgress(Hurdle(second, "b", 2, 0.75))->stop);
  REQUIRE(*h.Report("a", first, true, false, 0.3));
  REQUIRE(*h.Report("b", second, true, false, 0.8));
  // A report without a validation accuracy, or at another epoch, is not
  // judged; a worker that is not the holder is not heard.
  const v1::Task third = h.Take("a");
  CHECK_FALSE(h.search->ReportProgress(Hurdle(third, "a", 2, -1))->stop);
  CHECK_FALSE(h.search->ReportProgress(Hurdle(third, "a", 1, 0.1))->stop);
  const auto stranger = h.search->ReportProgress(Hurdle(third, "b", 2, 0.1));
  REQUIRE(stranger.ok());
  CHECK(stranger->cancel);
  CHECK_FALSE(stranger->stop);
  // Below the hurdle: stopped; asked again with another fitness: the same.
  CHECK(h.search->ReportProgress(Hurdle(third, "a", 2, 0.4))->stop);
  CHECK(h.search->ReportProgress(Hurdle(third, "a", 2, 0.9))->stop);
  v1::SearchStatus status = h.search->Status();
  REQUIRE(status.hurdles_size() == 1);
  CHECK(status.hurdles(0).threshold() == 0.5);
  CHECK(status.hurdles(0).reported() == 3);
  CHECK(status.hurdles(0).stopped() == 1);

  // The controller restarts between the stop and the result: the answer
  // stands, and the result is recorded with the fitness at the hurdle even
  // from a worker that never heard the stop and trained to the end.
  h.Reopen();
  h.Register("a", 2);
  CHECK(h.search->ReportProgress(Hurdle(third, "a", 2, 0.9))->stop);
  REQUIRE(*h.Report("a", third, true, false, 0.95));
  v1::ModelSummary stopped = h.Model(third.model_id());
  CHECK(stopped.fitness() == 0.4);
  CHECK(stopped.stopped_epoch() == 2);
  CHECK(h.Model(first.model_id()).stopped_epoch() == 0);
  status = h.search->Status();
  CHECK(status.hurdles(0).reported() == 3);

  // A result that claims a stop the controller never gave is refused.
  const v1::Task fourth = h.Take("a");
  v1::ResultReport liar;
  liar.set_worker_id("a");
  liar.set_model_id(fourth.model_id());
  liar.set_attempt(fourth.attempt());
  liar.set_search_id(fourth.search_id());
  liar.set_ok(true);
  liar.set_fitness(0.9);
  liar.set_stopped_epoch(2);
  const auto refused = h.search->ReportResult(liar);
  CHECK(refused.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(std::string(refused.status().message()),
             Catch::Contains("never told to stop"));
  // At or above the hurdle: continues, and the result counts as reported.
  CHECK_FALSE(h.search->ReportProgress(Hurdle(fourth, "a", 2, 0.5))->stop);
  REQUIRE(*h.Report("a", fourth, true, false, 0.7));
  CHECK(h.Model(fourth.model_id()).fitness() == 0.7);
  CHECK(h.search->CheckInvariants().ok());
}

TEST_CASE("early stopping settings are checked when a search is created") {
  SearchOptions options = Options();
  options.settings.set_epochs(3);
  options.early_stopping.rule = StoppingRule::kMedian;
  options.early_stopping.epochs = {3};
  const auto status = ValidateSearchOptions(options);
  CHECK(status.code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(std::string(status.message()), Catch::Contains("3 is not below"));
  v1::SearchConfig config;
  config.mutable_settings()->set_epochs(5);
  config.mutable_early_stopping()->set_rule("hurdles");
  config.mutable_early_stopping()->add_epochs(2);
  config.mutable_early_stopping()->add_epochs(1);
  const auto from_config = SearchOptionsFromConfig(config, ControllerDefaults());
  CHECK(from_config.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(std::string(from_config.status().message()),
             Catch::Contains("increasing"));
  config.mutable_early_stopping()->set_rule("sometimes");
  CHECK_THAT(std::string(SearchOptionsFromConfig(config, ControllerDefaults())
                             .status()
                             .message()),
             Catch::Contains("'sometimes' is not one of"));
  // A valid one round-trips through the stored form.
  config.mutable_early_stopping()->set_rule("median");
  config.mutable_early_stopping()->clear_epochs();
  config.mutable_early_stopping()->add_epochs(2);
  config.mutable_early_stopping()->set_quantile(0.25);
  const auto parsed = SearchOptionsFromConfig(config, ControllerDefaults());
  REQUIRE(parsed.ok());
  CHECK(parsed->early_stopping.quantile == 0.25);
  const v1::SearchConfig back = SearchConfigFromOptions(*parsed);
  CHECK(back.early_stopping().rule() == "median");
  CHECK(back.early_stopping().epochs_size() == 1);
  const auto again = SearchOptionsFromConfig(back, ControllerDefaults());
  REQUIRE(again.ok());
  CHECK(CheckSameSearch(*parsed, *again).ok());
  SearchOptions other = *again;
  other.early_stopping.quantile = 0.5;
  CHECK_THAT(std::string(CheckSameSearch(*parsed, other).message()),
             Catch::Contains("setting 'early_stopping'"));
}

}  // namespace
}  // namespace amoeba
