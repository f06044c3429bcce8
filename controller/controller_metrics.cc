#include "controller/controller_metrics.h"

#include <string>
#include <utility>

#include "prometheus/collectable.h"
#include "prometheus/family.h"

namespace amoeba {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

// One family with one metric per search.
class FamilyBuilder {
 public:
  FamilyBuilder(std::string name, std::string help, MetricType type) {
    family_.name = std::move(name);
    family_.help = std::move(help);
    family_.type = type;
  }
  void Add(const std::string& search, double value) {
    ClientMetric m;
    m.label.push_back({"search", search});
    if (family_.type == MetricType::Counter) {
      m.counter.value = value;
    } else {
      m.gauge.value = value;
    }
    family_.metric.push_back(std::move(m));
  }
  MetricFamily Take() { return std::move(family_); }

 private:
  MetricFamily family_;
};

// Reads the controller's searches at every scrape.
class SearchCollector : public prometheus::Collectable {
 public:
  explicit SearchCollector(Controller* controller) : controller_(controller) {}

  std::vector<MetricFamily> Collect() const override {
    std::vector<v1::SearchStatus> statuses;
    for (Search* search : controller_->Searches()) {
      statuses.push_back(search->Status());
    }
    return SearchFamilies(statuses);
  }

 private:
  Controller* const controller_;
};

}  // namespace

std::vector<MetricFamily> SearchFamilies(
    const std::vector<v1::SearchStatus>& statuses) {
  struct Spec {
    const char* name;
    const char* help;
    MetricType type;
    double (*value)(const v1::SearchStatus&);
    bool (*present)(const v1::SearchStatus&);
  };
  static const Spec kSpecs[] = {
      {"amoeba_children_done_total", "children evaluated and recorded",
       MetricType::Counter, [](const v1::SearchStatus& s) { return 1.0 * s.done(); },
       nullptr},
      {"amoeba_children_failed_total",
       "children failed for good (diverged, or out of attempts)",
       MetricType::Counter,
       [](const v1::SearchStatus& s) { return 1.0 * s.failed(); }, nullptr},
      {"amoeba_children_stopped_early_total",
       "children stopped at an early-stopping epoch", MetricType::Counter,
       [](const v1::SearchStatus& s) {
         double stopped = 0;
         for (const v1::HurdleStatus& h : s.hurdles()) stopped += h.stopped();
         return stopped;
       },
       nullptr},
      {"amoeba_leases_granted_total",
       "children handed to a worker (since the controller started)",
       MetricType::Counter,
       [](const v1::SearchStatus& s) { return 1.0 * s.leases_granted(); },
       nullptr},
      {"amoeba_leases_expired_total",
       "leases that expired: the worker went silent (since the controller "
       "started)",
       MetricType::Counter,
       [](const v1::SearchStatus& s) { return 1.0 * s.leases_expired(); },
       nullptr},
      {"amoeba_leases_returned_total",
       "children returned to the queue for another worker: expired, the "
       "worker restarted or handed it back (since the controller started)",
       MetricType::Counter,
       [](const v1::SearchStatus& s) { return 1.0 * s.leases_returned(); },
       nullptr},
      {"amoeba_children_running", "children on a worker now",
       MetricType::Gauge,
       [](const v1::SearchStatus& s) { return 1.0 * s.running(); }, nullptr},
      {"amoeba_children_waiting", "children waiting for a worker",
       MetricType::Gauge,
       [](const v1::SearchStatus& s) { return 1.0 * s.pending(); }, nullptr},
      {"amoeba_children_budget_left", "children still to be created",
       MetricType::Gauge,
       [](const v1::SearchStatus& s) { return 1.0 * s.budget_left(); },
       nullptr},
      {"amoeba_population_size", "models in the population",
       MetricType::Gauge,
       [](const v1::SearchStatus& s) { return 1.0 * s.population_members(); },
       nullptr},
      {"amoeba_population_median_fitness",
       "median fitness of the population (absent while it is empty)",
       MetricType::Gauge,
       [](const v1::SearchStatus& s) { return s.population_median(); },
       [](const v1::SearchStatus& s) { return s.population_members() > 0; }},
      {"amoeba_best_fitness",
       "fitness of the best model so far (absent until one is done)",
       MetricType::Gauge,
       [](const v1::SearchStatus& s) { return s.best().fitness(); },
       [](const v1::SearchStatus& s) { return s.has_best(); }},
      {"amoeba_search_running",
       "1 while the search runs; 0 when paused, stopped or finished",
       MetricType::Gauge,
       [](const v1::SearchStatus& s) {
         return s.state() == v1::RUNNING ? 1.0 : 0.0;
       },
       nullptr},
      {"amoeba_workers_online", "workers heard from within a lease timeout",
       MetricType::Gauge,
       [](const v1::SearchStatus& s) { return 1.0 * s.workers_online(); },
       nullptr},
      {"amoeba_workers_busy", "workers holding a child of the search",
       MetricType::Gauge,
       [](const v1::SearchStatus& s) { return 1.0 * s.workers_busy(); },
       nullptr},
      {"amoeba_workers_without_data",
       "online workers that said they cannot read the search's dataset",
       MetricType::Gauge,
       [](const v1::SearchStatus& s) { return 1.0 * s.workers_without_data(); },
       nullptr},
      {"amoeba_workers_without_recipe",
       "online workers too old for the search's training recipe",
       MetricType::Gauge,
       [](const v1::SearchStatus& s) {
         return 1.0 * s.workers_without_recipe();
       },
       nullptr},
  };
  std::vector<MetricFamily> families;
  for (const Spec& spec : kSpecs) {
    FamilyBuilder family(spec.name, spec.help, spec.type);
    for (const v1::SearchStatus& s : statuses) {
      if (spec.present == nullptr || spec.present(s)) {
        family.Add(s.search_id(), spec.value(s));
      }
    }
    families.push_back(family.Take());
  }
  MetricFamily searches;
  searches.name = "amoeba_searches";
  searches.help = "searches the controller runs (any state)";
  searches.type = MetricType::Gauge;
  ClientMetric count;
  count.gauge.value = static_cast<double>(statuses.size());
  searches.metric.push_back(count);
  families.push_back(std::move(searches));
  return families;
}

ControllerMetrics::ControllerMetrics(Controller* controller,
                                     MetricsServer& server) {
  server.Add(std::make_shared<SearchCollector>(controller));
  auto& dispatch =
      prometheus::BuildHistogram()
          .Name("amoeba_dispatch_seconds")
          .Help("from a worker's request to the child handed out in the "
                "answer; via=result: with the ack of its previous result "
                "(one round trip per child), via=get_task: asked for")
          .Register(server.registry());
  // 0.5 ms .. 5 s: a dispatch is a store commit plus a mutation.
  const prometheus::Histogram::BucketBoundaries buckets = {
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
      0.1,    0.25,  0.5,    1,     2.5,  5};
  with_result_ = &dispatch.Add({{"via", "result"}}, buckets);
  get_task_ = &dispatch.Add({{"via", "get_task"}}, buckets);
  auto& refused =
      prometheus::BuildCounter()
          .Name("amoeba_results_refused_total")
          .Help("ResultReports not recorded, by reason: stale (duplicate, "
                "old attempt, finished elsewhere), invalid, "
                "unauthenticated, rejected (unknown worker or search)")
          .Register(server.registry());
  refused_ = {&refused.Add({{"reason", "stale"}}),
              &refused.Add({{"reason", "invalid"}}),
              &refused.Add({{"reason", "unauthenticated"}}),
              &refused.Add({{"reason", "rejected"}})};
}

void ControllerMetrics::ResultRefused(Refusal why) {
  refused_[static_cast<size_t>(why)]->Increment();
}

void ControllerMetrics::ObserveDispatch(Dispatch via, absl::Duration elapsed) {
  (via == Dispatch::kWithResult ? with_result_ : get_task_)
      ->Observe(absl::ToDoubleSeconds(elapsed));
}

}  // namespace amoeba
