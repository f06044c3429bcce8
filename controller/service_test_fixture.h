// The shared fixture of the service tests: a controller (store, search and
// real gRPC server on 127.0.0.1:0) on a fake clock, and the calls a worker
// or an operator makes. Test-only.
#ifndef AMOEBA_CONTROLLER_SERVICE_TEST_FIXTURE_H_
#define AMOEBA_CONTROLLER_SERVICE_TEST_FIXTURE_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "catch2/catch.hpp"
#include "common/clock.h"
#include "controller/server.h"
#include "proto/controller.grpc.pb.h"

namespace amoeba {

inline constexpr char kToken[] = "s3cret";

// Population 4, sample 2, budget 12, N=1 F=8, 1 epoch; leases of 400 ms.
SearchOptions SmallSearch();

// A controller (store + search + server) on a loopback port. Its clock is a
// FakeClock that moves only when a test says so: with the wall clock, a
// loaded machine could let a 400 ms lease expire between a test's GetTask
// and its report, and a test would see a reassignment it did not ask for.
class ServedController {
 public:
  ServedController(const std::string& path, const SearchOptions& options,
                   const std::string& token = kToken);
  ~ServedController();

  v1::Controller::Stub& stub() { return *stub_; }
  Search& search() { return *search_; }
  FakeClock& clock() { return clock_; }
  std::shared_ptr<grpc::Channel> channel() { return channel_; }

 private:
  FakeClock clock_;  // outlives the controller and its lease thread
  std::unique_ptr<Controller> controller_;
  Search* search_ = nullptr;
  std::unique_ptr<ControllerServer> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Controller::Stub> stub_;
};

// A client context with the token (none when empty) and a 10 s deadline.
std::unique_ptr<grpc::ClientContext> Context(const std::string& token = kToken);

void Register(v1::Controller::Stub& stub, const std::string& id,
              int capacity = 1);
v1::GetTaskResponse GetTask(v1::Controller::Stub& stub, const std::string& id);
grpc::Status Report(v1::Controller::Stub& stub, const std::string& worker,
                    const v1::Task& task, double fitness, v1::ResultAck* ack,
                    bool ok = true, bool diverged = false);

// The raw ServerReflectionResponse to a list_services request.
std::string ListServicesByReflection(std::shared_ptr<grpc::Channel> channel);

// Fitness as a fixed function of the genotype text.
double FitnessOf(const std::string& text);

}  // namespace amoeba

#endif  // AMOEBA_CONTROLLER_SERVICE_TEST_FIXTURE_H_
