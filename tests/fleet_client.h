// What the multi-process tests ask a running controller, and how they start
// a LibTorch worker: shared so that each test says only what it checks.
#ifndef AMOEBA_TESTS_FLEET_CLIENT_H_
#define AMOEBA_TESTS_FLEET_CLIENT_H_

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "catch2/catch.hpp"
#include "proto/controller.grpc.pb.h"

namespace amoeba {

inline std::unique_ptr<v1::Controller::Stub> ConnectTo(int port) {
  return v1::Controller::NewStub(grpc::CreateChannel(
      "127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials()));
}

inline std::optional<v1::SearchStatus> StatusOf(v1::Controller::Stub& stub,
                                                const std::string& search) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(5));
  v1::GetStatusRequest request;
  request.set_search_id(search);
  v1::SearchStatus status;
  if (!stub.GetStatus(&context, request, &status).ok()) return std::nullopt;
  return status;
}

// Polls until the search is finished or `timeout` passes.
inline std::optional<v1::SearchStatus> WaitFinished(
    v1::Controller::Stub& stub, const std::string& search,
    std::chrono::seconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    auto status = StatusOf(stub, search);
    if (status && status->state() == v1::FINISHED) return status;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return StatusOf(stub, search);
}

// Every child of the search (up to 1,000), by id.
inline std::vector<v1::ModelSummary> AllModels(v1::Controller::Stub& stub,
                                               const std::string& search) {
  v1::ListModelsRequest request;
  request.set_search_id(search);
  request.set_filter(v1::ListModelsRequest::ALL);
  request.set_page_size(1000);
  grpc::ClientContext context;
  v1::ListModelsResponse response;
  REQUIRE(stub.ListModels(&context, request, &response).ok());
  return {response.models().begin(), response.models().end()};
}

// The flags of a one-thread LibTorch worker `id` of the controller on
// `port`, spooling under `dir`.
inline std::vector<std::string> LibTorchWorker(const std::string& dir,
                                               int port,
                                               const std::string& id) {
  return {"--controller=127.0.0.1:" + std::to_string(port),
          "--worker_id=" + id,
          "--threads=1",
          "--spool_dir=" + dir + "/spool-" + id,
          "--exit_when_finished=false",
          "--max_backoff_s=1",
          "--rpc_deadline_s=5"};
}

}  // namespace amoeba

#endif  // AMOEBA_TESTS_FLEET_CLIENT_H_
