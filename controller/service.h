// The amoeba.v1.Controller gRPC service over a Controller (many searches,
// one fleet): one handler per RPC. The server that hosts it is server.h;
// the checks every handler makes of its request are request_checks.h.
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

class ControllerMetrics;  // controller_metrics.h

class ControllerService final : public v1::Controller::Service {
 public:
  // `controller` must outlive the service. Empty `token`: no
  // authentication. At most `max_watchers` WatchEvents streams at once (each
  // holds a server thread); more are answered RESOURCE_EXHAUSTED.
  // `metrics` (optional) must outlive the service too.
  ControllerService(Controller* controller, std::string token,
                    int max_watchers = 64,
                    ControllerMetrics* metrics = nullptr);

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
  // ReportResult's work; ReportResult counts what it refuses.
  grpc::Status RecordResult(grpc::ServerContext* context,
                            const v1::ResultReport* request,
                            v1::ResultAck* response);
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
  ControllerMetrics* const metrics_;  // may be null
  std::atomic<bool> shutting_down_{false};
  std::atomic<int> watchers_{0};
};

}  // namespace amoeba

#endif  // AMOEBA_CONTROLLER_SERVICE_H_
