#include "controller/server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/security/server_credentials.h>

#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "glog/logging.h"

namespace amoeba {
namespace {

bool IsLoopback(const std::string& address) {
  return address == "localhost" || address == "::1" || address == "[::1]" ||
         absl::StartsWith(address, "127.");
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// Plaintext, TLS, or mutual TLS from the spec's PEM files.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> Credentials(
    const ControllerServer::Spec& spec) {
  if (!spec.tls_client_ca_file.empty() && spec.tls_cert_file.empty()) {
    return absl::InvalidArgumentError(
        "a client CA (mutual TLS) needs the server's certificate and key");
  }
  std::shared_ptr<grpc::ServerCredentials> credentials =
      grpc::InsecureServerCredentials();
  if (!spec.tls_cert_file.empty()) {
    grpc::SslServerCredentialsOptions ssl(
        spec.tls_client_ca_file.empty()
            ? GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE
            : GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
    auto cert = ReadFile(spec.tls_cert_file);
    if (!cert.ok()) return cert.status();
    auto key = ReadFile(spec.tls_key_file);
    if (!key.ok()) return key.status();
    ssl.pem_key_cert_pairs.push_back({*key, *cert});
    if (!spec.tls_client_ca_file.empty()) {
      auto ca = ReadFile(spec.tls_client_ca_file);
      if (!ca.ok()) return ca.status();
      ssl.pem_root_certs = *ca;
    }
    credentials = grpc::SslServerCredentials(ssl);
  }
  return credentials;
}

}  // namespace

absl::Status ControllerServer::CheckSecurity(const Spec& spec) {
  if (spec.token.empty() && !IsLoopback(spec.address) && !spec.insecure) {
    return absl::InvalidArgumentError(absl::StrCat(
        "listening on ", spec.address,
        " (beyond this host) without a token would let anyone who can "
        "reach the port report results, take children and stop the "
        "search; give --token_file, or --insecure to accept that"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<ControllerServer>> ControllerServer::Start(
    const Spec& spec, Controller* controller) {
  if (spec.port < 0 || spec.port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("port must be in 0..65535, got ", spec.port));
  }
  if (spec.tls_cert_file.empty() != spec.tls_key_file.empty()) {
    return absl::InvalidArgumentError(
        "TLS needs both a certificate and a key file");
  }
  if (absl::Status s = CheckSecurity(spec); !s.ok()) return s;
  if (spec.token.empty() && !IsLoopback(spec.address)) {
    LOG(WARNING) << "listening on " << spec.address
                 << " without a token (--insecure): anyone who can reach the "
                    "port can report results and stop the search";
  }
  auto credentials = Credentials(spec);
  if (!credentials.ok()) return credentials.status();
  std::unique_ptr<ControllerServer> server(new ControllerServer());
  server->controller_ = controller;
  server->service_ = std::make_unique<ControllerService>(
      controller, spec.token, spec.max_watchers, spec.metrics);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  const std::string address =
      absl::StrCat(absl::StrContains(spec.address, ':') ? "[" : "",
                   spec.address, absl::StrContains(spec.address, ':') ? "]" : "",
                   ":", spec.port);
  // gRPC sets SO_REUSEPORT by default: a second controller on the same port
  // would then start and share the traffic instead of failing.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.AddListeningPort(address, *credentials, &server->port_);
  builder.RegisterService(server->service_.get());
  builder.SetMaxReceiveMessageSize(spec.max_message_bytes);
  builder.SetMaxSendMessageSize(spec.max_message_bytes);
  // Handlers block until their write is durable, so many are in flight at
  // once. With gRPC's default (at most 2 idle pollers) the server created
  // and destroyed a thread per request under load (~1,000 clone3/s in
  // controller_loadgen); keeping up to 64 idle threads removed that cost
  // (docs/benchmarks.md).
  builder.SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::MIN_POLLERS, 4);
  builder.SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::MAX_POLLERS, 64);
  server->server_ = builder.BuildAndStart();
  if (server->server_ == nullptr || server->port_ == 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", address,
                     " (address in use, or a bad TLS certificate/key?)"));
  }
  ControllerServer* raw = server.get();
  server->lease_thread_ = std::thread([raw] {
    // The period follows the searches' shortest lease timeout (searches
    // come and go).
    while (!raw->stop_leases_.WaitForNotificationWithTimeout(
        raw->controller_->ExpiryPeriod())) {
      raw->controller_->ExpireLeases();
    }
  });
  LOG(INFO) << "controller listening on " << spec.address << ":" << server->port_
            << (spec.tls_cert_file.empty() ? " (plaintext)" : " (TLS)")
            << (spec.token.empty() ? "" : ", token required");
  return server;
}

void ControllerServer::Shutdown(absl::Duration deadline) {
  if (shut_down_) return;
  shut_down_ = true;
  if (service_ != nullptr) service_->Shutdown();
  // Null when the server never started (it could not listen).
  if (server_ != nullptr) {
    server_->Shutdown(std::chrono::system_clock::now() +
                      absl::ToChronoMilliseconds(deadline));
  }
  stop_leases_.Notify();
  if (lease_thread_.joinable()) lease_thread_.join();
}

ControllerServer::~ControllerServer() { Shutdown(); }

}  // namespace amoeba
