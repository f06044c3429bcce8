#include "controller/controller_metrics.h"

#include <regex>
#include <set>
#include <string>

#include "catch2/catch.hpp"

namespace amoeba {
namespace {

using prometheus::MetricType;

TEST_CASE("metric names follow Prometheus' conventions; labels stay bounded") {
  v1::SearchStatus a;
  a.set_search_id("aging-1");
  a.set_state(v1::RUNNING);
  a.set_done(7);
  a.set_failed(1);
  a.set_population_members(5);
  a.set_population_median(0.5);
  a.mutable_best()->set_fitness(0.75);
  a.add_hurdles()->set_stopped(2);
  a.add_hurdles()->set_stopped(1);
  v1::SearchStatus b;  // nothing done yet
  b.set_search_id("random-1");
  b.set_state(v1::PAUSED);
  const auto families = SearchFamilies({a, b});

  const std::regex name("amoeba_[a-z_]+");
  std::set<std::string> names;
  for (const prometheus::MetricFamily& f : families) {
    INFO(f.name);
    CHECK(std::regex_match(f.name, name));
    CHECK(names.insert(f.name).second);  // one family per name
    CHECK_FALSE(f.help.empty());
    const bool total = f.name.size() > 6 &&
                       f.name.compare(f.name.size() - 6, 6, "_total") == 0;
    CHECK(total == (f.type == MetricType::Counter));
    // At most one metric per search, labelled by the search alone (the
    // fleet-wide count has no label).
    CHECK(f.metric.size() <= 2);
    for (const auto& m : f.metric) {
      for (const auto& label : m.label) CHECK(label.name == "search");
    }
  }
  auto value = [&](const std::string& family, const std::string& search)
      -> std::optional<double> {
    for (const auto& f : families) {
      if (f.name != family) continue;
      for (const auto& m : f.metric) {
        if (!m.label.empty() && m.label[0].value == search) {
          return f.type == MetricType::Counter ? m.counter.value
                                               : m.gauge.value;
        }
      }
    }
    return std::nullopt;
  };
  CHECK(value("amoeba_children_done_total", "aging-1") == 7);
  CHECK(value("amoeba_children_failed_total", "aging-1") == 1);
  CHECK(value("amoeba_children_stopped_early_total", "aging-1") == 3);
  CHECK(value("amoeba_best_fitness", "aging-1") == 0.75);
  CHECK(value("amoeba_search_running", "aging-1") == 1);
  CHECK(value("amoeba_search_running", "random-1") == 0);
  // No fitness for a search without one: absent, not 0.
  CHECK_FALSE(value("amoeba_best_fitness", "random-1").has_value());
  CHECK_FALSE(value("amoeba_population_median_fitness", "random-1").has_value());
  CHECK(value("amoeba_children_done_total", "random-1") == 0);
}

}  // namespace
}  // namespace amoeba
