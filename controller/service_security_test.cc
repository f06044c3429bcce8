// What the server refuses: missing tokens, malformed and hostile requests,
// listening beyond loopback without a token; TLS; a port it cannot take.
#include "controller/server.h"

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <limits>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "catch2/catch.hpp"
#include "controller/service_test_fixture.h"
#include "proto/controller.grpc.pb.h"
#include "testing/test_files.h"

namespace amoeba {
namespace {

TEST_CASE("Tokens, malformed requests and reflection") {
  ServedController controller(FreshSqlitePath("bad.db"), SmallSearch());
  v1::GetTaskRequest request;
  request.set_worker_id("w");
  v1::GetTaskResponse response;
  CHECK(controller.stub().GetTask(Context("wrong").get(), request, &response).error_code() ==
        grpc::StatusCode::UNAUTHENTICATED);
  const grpc::Status missing = controller.stub().GetTask(Context("").get(), request, &response);
  CHECK(missing.error_code() == grpc::StatusCode::UNAUTHENTICATED);
  CHECK_THAT(missing.error_message(), Catch::Contains("authorization: Bearer"));
  v1::AdminResponse admin;
  CHECK(controller.stub().Pause(Context("").get(), v1::AdminRequest(), &admin).error_code() ==
        grpc::StatusCode::UNAUTHENTICATED);
  v1::SearchStatus status;
  CHECK(controller.stub().GetStatus(Context("").get(), v1::GetStatusRequest(), &status).ok());

  // Unregistered worker.
  const grpc::Status unknown = controller.stub().GetTask(Context().get(), request, &response);
  CHECK(unknown.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  CHECK_THAT(unknown.error_message(), Catch::Contains("call Register first"));
  request.set_worker_id("");
  CHECK(controller.stub().GetTask(Context().get(), request, &response).error_code() ==
        grpc::StatusCode::INVALID_ARGUMENT);

  Register(controller.stub(), "w");
  const v1::Task task = GetTask(controller.stub(), "w").task();
  v1::ResultAck ack;
  const grpc::Status bad_fitness = Report(controller.stub(), "w", task, 1.5, &ack);
  CHECK(bad_fitness.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK_THAT(bad_fitness.error_message(), Catch::Contains("fitness must be"));
  v1::Task wrong_attempt = task;
  wrong_attempt.set_attempt(5);
  const grpc::Status attempt = Report(controller.stub(), "w", wrong_attempt, 0.5, &ack);
  CHECK(attempt.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK_THAT(attempt.error_message(), Catch::Contains("attempt 5 does not exist"));
  v1::Task unknown_task = task;
  unknown_task.set_model_id(999);
  CHECK(Report(controller.stub(), "w", unknown_task, 0.5, &ack).error_code() ==
        grpc::StatusCode::NOT_FOUND);
  v1::GetModelRequest get;
  v1::GetModelResponse model;
  CHECK(controller.stub().GetModel(Context("").get(), get, &model).error_code() ==
        grpc::StatusCode::INVALID_ARGUMENT);
  v1::ListModelsRequest list;
  list.set_page_token("abc");
  v1::ListModelsResponse models;
  CHECK(controller.stub().ListModels(Context("").get(), list, &models).error_code() ==
        grpc::StatusCode::INVALID_ARGUMENT);
  // An oversized message is refused by the server.
  v1::ResultReport huge;
  huge.set_worker_id("w");
  huge.set_model_id(task.model_id());
  huge.set_attempt(1);
  huge.set_failure(std::string(5 << 20, 'x'));
  CHECK(controller.stub().ReportResult(Context().get(), huge, &ack).error_code() ==
        grpc::StatusCode::RESOURCE_EXHAUSTED);

  // What grpcurl sees: the services listed through server reflection. The
  // reflection messages' classes live in libgrpc++_reflection, so the call
  // is made generically with the request encoded by hand: field 7
  // (list_services) = "".
  CHECK_THAT(ListServicesByReflection(controller.channel()),
             Catch::Contains("amoeba.v1.Controller"));
}

TEST_CASE("Hostile values: enums, non-finite numbers, long strings, long page tokens") {
  ServedController controller(FreshSqlitePath("hostile.db"), SmallSearch());
  // Unknown enum values.
  v1::ListModelsRequest list;
  v1::ListModelsResponse models;
  list.set_filter(static_cast<v1::ListModelsRequest::Filter>(99));
  CHECK(controller.stub().ListModels(Context("").get(), list, &models).error_code() ==
        grpc::StatusCode::INVALID_ARGUMENT);
  list.set_filter(v1::ListModelsRequest::ALL);
  list.set_order(static_cast<v1::ListModelsRequest::Order>(-1));
  CHECK(controller.stub().ListModels(Context("").get(), list, &models).error_code() ==
        grpc::StatusCode::INVALID_ARGUMENT);
  // A 200 KB page token: refused at once, echoed only in part.
  list.set_order(v1::ListModelsRequest::BY_ID);
  list.set_page_token(std::string(200 << 10, '7') + "x");
  const grpc::Status token = controller.stub().ListModels(Context("").get(), list, &models);
  CHECK(token.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(token.error_message().size() < 200);
  // The channel still works.
  v1::SearchStatus status;
  CHECK(controller.stub().GetStatus(Context("").get(), v1::GetStatusRequest(), &status).ok());

  // Long free text on the way in.
  v1::RegisterRequest fat;
  fat.set_worker_id("w");
  fat.set_host(std::string(1500 << 10, 'h'));
  v1::RegisterResponse registered;
  CHECK(controller.stub().Register(Context().get(), fat, &registered).error_code() ==
        grpc::StatusCode::INVALID_ARGUMENT);
  fat.set_host("h");
  fat.set_evaluator(std::string(300, 'e'));
  CHECK(controller.stub().Register(Context().get(), fat, &registered).error_code() ==
        grpc::StatusCode::INVALID_ARGUMENT);

  Register(controller.stub(), "w");
  const v1::Task task = GetTask(controller.stub(), "w").task();
  v1::ResultReport report;
  report.set_worker_id("w");
  report.set_model_id(task.model_id());
  report.set_attempt(task.attempt());
  report.set_search_id(task.search_id());
  report.set_ok(true);
  report.set_fitness(0.5);
  report.set_evaluator(std::string(2500 << 10, 'e'));
  v1::ResultAck ack;
  CHECK(controller.stub().ReportResult(Context().get(), report, &ack).error_code() ==
        grpc::StatusCode::INVALID_ARGUMENT);
  report.set_evaluator("test");
  report.set_train_seconds(std::numeric_limits<double>::infinity());
  CHECK(controller.stub().ReportResult(Context().get(), report, &ack).error_code() ==
        grpc::StatusCode::INVALID_ARGUMENT);
  report.set_train_seconds(1);
  report.set_images_per_second(std::nan(""));
  CHECK(controller.stub().ReportResult(Context().get(), report, &ack).error_code() ==
        grpc::StatusCode::INVALID_ARGUMENT);

  // NaN in progress; progress of a child that never existed.
  v1::ProgressReport progress;
  progress.set_worker_id("w");
  progress.set_model_id(task.model_id());
  progress.set_attempt(task.attempt());
  progress.set_train_loss(std::nan(""));
  v1::ProgressAck pack;
  CHECK(controller.stub().ReportProgress(Context().get(), progress, &pack).error_code() ==
        grpc::StatusCode::INVALID_ARGUMENT);
  progress.set_train_loss(0.5);
  progress.set_model_id(123456);
  CHECK(controller.stub().ReportProgress(Context().get(), progress, &pack).error_code() ==
        grpc::StatusCode::NOT_FOUND);
  CHECK(controller.search().CheckInvariants().ok());
}

TEST_CASE("TLS and mutual TLS from certificate files") {
  const std::string dir = FreshTestDir("tls");
  // A self-signed certificate for localhost/127.0.0.1; it is also the CA
  // that signed itself, so it serves as client certificate and client CA.
  const std::string command =
      "openssl req -x509 -newkey rsa:2048 -nodes -keyout " + dir +
      "/key.pem -out " + dir + "/cert.pem -days 2 -subj /CN=localhost "
      "-addext subjectAltName=DNS:localhost,IP:127.0.0.1 2>/dev/null";
  REQUIRE(std::system(command.c_str()) == 0);
  auto search = OpenSingleSearchController(dir + "/search.db", SmallSearch());
  REQUIRE(search.ok());
  ControllerServer::Spec spec;
  spec.tls_cert_file = dir + "/cert.pem";
  spec.tls_key_file = dir + "/key.pem";
  spec.tls_client_ca_file = dir + "/cert.pem";
  auto server = ControllerServer::Start(spec, search->get());
  REQUIRE(server.ok());
  const std::string address = absl::StrCat("localhost:", (*server)->port());
  auto status_with = [&](std::shared_ptr<grpc::ChannelCredentials> creds) {
    auto stub = v1::Controller::NewStub(grpc::CreateChannel(address, creds));
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    v1::SearchStatus status;
    return stub->GetStatus(&context, v1::GetStatusRequest(), &status);
  };
  grpc::SslCredentialsOptions with_cert;
  with_cert.pem_root_certs = ReadWholeFile(dir + "/cert.pem");
  with_cert.pem_cert_chain = ReadWholeFile(dir + "/cert.pem");
  with_cert.pem_private_key = ReadWholeFile(dir + "/key.pem");
  CHECK(status_with(grpc::SslCredentials(with_cert)).ok());
  grpc::SslCredentialsOptions without_cert;
  without_cert.pem_root_certs = ReadWholeFile(dir + "/cert.pem");
  CHECK_FALSE(status_with(grpc::SslCredentials(without_cert)).ok());
  CHECK_FALSE(status_with(grpc::InsecureChannelCredentials()).ok());
  (*server)->Shutdown(absl::Seconds(1));

  ControllerServer::Spec half;
  half.tls_cert_file = dir + "/cert.pem";
  CHECK(ControllerServer::Start(half, search->get()).status().code() ==
        absl::StatusCode::kInvalidArgument);
}

TEST_CASE("A controller that cannot listen says so and does not crash") {
  const std::string dir = FreshTestDir("no-listen");
  auto search = OpenSingleSearchController(dir + "/search.db", SmallSearch());
  REQUIRE(search.ok());
  // The port is taken.
  auto first = ControllerServer::Start(ControllerServer::Spec(), search->get());
  REQUIRE(first.ok());
  ControllerServer::Spec taken;
  taken.port = (*first)->port();
  auto second = ControllerServer::Start(taken, search->get());
  REQUIRE_FALSE(second.ok());
  CHECK(second.status().code() == absl::StatusCode::kUnavailable);
  CHECK_THAT(std::string(second.status().message()), Catch::Contains("cannot listen"));
  (*first)->Shutdown(absl::Seconds(1));
  // Garbage, empty and mismatched certificates and keys.
  std::ofstream(dir + "/garbage.pem") << "not a certificate";
  std::ofstream(dir + "/empty.pem");
  REQUIRE(std::system(("openssl req -x509 -newkey rsa:2048 -nodes -keyout " + dir +
                       "/key.pem -out " + dir + "/cert.pem -days 2 -subj /CN=a "
                       "2>/dev/null && openssl genrsa -out " + dir +
                       "/other.pem 2048 2>/dev/null")
                          .c_str()) == 0);
  for (auto [cert, key] : std::vector<std::pair<std::string, std::string>>{
           {"garbage.pem", "garbage.pem"},
           {"empty.pem", "key.pem"},
           {"cert.pem", "other.pem"}}) {
    ControllerServer::Spec tls;
    tls.tls_cert_file = dir + "/" + cert;
    tls.tls_key_file = dir + "/" + key;
    auto server = ControllerServer::Start(tls, search->get());
    CHECK_FALSE(server.ok());
  }
}

TEST_CASE("Beyond loopback without a token needs --insecure") {
  auto search = OpenSingleSearchController(FreshSqlitePath("insecure.db"), SmallSearch());
  REQUIRE(search.ok());
  ControllerServer::Spec open;
  open.address = "0.0.0.0";
  auto refused = ControllerServer::Start(open, search->get());
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(std::string(refused.status().message()), Catch::Contains("--insecure"));
  open.insecure = true;
  auto allowed = ControllerServer::Start(open, search->get());
  REQUIRE(allowed.ok());
  (*allowed)->Shutdown(absl::Seconds(1));
  ControllerServer::Spec with_token;
  with_token.address = "0.0.0.0";
  with_token.token = "t0ken";
  auto tokened = ControllerServer::Start(with_token, search->get());
  REQUIRE(tokened.ok());
  (*tokened)->Shutdown(absl::Seconds(1));
}

}  // namespace
}  // namespace amoeba
