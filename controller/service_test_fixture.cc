#include "controller/service_test_fixture.h"

#include <grpcpp/generic/generic_stub.h>

#include <chrono>
#include <functional>
#include <vector>

#include "absl/strings/str_cat.h"

namespace amoeba {

SearchOptions SmallSearch() {
  SearchOptions o;
  o.engine.population_size = 4;
  o.engine.sample_size = 2;
  o.engine.budget = 12;
  o.engine.seed = 7;
  o.settings.set_dataset("fashion_mnist");
  o.settings.set_cells_per_stack(1);
  o.settings.set_filters(8);
  o.settings.set_epochs(1);
  o.settings.set_batch_size(64);
  o.lease_timeout = absl::Milliseconds(400);
  o.heartbeat_interval = absl::Milliseconds(100);
  o.retry_after = absl::Milliseconds(20);
  o.max_attempts = 2;
  return o;
}

ServedController::ServedController(const std::string& path,
                                   const SearchOptions& options,
                                   const std::string& token) {
  auto opened = OpenSingleSearchController(path, options, &clock_);
  REQUIRE(opened.ok());
  controller_ = std::move(*opened);
  search_ = controller_->Searches().front();
  ControllerServer::Spec spec;
  spec.token = token;
  auto server = ControllerServer::Start(spec, controller_.get());
  REQUIRE(server.ok());
  server_ = std::move(*server);
  channel_ = grpc::CreateChannel(absl::StrCat("127.0.0.1:", server_->port()),
                                 grpc::InsecureChannelCredentials());
  stub_ = v1::Controller::NewStub(channel_);
}

ServedController::~ServedController() {
  server_->Shutdown(absl::Seconds(1));
}

std::unique_ptr<grpc::ClientContext> Context(const std::string& token) {
  auto context = std::make_unique<grpc::ClientContext>();
  if (!token.empty()) context->AddMetadata("authorization", "Bearer " + token);
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  return context;
}

void Register(v1::Controller::Stub& stub, const std::string& id, int capacity) {
  v1::RegisterRequest request;
  request.set_worker_id(id);
  request.set_host("localhost");
  request.set_device("cpu");
  request.set_capacity(capacity);
  request.set_evaluator("test");
  v1::RegisterResponse response;
  REQUIRE(stub.Register(Context().get(), request, &response).ok());
}

v1::GetTaskResponse GetTask(v1::Controller::Stub& stub, const std::string& id) {
  v1::GetTaskRequest request;
  request.set_worker_id(id);
  v1::GetTaskResponse response;
  const grpc::Status s = stub.GetTask(Context().get(), request, &response);
  REQUIRE(s.ok());
  return response;
}

grpc::Status Report(v1::Controller::Stub& stub, const std::string& worker,
                    const v1::Task& task, double fitness, v1::ResultAck* ack,
                    bool ok, bool diverged) {
  v1::ResultReport report;
  report.set_worker_id(worker);
  report.set_model_id(task.model_id());
  report.set_attempt(task.attempt());
  report.set_ok(ok);
  report.set_fitness(fitness);
  report.set_diverged(diverged);
  report.set_failure(ok ? "" : "boom");
  report.set_evaluator("test");
  report.set_search_id(task.search_id());
  return stub.ReportResult(Context().get(), report, ack);
}

std::string ListServicesByReflection(std::shared_ptr<grpc::Channel> channel) {
  grpc::GenericStub stub(channel);
  grpc::CompletionQueue cq;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  auto call = stub.PrepareCall(
      &context, "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", &cq);
  void* tag = nullptr;
  bool ok = false;
  auto next = [&] {
    REQUIRE(cq.AsyncNext(&tag, &ok, std::chrono::system_clock::now() +
                                        std::chrono::seconds(10)) ==
            grpc::CompletionQueue::GOT_EVENT);
    return ok;
  };
  call->StartCall(reinterpret_cast<void*>(1));
  REQUIRE(next());
  const char request_bytes[] = {0x3a, 0x00};  // field 7, length 0
  grpc::Slice slice(request_bytes, sizeof(request_bytes));
  grpc::ByteBuffer request(&slice, 1);
  call->Write(request, reinterpret_cast<void*>(2));
  REQUIRE(next());
  grpc::ByteBuffer response;
  call->Read(&response, reinterpret_cast<void*>(3));
  REQUIRE(next());
  std::vector<grpc::Slice> slices;
  REQUIRE(response.Dump(&slices).ok());
  std::string bytes;
  for (const auto& s : slices) {
    bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  }
  context.TryCancel();
  cq.Shutdown();
  while (cq.Next(&tag, &ok)) {
  }
  return bytes;
}

double FitnessOf(const std::string& text) {
  return static_cast<double>(std::hash<std::string>()(text) % 1000) / 1000.0;
}

}  // namespace amoeba
