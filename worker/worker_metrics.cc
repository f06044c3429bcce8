#include "worker/worker_metrics.h"

#include "prometheus/family.h"

namespace amoeba {
namespace {

// Seconds, 0.1 s .. ~3 h: an epoch of a small search child to an
// evaluation of a final job.
prometheus::Histogram::BucketBoundaries LongSeconds() {
  return {0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500,
          5000, 10000};
}

}  // namespace

WorkerMetrics::WorkerMetrics(MetricsServer& server, int slots) {
  prometheus::Registry& r = server.registry();
  prometheus::BuildGauge()
      .Name("amoeba_worker_slots")
      .Help("children this worker evaluates at once (--slots)")
      .Register(r)
      .Add({})
      .Set(slots);
  busy_ = &prometheus::BuildGauge()
               .Name("amoeba_worker_slots_busy")
               .Help("slots evaluating a child now")
               .Register(r)
               .Add({});
  auto& children = prometheus::BuildCounter()
                       .Name("amoeba_worker_children_total")
                       .Help("evaluations ended, by outcome (done: a "
                             "result; failed: a failure result; "
                             "handed_back: unfinished, the worker stopping "
                             "or lacking the data; cancelled: by the "
                             "controller)")
                       .Register(r);
  children_ = {&children.Add({{"outcome", "done"}}),
               &children.Add({{"outcome", "failed"}}),
               &children.Add({{"outcome", "handed_back"}}),
               &children.Add({{"outcome", "cancelled"}})};
  evaluation_seconds_ = &prometheus::BuildHistogram()
                             .Name("amoeba_worker_evaluation_seconds")
                             .Help("a child's evaluation, from task to result")
                             .Register(r)
                             .Add({}, LongSeconds());
  epoch_seconds_ = &prometheus::BuildHistogram()
                        .Name("amoeba_worker_epoch_seconds")
                        .Help("one training epoch of a child (the first "
                              "includes loading its data)")
                        .Register(r)
                        .Add({}, LongSeconds());
  images_per_second_ = &prometheus::BuildGauge()
                            .Name("amoeba_worker_training_images_per_second")
                            .Help("training throughput of the last epoch "
                                  "reported")
                            .Register(r)
                            .Add({});
  auto& checkpoint_seconds =
      prometheus::BuildHistogram()
          .Name("amoeba_worker_checkpoint_seconds")
          .Help("moving a checkpoint to (save) or from (load) the fleet's "
                "checkpoint storage")
          .Register(r);
  checkpoint_save_seconds_ =
      &checkpoint_seconds.Add({{"op", "save"}}, LongSeconds());
  checkpoint_load_seconds_ =
      &checkpoint_seconds.Add({{"op", "load"}}, LongSeconds());
  auto& checkpoint_bytes = prometheus::BuildCounter()
                               .Name("amoeba_worker_checkpoint_bytes_total")
                               .Help("checkpoint bytes saved and loaded")
                               .Register(r);
  checkpoint_saved_bytes_ = &checkpoint_bytes.Add({{"op", "save"}});
  checkpoint_loaded_bytes_ = &checkpoint_bytes.Add({{"op", "load"}});
  unreachable_ = &prometheus::BuildCounter()
                      .Name("amoeba_worker_controller_unreachable_total")
                      .Help("calls to the controller that failed and were "
                            "retried after a backoff")
                      .Register(r)
                      .Add({});
}

void WorkerMetrics::SlotStarted() { busy_->Increment(); }
void WorkerMetrics::SlotEnded() { busy_->Decrement(); }

void WorkerMetrics::Finished(Outcome outcome, absl::Duration elapsed) {
  children_[static_cast<size_t>(outcome)]->Increment();
  if (outcome == Outcome::kDone) {
    evaluation_seconds_->Observe(absl::ToDoubleSeconds(elapsed));
  }
}

void WorkerMetrics::EpochDone(absl::Duration elapsed,
                              double images_per_second) {
  epoch_seconds_->Observe(absl::ToDoubleSeconds(elapsed));
  images_per_second_->Set(images_per_second);
}

void WorkerMetrics::CheckpointSaved(int64_t bytes, absl::Duration elapsed) {
  checkpoint_save_seconds_->Observe(absl::ToDoubleSeconds(elapsed));
  checkpoint_saved_bytes_->Increment(static_cast<double>(bytes));
}

void WorkerMetrics::CheckpointLoaded(int64_t bytes, absl::Duration elapsed) {
  checkpoint_load_seconds_->Observe(absl::ToDoubleSeconds(elapsed));
  checkpoint_loaded_bytes_->Increment(static_cast<double>(bytes));
}

void WorkerMetrics::ControllerUnreachable() { unreachable_->Increment(); }

}  // namespace amoeba
