// The process that serves a Controller: the amoeba.v1.Controller service
// (service.h), server reflection for grpcurl, TLS and the token rule, and
// the thread that expires leases. A Spec + Start(Spec), as tensorstore's
// tsgrpc servers; port 0 picks a free port.
#ifndef AMOEBA_CONTROLLER_SERVER_H_
#define AMOEBA_CONTROLLER_SERVER_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "controller/controller.h"
#include "controller/service.h"

namespace amoeba {

class ControllerMetrics;  // controller_metrics.h

class ControllerServer {
 public:
  struct Spec {
    std::string address = "127.0.0.1";
    int port = 0;  // 0: any free port; port() tells which
    std::string token;
    // TLS from PEM files; with a client CA, clients must present a
    // certificate it signed (mutual TLS).
    std::string tls_cert_file;
    std::string tls_key_file;
    std::string tls_client_ca_file;
    int max_message_bytes = 4 << 20;
    // Listening beyond loopback without a token is refused unless this is
    // set (then it is logged as a warning): anyone who can reach the port
    // could report results, take children and stop the search.
    bool insecure = false;
    // Concurrent WatchEvents streams allowed (each holds a thread).
    int max_watchers = 64;
    // Where the service reports dispatch latencies; null: nowhere. Must
    // outlive the server.
    ControllerMetrics* metrics = nullptr;
  };

  // InvalidArgument when `spec` would listen beyond loopback without a token
  // and without `insecure` (Start checks it too; callers check first so
  // that nothing is created before the refusal).
  static absl::Status CheckSecurity(const Spec& spec);

  // Starts serving `controller` (which must outlive the server), plus
  // server reflection and a lease-expiry thread.
  static absl::StatusOr<std::unique_ptr<ControllerServer>> Start(
      const Spec& spec, Controller* controller);

  ~ControllerServer();
  int port() const { return port_; }
  // Stops accepting calls, lets running ones finish (up to `deadline`).
  void Shutdown(absl::Duration deadline = absl::Seconds(5));

 private:
  ControllerServer() = default;

  int port_ = 0;
  Controller* controller_ = nullptr;
  std::unique_ptr<ControllerService> service_;
  std::unique_ptr<grpc::Server> server_;
  absl::Notification stop_leases_;
  std::thread lease_thread_;
  bool shut_down_ = false;
};

}  // namespace amoeba

#endif  // AMOEBA_CONTROLLER_SERVER_H_
