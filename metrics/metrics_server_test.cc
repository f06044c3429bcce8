#include "metrics/metrics_server.h"

#include <memory>
#include <string>

#include "catch2/catch.hpp"
#include "prometheus/counter.h"
#include "testing/http_get.h"

namespace amoeba {
namespace {

TEST_CASE("the metrics endpoint serves the registry on a port of its own") {
  auto server = MetricsServer::Start({"127.0.0.1:0"});
  REQUIRE(server.ok());
  REQUIRE((*server)->port() > 0);
  auto& family = prometheus::BuildCounter()
                     .Name("amoeba_test_events_total")
                     .Help("events in the test")
                     .Register((*server)->registry());
  family.Add({{"search", "s1"}}).Increment(3);
  auto got = HttpGet((*server)->port(), "/metrics");
  REQUIRE(got.ok());
  CHECK(got->status == 200);
  CHECK_THAT(got->body,
             Catch::Contains("amoeba_test_events_total{search=\"s1\"} 3"));
  // The standard process metrics, as other clients name them.
  for (const char* name :
       {"process_cpu_seconds_total ", "process_resident_memory_bytes ",
        "process_open_fds ", "process_start_time_seconds "}) {
    CHECK_THAT(got->body, Catch::Contains(std::string("\n") + name));
  }

  // The same port again: refused, naming it.
  const std::string taken = "127.0.0.1:" + std::to_string((*server)->port());
  auto second = MetricsServer::Start({taken});
  CHECK(second.status().code() == absl::StatusCode::kUnavailable);
  CHECK_THAT(std::string(second.status().message()), Catch::Contains(taken));

  // Gone with the server.
  const int port = (*server)->port();
  server->reset();
  CHECK_FALSE(HttpGet(port, "/metrics", 1).ok());
}

TEST_CASE("a malformed metrics address is refused, naming it") {
  for (const char* bad : {"", "9464", "127.0.0.1", "127.0.0.1:99999",
                          "127.0.0.1:x", "::1:9464", "[::1:9464",
                          "a,b:1"}) {
    INFO(bad);
    const absl::Status s = CheckListenAddress(bad);
    CHECK(s.code() == absl::StatusCode::kInvalidArgument);
    CHECK_THAT(std::string(s.message()), Catch::Contains("metrics address"));
  }
  for (const char* good : {"127.0.0.1:0", "[::1]:9464", "localhost:1",
                           "0.0.0.0:9464"}) {
    INFO(good);
    CHECK(CheckListenAddress(good).ok());
  }
}

}  // namespace
}  // namespace amoeba
