// Built against c10 settings without glog (see the BUILD rule), as with
// PyTorch's own LibTorch builds: LOG must still be glog's.
#include "trainer/logging.h"

#include <string>
#include <vector>

#ifdef C10_USE_GLOG
#error "this test must see c10 built without glog (trainer:c10_without_glog)"
#endif

#include "catch2/catch.hpp"

namespace amoeba {
namespace {

class CapturingSink : public google::LogSink {
 public:
  void send(google::LogSeverity, const char*, const char*, int,
            const struct ::tm*, const char* message,
            size_t message_len) override {
    messages.emplace_back(message, message_len);
  }
  std::vector<std::string> messages;
};

TEST_CASE("LOG is glog's next to a LibTorch built without glog") {
  CapturingSink sink;
  google::AddLogSink(&sink);
  LOG(INFO) << "probe " << 42;
  LOG(WARNING) << "second probe";
  google::RemoveLogSink(&sink);
  REQUIRE(sink.messages.size() == 2);
  CHECK(sink.messages[0] == "probe 42");
  CHECK(sink.messages[1] == "second probe");
}

}  // namespace
}  // namespace amoeba
