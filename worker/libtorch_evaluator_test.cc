// The LibTorch evaluator: final training with the test split as the measure,
// checkpoints handed out and resumed, and an unusable checkpoint that makes
// the job start over instead of failing; a child starting from its
// parent's weights, or from fresh ones when they cannot be used. Real
// training, small; one
// evaluation after another (not Catch2 sections, which would train the
// first one again for each).
#include "worker/libtorch_evaluator.h"

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <turbojpeg.h>

#include "catch2/catch.hpp"
#include "genotype/genotype_proto.h"
#include "testing/test_files.h"
#include "testing/test_images.h"
#include "genotype/known_cells.h"
#include "genotype/text.h"
#include "worker/worker_core.h"

namespace amoeba {
namespace {

v1::Task FinalTask() {
  v1::Task task;
  task.set_search_id("fm-final");
  task.set_model_id(1);
  task.set_attempt(1);
  const Genotype genotype = AmoebaNetA();
  task.set_genotype_text(CanonicalText(genotype));
  GenotypeToProto(genotype, task.mutable_genotype());
  v1::TrainingSettings* s = task.mutable_settings();
  s->set_dataset("fashion_mnist");
  s->set_cells_per_stack(1);
  s->set_filters(4);
  s->set_epochs(2);
  // Batch 32 at lr 0.05: enough steps that the batch-norm statistics and
  // the weights settle in 2 epochs (0.56..0.65 validation accuracy over
  // five seeds with `amoeba train`; batch 64 at lr 0.1 gave 0.09..0.31).
  s->set_batch_size(32);
  s->set_learning_rate(0.05);
  s->set_max_train_images(800);
  s->set_validation_images(0);
  s->set_final_training(true);
  s->set_checkpoint_every(1);
  s->set_seed(5);
  return task;
}

LibTorchEvaluator MakeEvaluator() {
  DeviceOptions device;
  // One thread: Bazel runs two tests at a time on two cores, and LibTorch's
  // OpenMP threads lose most of their time spinning when oversubscribed.
  device.threads = 1;
  return LibTorchEvaluator(device, DataDirs());
}

TEST_CASE("final training resumes from its checkpoint or starts over") {
  LibTorchEvaluator evaluator = MakeEvaluator();
  const v1::Task task = FinalTask();
  std::map<int, std::string> states;
  std::vector<int> epochs;
  EvaluationCallbacks callbacks;
  callbacks.on_progress = [&](const EvaluationProgress& p) {
    epochs.push_back(p.epoch);
  };
  callbacks.save_checkpoint = [&](int epoch, const std::string& state) {
    states[epoch] = state;
  };
  const EvaluationResult whole = evaluator.Evaluate(task, callbacks);
  REQUIRE(whole.ok);
  REQUIRE(epochs == std::vector<int>{1, 2});
  REQUIRE(states.size() == 1);  // after epoch 1, not after the last
  // The fitness is measured on Fashion-MNIST's 10,000 test images.
  REQUIRE(whole.fitness * 10000 == Approx(std::round(whole.fitness * 10000)));
  REQUIRE(whole.fitness > 0.3);  // chance is 0.1

  {  // Resumed from its own checkpoint: the same result.
    epochs.clear();
    callbacks.save_checkpoint = nullptr;
    callbacks.load_checkpoint = [&] { return states[1]; };
    const EvaluationResult resumed = evaluator.Evaluate(task, callbacks);
    REQUIRE(resumed.ok);
    REQUIRE(epochs == std::vector<int>{2});
    REQUIRE(resumed.fitness == whole.fitness);
  }
  {  // Another job's checkpoint (this one's, given to child 2): refused,
     // child 2 starts over at epoch 1 (cancelled there: the damaged-bytes
     // case below shows that a start-over trains to the same result).
    v1::Task other = task;
    other.set_model_id(2);
    epochs.clear();
    EvaluationCallbacks first_epoch = callbacks;
    first_epoch.save_checkpoint = nullptr;
    first_epoch.load_checkpoint = [&] { return states[1]; };
    first_epoch.should_cancel = [&] { return !epochs.empty(); };
    const EvaluationResult over = evaluator.Evaluate(other, first_epoch);
    REQUIRE(over.cancelled);
    REQUIRE(epochs == std::vector<int>{1});
  }
  {  // Damaged bytes: starts over.
    epochs.clear();
    callbacks.save_checkpoint = nullptr;
    callbacks.load_checkpoint = [&] { return std::string("not a state"); };
    const EvaluationResult over = evaluator.Evaluate(task, callbacks);
    REQUIRE(over.ok);
    REQUIRE(epochs == std::vector<int>{1, 2});
    REQUIRE(over.fitness == whole.fitness);
  }
}

TEST_CASE("a task whose dataset this host lacks is handed back, not failed") {
  LibTorchEvaluator evaluator = MakeEvaluator();
  v1::Task task = FinalTask();
  task.mutable_settings()->set_dataset("cifar10");  // no --data_dir for it
  EvaluationResult r = evaluator.Evaluate(task, {});
  CHECK_FALSE(r.ok);
  CHECK(r.missing_data);
  CHECK_THAT(r.failure, Catch::Contains("cifar10: no data directory given"));

  LibTorchEvaluator folders(DeviceOptions(),
                            DataDirs{{"folder", "/nonexistent-photos"}});
  task.mutable_settings()->set_dataset("folder");
  r = folders.Evaluate(task, {});
  CHECK(r.missing_data);
  CHECK_THAT(r.failure, Catch::Contains("/nonexistent-photos"));

  // The worker says which dataset in its report.
  WorkerCore core("w", 1, 1, "libtorch");
  v1::GetTaskResponse answer;
  *answer.mutable_task() = task;
  const std::optional<v1::Task> held = core.TakeTask(0, answer);
  REQUIRE(held.has_value());
  const std::optional<v1::ResultReport> report =
      core.Finish(0, *held, r, /*stopping=*/false);
  REQUIRE(report.has_value());
  CHECK_FALSE(report->ok());
  CHECK(report->missing_data() == "folder");
  CHECK_FALSE(report->preempted());
}

TEST_CASE("a search child on an image folder trains from the streamed files") {
  // Three classes of coloured JPEGs, each 30..50 pixels a side.
  const std::string dir = FreshTestDir("evaluator_photos");
  const std::vector<std::vector<int>> colours = {
      {230, 20, 20}, {20, 230, 20}, {20, 20, 230}};
  for (int c = 0; c < 3; ++c) {
    for (int i = 0; i < 10; ++i) {
      WriteTestFile(dir + "/train/class" + std::to_string(c) + "/" +
                        std::to_string(i) + ".jpg",
                    SolidJpeg(30 + 2 * i, 50 - i, colours[c], TJPF_RGB,
                              TJSAMP_420));
    }
  }
  DeviceOptions device;
  device.threads = 1;
  LibTorchEvaluator evaluator(device, DataDirs{{"folder", dir}},
                              int64_t{4} << 30, /*decode_threads=*/2);
  v1::Task task = FinalTask();
  v1::TrainingSettings* s = task.mutable_settings();
  s->set_dataset("folder");
  s->set_final_training(false);
  s->set_checkpoint_every(0);
  s->set_validation_images(6);
  s->set_max_train_images(0);
  s->set_epochs(1);
  s->set_batch_size(8);
  s->mutable_recipe()->set_image_size(16);
  const EvaluationResult first = evaluator.Evaluate(task, {});
  REQUIRE(first.ok);
  CHECK(first.fitness >= 0);
  CHECK(first.fitness <= 1);
  // Sixths: the 6 held-out photos are the measure.
  CHECK(first.fitness * 6 == Approx(std::round(first.fitness * 6)));
  // The second run reads the cached file index and trains the same.
  const EvaluationResult again = evaluator.Evaluate(task, {});
  REQUIRE(again.ok);
  CHECK(again.fitness == first.fitness);
}

// A search child of an inheriting search: its parent's weights come
// through the callback; whatever goes wrong with them, it trains from fresh
// weights and says why, never fails.
TEST_CASE("an inheriting child starts from its parent's weights or says why not") {
  LibTorchEvaluator evaluator = MakeEvaluator();
  v1::Task parent_task = FinalTask();
  v1::TrainingSettings* s = parent_task.mutable_settings();
  s->set_final_training(false);
  s->set_validation_images(200);
  s->set_max_train_images(300);
  s->set_checkpoint_every(0);
  s->set_epochs(1);
  parent_task.set_keep_weights(true);
  std::string parent_weights;
  EvaluationCallbacks keep;
  keep.save_weights = [&](int epochs, const std::string& weights) {
    CHECK(epochs == 1);
    parent_weights = weights;
  };
  const EvaluationResult parent = evaluator.Evaluate(parent_task, keep);
  REQUIRE(parent.ok);
  REQUIRE(!parent_weights.empty());
  CHECK(parent.inherited_parameters == 0);

  // Its identity child (same genotype), told to inherit from it.
  v1::Task child = parent_task;
  child.set_model_id(2);
  child.set_inherit_from(1);
  child.mutable_settings()->set_seed(6);
  auto with_parent = [&](absl::StatusOr<std::string> weights) {
    EvaluationCallbacks callbacks;
    callbacks.load_parent_weights = [weights] { return weights; };
    return evaluator.Evaluate(child, callbacks);
  };
  const EvaluationResult inherited = with_parent(parent_weights);
  REQUIRE(inherited.ok);
  CHECK(inherited.inherited_parameters == inherited.parameters);
  CHECK(inherited.inheritance_failure.empty());

  const EvaluationResult lost =
      with_parent(absl::NotFoundError("no checkpoint of child 1"));
  REQUIRE(lost.ok);
  CHECK(lost.inherited_parameters == 0);
  CHECK_THAT(lost.inheritance_failure, Catch::Contains("no checkpoint"));
  CHECK(lost.fitness != inherited.fitness);

  const EvaluationResult damaged =
      with_parent(parent_weights.substr(0, parent_weights.size() / 2));
  REQUIRE(damaged.ok);
  CHECK(damaged.inherited_parameters == 0);
  CHECK_THAT(damaged.inheritance_failure,
             Catch::Contains("the weights of parent 1"));
  // Fresh weights whatever the reason: the same training.
  CHECK(damaged.fitness == lost.fitness);

  // A parent of another width (a controller restarted with other
  // settings): nothing half-loaded.
  v1::Task wide = parent_task;
  wide.mutable_settings()->set_filters(6);
  std::string wide_weights;
  EvaluationCallbacks keep_wide;
  keep_wide.save_weights = [&](int, const std::string& w) { wide_weights = w; };
  REQUIRE(evaluator.Evaluate(wide, keep_wide).ok);
  const EvaluationResult other_shape = with_parent(wide_weights);
  REQUIRE(other_shape.ok);
  CHECK(other_shape.inherited_parameters == 0);
  CHECK(!other_shape.inheritance_failure.empty());
  CHECK(other_shape.fitness == lost.fitness);
}

}  // namespace
}  // namespace amoeba
