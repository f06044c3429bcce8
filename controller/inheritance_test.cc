// Weight inheritance on a real controller, SQLite store and weights folder:
// what tasks say, who may upload and fetch weights, and that the weights of
// models no child can inherit from are removed (after results, expiries and
// a restart).
#include <filesystem>
#include <memory>
#include <set>
#include <string>

#include "catch2/catch.hpp"
#include "common/checkpoint_file.h"
#include "controller/controller.h"
#include "proto/controller.pb.h"
#include "settings/recipes.h"
#include "testing/test_files.h"

namespace amoeba {
namespace {

ControllerDefaults Defaults() {
  ControllerDefaults d;
  d.lease_timeout = absl::Seconds(60);
  d.heartbeat_interval = absl::Seconds(10);
  d.max_attempts = 1;
  return d;
}

v1::SearchConfig InheritingSearch(int64_t budget) {
  v1::SearchConfig c;
  c.set_algorithm("aging");
  c.set_population_size(3);
  c.set_sample_size(2);
  c.set_budget(budget);
  c.mutable_settings()->set_epochs(4);
  c.mutable_settings()->set_learning_rate(0.05);
  c.mutable_inheritance()->set_enabled(true);
  c.mutable_inheritance()->set_epochs(1);
  c.mutable_inheritance()->set_learning_rate(0.01);
  return c;
}

class InheritanceHarness {
 public:
  explicit InheritanceHarness(const std::string& name)
      : path_(FreshSqlitePath(name + ".db")),
        weights_dir_(FreshTestDir(name + ".weights")) {
    Open();
  }

  void Open() {
    auto store = Store::Open(path_);
    REQUIRE(store.ok());
    auto weights = CheckpointStore::Open({weights_dir_, 1 << 20});
    REQUIRE(weights.ok());
    auto opened = Controller::Open(*std::move(store), Defaults(), &clock_,
                                   nullptr, *std::move(weights));
    INFO(opened.status().ToString());
    REQUIRE(opened.ok());
    controller_ = *std::move(opened);
  }
  void Reopen() {
    controller_.reset();
    Open();
  }

  // A worker of this version, or (`inherits` false) of the version before
  // weight inheritance.
  void Register(const std::string& worker, bool inherits = true) {
    v1::RegisterRequest request;
    request.set_worker_id(worker);
    request.add_features(kTrainingRecipeFeature);
    if (inherits) request.add_features(kWeightInheritanceFeature);
    REQUIRE(controller_->Register(request).ok());
  }
  v1::Task Take(const std::string& worker) {
    v1::GetTaskRequest request;
    request.set_worker_id(worker);
    auto answer = controller_->GetTask(request);
    REQUIRE(answer.ok());
    REQUIRE(answer->has_task());
    return answer->task();
  }
  bool Report(const std::string& worker, const v1::Task& task, double fitness,
              bool ok = true) {
    v1::ResultReport report;
    report.set_worker_id(worker);
    report.set_search_id(task.search_id());
    report.set_model_id(task.model_id());
    report.set_attempt(task.attempt());
    report.set_ok(ok);
    report.set_fitness(fitness);
    report.set_parameters(1000);
    report.set_inherited_parameters(task.inherit_from() > 0 ? 900 : 0);
    if (!ok) report.set_failure("worker error");
    auto recorded = controller_->ReportResult(report);
    INFO(recorded.status().ToString());
    REQUIRE(recorded.ok());
    return *recorded;
  }
  absl::Status UploadWeights(const std::string& worker, const v1::Task& task,
                             const std::string& bytes) {
    v1::CheckpointHeader h;
    h.set_worker_id(worker);
    h.set_search_id(task.search_id());
    h.set_model_id(task.model_id());
    h.set_attempt(task.attempt());
    h.set_epoch(task.settings().epochs());
    h.set_size(static_cast<int64_t>(bytes.size()));
    h.set_crc32(Crc32(bytes));
    h.set_weights(true);
    return controller_->PutCheckpoint(h, bytes).status();
  }
  absl::StatusOr<std::string> ParentWeights(const std::string& worker,
                                            const v1::Task& task) {
    v1::CheckpointRequest request;
    request.set_worker_id(worker);
    request.set_search_id(task.search_id());
    request.set_model_id(task.model_id());
    request.set_attempt(task.attempt());
    request.set_parent_weights(true);
    auto data = controller_->GetCheckpoint(request);
    if (!data.ok()) return data.status();
    return data->payload;
  }
  // A worker's whole turn: fetch the parent's weights when told to (they
  // must be the parent's), train, upload, report.
  v1::Task Turn(const std::string& worker, double fitness) {
    const v1::Task task = Take(worker);
    if (task.inherit_from() > 0) {
      auto parent = ParentWeights(worker, task);
      INFO(parent.status().ToString());
      REQUIRE(parent.ok());
      CHECK(*parent == WeightsOf(task.inherit_from()));
    }
    REQUIRE(UploadWeights(worker, task, WeightsOf(task.model_id())).ok());
    REQUIRE(Report(worker, task, fitness));
    return task;
  }
  static std::string WeightsOf(int64_t model) {
    return absl::StrCat("weights of model ", model);
  }

  // The models whose weights are in the folder.
  std::set<int64_t> Kept(const std::string& search) {
    const auto children = controller_->weights()->Children(search);
    return std::set<int64_t>(children.begin(), children.end());
  }
  std::set<int64_t> Alive(const std::string& search) {
    std::set<int64_t> alive;
    for (const Member& m :
         controller_->Find(search).value()->EngineSnapshot().population) {
      alive.insert(m.id);
    }
    return alive;
  }

  Controller& controller() { return *controller_; }
  FakeClock& clock() { return clock_; }
  const std::string& weights_dir() const { return weights_dir_; }

 private:
  const std::string path_;
  const std::string weights_dir_;
  FakeClock clock_;
  std::unique_ptr<Controller> controller_;
};

TEST_CASE("inheritance settings are checked at create time, by name") {
  InheritanceHarness h("inherit_config");
  auto refused = [&](v1::SearchConfig c, const std::string& named) {
    auto created = h.controller().CreateSearch("", c);
    INFO(created.status().ToString());
    CHECK(absl::IsInvalidArgument(created.status()));
    CHECK_THAT(std::string(created.status().message()),
               Catch::Contains(named));
  };
  v1::SearchConfig c = InheritingSearch(5);
  c.set_algorithm("random");
  refused(c, "inheritance goes with algorithm aging or non_aging");
  c.set_algorithm("reinforce");
  refused(c, "not reinforce");
  c = InheritingSearch(5);
  c.mutable_inheritance()->set_epochs(5);
  refused(c, "inheritance.epochs must be in 1..settings.epochs (4), got 5");
  c.mutable_inheritance()->set_epochs(0);
  refused(c, "inheritance.epochs");
  c = InheritingSearch(5);
  c.mutable_inheritance()->set_learning_rate(-1);
  refused(c, "inheritance.learning_rate");
  c = InheritingSearch(5);
  c.mutable_early_stopping()->set_rule("median");
  c.mutable_early_stopping()->add_epochs(1);
  refused(c, "early_stopping");
  c = InheritingSearch(5);
  c.mutable_inheritance()->set_enabled(false);
  refused(c, "need enabled");
  CHECK(h.controller().Searches().empty());

  // Defaults: half the epochs rounded up, the search's learning rate; the
  // stored config says so.
  c = InheritingSearch(5);
  c.mutable_inheritance()->clear_epochs();
  c.mutable_inheritance()->clear_learning_rate();
  c.mutable_settings()->set_epochs(3);
  auto created = h.controller().CreateSearch("s", c);
  REQUIRE(created.ok());
  const v1::SearchConfig stored = (*created)->Status().config();
  CHECK(stored.inheritance().enabled());
  CHECK(stored.inheritance().epochs() == 2);
  CHECK(stored.inheritance().learning_rate() == 0.05);
}

TEST_CASE("children inherit from their own parent; dead models' weights go") {
  InheritanceHarness h("inherit_flow");
  REQUIRE(h.controller().CreateSearch("s", InheritingSearch(12)).ok());
  // A worker too old to inherit would train the short recipe from fresh
  // weights and keep nothing: it gets no task of the search.
  h.Register("old", /*inherits=*/false);
  {
    v1::GetTaskRequest request;
    request.set_worker_id("old");
    auto answer = h.controller().GetTask(request);
    REQUIRE(answer.ok());
    CHECK(!answer->has_task());
    CHECK(h.controller().Find("s").value()->Status().workers_without_recipe() ==
          1);
  }
  h.Register("a");
  h.Register("b");
  // The first P children are random: fresh weights, full recipe, weights
  // kept for their children.
  for (int i = 1; i <= 3; ++i) {
    const v1::Task task = h.Take("a");
    CHECK(task.keep_weights());
    CHECK(task.inherit_from() == 0);
    CHECK(task.settings().epochs() == 4);
    CHECK(task.settings().learning_rate() == 0.05);
    // A random child has no parent to fetch.
    CHECK(absl::IsNotFound(h.ParentWeights("a", task).status()));
    // Only the holder uploads.
    CHECK(absl::IsFailedPrecondition(
        h.UploadWeights("b", task, "forged")));
    REQUIRE(h.UploadWeights("a", task, h.WeightsOf(task.model_id())).ok());
    REQUIRE(h.Report("a", task, 0.1 * i));
  }
  CHECK(h.Kept("s") == std::set<int64_t>{1, 2, 3});

  // A mutated child: its parent named, the inheriting recipe, and only its
  // holder may read the parent's weights.
  const v1::Task child = h.Take("a");
  REQUIRE(child.inherit_from() >= 1);
  REQUIRE(child.inherit_from() <= 3);
  CHECK(child.settings().epochs() == 1);
  CHECK(child.settings().learning_rate() == 0.01);
  CHECK(absl::IsFailedPrecondition(h.ParentWeights("b", child).status()));
  REQUIRE(h.ParentWeights("a", child).value() ==
          h.WeightsOf(child.inherit_from()));
  REQUIRE(h.UploadWeights("a", child, h.WeightsOf(child.model_id())).ok());
  REQUIRE(h.Report("a", child, 0.9));
  // Model 1 died of age: its weights went with it.
  CHECK(h.Alive("s") == std::set<int64_t>{2, 3, 4});
  CHECK(h.Kept("s") == std::set<int64_t>{2, 3, 4});
  auto listed = h.controller().Find("s").value()->GetModel(4);
  REQUIRE(listed.ok());
  CHECK(listed->model().inherited_parameters() == 900);
  CHECK(h.controller().Find("s").value()->GetModel(1)->model()
            .inherited_parameters() == 0);

  // A parent that dies while its child runs keeps its weights until the
  // child has them no more: `b` holds a child of some parent, `a` runs three
  // more children, so every member alive when b's child was made dies.
  const v1::Task slow = h.Take("b");
  const int64_t parent = slow.inherit_from();
  REQUIRE(parent > 0);
  for (int i = 0; i < 3; ++i) h.Turn("a", 0.95);
  CHECK(h.Alive("s").count(parent) == 0);
  CHECK(h.Kept("s").count(parent) == 1);
  REQUIRE(h.ParentWeights("b", slow).value() == h.WeightsOf(parent));
  REQUIRE(h.UploadWeights("b", slow, h.WeightsOf(slow.model_id())).ok());
  REQUIRE(h.Report("b", slow, 0.05));
  CHECK(h.Kept("s").count(parent) == 0);

  // A child failed for good (max_attempts 1) keeps no weights.
  const v1::Task failing = h.Take("a");
  REQUIRE(h.UploadWeights("a", failing, "half trained").ok());
  REQUIRE(h.Report("a", failing, 0, /*ok=*/false));
  CHECK(h.Kept("s").count(failing.model_id()) == 0);

  // Weights left by a crash (a model that died meanwhile) go at open; the
  // living population's stay and still serve children.
  WriteTestFile(h.weights_dir() + "/s/2.ckpt", EncodeCheckpoint(4, "old"));
  h.Reopen();
  CHECK(h.Kept("s") == h.Alive("s"));
  h.Register("a");
  h.Turn("a", 0.5);
  CHECK(h.Kept("s") == h.Alive("s"));
}

TEST_CASE("a child failed by its expired lease leaves no weights") {
  InheritanceHarness h("inherit_expiry");
  REQUIRE(h.controller().CreateSearch("s", InheritingSearch(8)).ok());
  h.Register("a");
  for (int i = 0; i < 3; ++i) h.Turn("a", 0.1 * (i + 1));
  // `b` takes a mutated child, uploads its weights, then goes silent; `a`
  // runs three more, so the child's parent dies of age meanwhile.
  h.Register("b");
  const v1::Task silent = h.Take("b");
  const int64_t parent = silent.inherit_from();
  REQUIRE(parent > 0);
  REQUIRE(h.UploadWeights("b", silent, "trained, never reported").ok());
  for (int i = 0; i < 3; ++i) h.Turn("a", 0.9);
  REQUIRE(h.Alive("s").count(parent) == 0);
  REQUIRE(h.Kept("s").count(parent) == 1);
  REQUIRE(h.Kept("s").count(silent.model_id()) == 1);
  // Its lease runs out (max_attempts 1: failed for good): the child's
  // weights and its dead parent's go with it.
  h.clock().Advance(absl::Seconds(61));
  h.controller().ExpireLeases();
  REQUIRE(!h.controller().Find("s").value()->IsUnfinished(silent.model_id()));
  CHECK(h.Kept("s").count(silent.model_id()) == 0);
  CHECK(h.Kept("s").count(parent) == 0);
  CHECK(h.Kept("s") == h.Alive("s"));
}

TEST_CASE("a search without inheritance takes no weights and names none") {
  InheritanceHarness h("inherit_off");
  v1::SearchConfig c = InheritingSearch(4);
  c.clear_inheritance();
  REQUIRE(h.controller().CreateSearch("s", c).ok());
  h.Register("a");
  for (int i = 0; i < 4; ++i) {
    const v1::Task task = h.Take("a");
    CHECK(!task.keep_weights());
    CHECK(task.inherit_from() == 0);
    CHECK(task.settings().epochs() == 4);
    const absl::Status upload = h.UploadWeights("a", task, "w");
    CHECK(absl::IsFailedPrecondition(upload));
    CHECK_THAT(std::string(upload.message()),
               Catch::Contains("does not inherit weights"));
    REQUIRE(h.Report("a", task, 0.5));
  }
  CHECK(h.Kept("s").empty());
}

}  // namespace
}  // namespace amoeba
