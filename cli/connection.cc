#include "cli/connection.h"

#include <chrono>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "common/daemon_setup.h"
#include "gflags/gflags.h"

DEFINE_string(controller, "127.0.0.1:50051", "controller address host:port");
DEFINE_string(token_file, "", "file holding the controller's token (admin commands)");
DEFINE_string(tls_ca, "", "PEM CA of the controller's certificate (TLS)");
DEFINE_string(tls_cert, "", "PEM client certificate (mutual TLS)");
DEFINE_string(tls_key, "", "PEM client key (mutual TLS)");
DEFINE_string(search, "",
              "the search a command is about (may be left out while the "
              "controller or store has exactly one)");

namespace amoeba {
namespace {

std::string* Token() {
  static std::string* token = new std::string;
  return token;
}

absl::StatusOr<std::string> ReadPem(const char* flag, const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  if (!in || text.str().empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot read --", flag, "=", path));
  }
  return text.str();
}

}  // namespace

std::string ControllerAddress() { return FLAGS_controller; }

absl::StatusOr<std::unique_ptr<v1::Controller::Stub>> ConnectToController() {
  if (!FLAGS_token_file.empty()) {
    absl::StatusOr<std::string> token = ReadTokenFile(FLAGS_token_file);
    if (!token.ok()) return token.status();
    *Token() = *token;
  }
  std::shared_ptr<grpc::ChannelCredentials> credentials =
      grpc::InsecureChannelCredentials();
  if (!FLAGS_tls_ca.empty()) {
    grpc::SslCredentialsOptions ssl;
    absl::StatusOr<std::string> ca = ReadPem("tls_ca", FLAGS_tls_ca);
    if (!ca.ok()) return ca.status();
    ssl.pem_root_certs = *ca;
    if (!FLAGS_tls_cert.empty() || !FLAGS_tls_key.empty()) {
      absl::StatusOr<std::string> cert = ReadPem("tls_cert", FLAGS_tls_cert);
      if (!cert.ok()) return cert.status();
      absl::StatusOr<std::string> key = ReadPem("tls_key", FLAGS_tls_key);
      if (!key.ok()) return key.status();
      ssl.pem_cert_chain = *cert;
      ssl.pem_private_key = *key;
    }
    credentials = grpc::SslCredentials(ssl);
  } else if (!FLAGS_tls_cert.empty() || !FLAGS_tls_key.empty()) {
    return absl::InvalidArgumentError(
        "--tls_cert/--tls_key need --tls_ca (the CA of the controller's "
        "certificate)");
  }
  return v1::Controller::NewStub(grpc::CreateChannel(FLAGS_controller, credentials));
}

std::unique_ptr<grpc::ClientContext> CallContext() {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  if (!Token()->empty()) {
    context->AddMetadata("authorization", "Bearer " + *Token());
  }
  return context;
}

std::string ConnectionFlagsHelp() {
  return R"(  --controller=HOST:PORT   the controller (default 127.0.0.1:50051)
  --token_file=FILE        the controller's token (needed for pause/resume/stop
                           when the controller has one)
  --tls_ca=PEM             TLS: the CA of the controller's certificate
  --tls_cert=PEM --tls_key=PEM   mutual TLS: this client's certificate
  --search=ID              the search (may be left out while there is one)
)";
}

std::string SearchFlag() { return FLAGS_search; }

}  // namespace amoeba
