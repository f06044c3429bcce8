// The amoeba.v1.Controller gRPC service over a Controller (many searches,
// one fleet), and the server that
// hosts it (Spec + Start, as tensorstore's tsgrpc servers).
//
// Every handler validates its request first and answers InvalidArgument
// with a message that says what is wrong; worker and admin RPCs need the
// shared token when one is configured (Unauthenticated otherwise), while
// the read-only operator RPCs stay open.
#ifndef AMOEBA_CONTROLLER_SERVICE_H_
#define AMOEBA_CONTROLLER_SERVICE_H_

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/synchronization/notification.h"
#include "controller/controller.h"
#include "proto/controller.grpc.pb.h"

namespace amoeba {

class ControllerService final : public v1::Controller::Service {
 public:
  // `controller` must outlive the service. Empty `token`: no
  // authentication. At most `max_watchers` WatchEvents streams at once (each
  // holds a server thread); more are answered RESOURCE_EXHAUSTED.
  ControllerService(Controller* controller, std::string token,
                    int max_watchers = 64);

  // Makes WatchEvents streams end (server shutdown).
  void Shutdown() { shutting_down_ = true; }

  grpc::Status Register(grpc::ServerContext* context,
                        const v1::RegisterRequest* request,
                        v1::RegisterResponse* response) override;
  grpc::Status GetTask(grpc::ServerContext* context,
                       const v1::GetTaskRequest* request,
                       v1::GetTaskResponse* response) override;
  grpc::Status ReportProgress(grpc::ServerContext* context,
                              const v1::ProgressReport* request,
                              v1::ProgressAck* response) override;
  grpc::Status ReportResult(grpc::ServerContext* context,
                            const v1::ResultReport* request,
                            v1::ResultAck* response) override;
  grpc::Status Heartbeat(grpc::ServerContext* context,
                         const v1::HeartbeatRequest* request,
                         v1::HeartbeatResponse* response) override;
  grpc::Status GetStatus(grpc::ServerContext* context,
                         const v1::GetStatusRequest* request,
                         v1::SearchStatus* response) override;
  grpc::Status ListModels(grpc::ServerContext* context,
                          const v1::ListModelsRequest* request,
                          v1::ListModelsResponse* response) override;
  grpc::Status GetModel(grpc::ServerContext* context,
                        const v1::GetModelRequest* request,
                        v1::GetModelResponse* response) override;
  grpc::Status ListWorkers(grpc::ServerContext* context,
                           const v1::ListWorkersRequest* request,
                           v1::ListWorkersResponse* response) override;
  grpc::Status WatchEvents(grpc::ServerContext* context,
                           const v1::WatchEventsRequest* request,
                           grpc::ServerWriter<v1::SearchEvent>* writer) override;
  grpc::Status Pause(grpc::ServerContext* context,
                     const v1::AdminRequest* request,
                     v1::AdminResponse* response) override;
  grpc::Status Resume(grpc::ServerContext* context,
                      const v1::AdminRequest* request,
                      v1::AdminResponse* response) override;
  grpc::Status Stop(grpc::ServerContext* context,
                    const v1::AdminRequest* request,
                    v1::AdminResponse* response) override;
  grpc::Status CreateSearch(grpc::ServerContext* context,
                            const v1::CreateSearchRequest* request,
                            v1::CreateSearchResponse* response) override;
  grpc::Status ListSearches(grpc::ServerContext* context,
                            const v1::ListSearchesRequest* request,
                            v1::ListSearchesResponse* response) override;
  grpc::Status CreateFinal(grpc::ServerContext* context,
                           const v1::CreateFinalRequest* request,
                           v1::CreateSearchResponse* response) override;
  grpc::Status UploadCheckpoint(grpc::ServerContext* context,
                                grpc::ServerReader<v1::CheckpointChunk>* reader,
                                v1::CheckpointAck* response) override;
  grpc::Status DownloadCheckpoint(
      grpc::ServerContext* context, const v1::CheckpointRequest* request,
      grpc::ServerWriter<v1::CheckpointChunk>* writer) override;

  // Bytes per DownloadCheckpoint message (well under gRPC's 4 MiB limit).
  static constexpr size_t kCheckpointChunkBytes = 1 << 20;

 private:
  grpc::Status Authorize(grpc::ServerContext* context) const;
  // The search a read or admin request names (empty: the only one).
  grpc::Status FindSearch(const std::string& search_id, Search** search);
  // Pause, Resume and Stop.
  grpc::Status ChangeRunState(
      grpc::ServerContext* context, const v1::AdminRequest* request,
      absl::StatusOr<std::string> (Search::*change)(),
      v1::AdminResponse* response);

  Controller* const controller_;
  const std::string token_;
  const int max_watchers_;
  std::atomic<bool> shutting_down_{false};
  std::atomic<int> watchers_{0};
};

// absl::Status -> grpc::Status with the same code and message.
grpc::Status ToGrpcStatus(const absl::Status& status);

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

#endif  // AMOEBA_CONTROLLER_SERVICE_H_
