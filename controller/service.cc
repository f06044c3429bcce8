#include "controller/service.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/checkpoint_file.h"
#include "controller/controller_metrics.h"
#include "controller/request_checks.h"
#include "glog/logging.h"

namespace amoeba {

ControllerService::ControllerService(Controller* controller, std::string token,
                                     int max_watchers,
                                     ControllerMetrics* metrics)
    : controller_(controller),
      token_(std::move(token)),
      max_watchers_(max_watchers),
      metrics_(metrics) {}

grpc::Status ControllerService::FindSearch(const std::string& search_id,
                                           Search** search) {
  if (auto s = CheckName("search_id", search_id, 64); !s.ok()) return s;
  absl::StatusOr<Search*> found = controller_->Find(search_id);
  if (!found.ok()) return ToGrpcStatus(found.status());
  *search = *found;
  return grpc::Status::OK;
}

grpc::Status ControllerService::Authorize(grpc::ServerContext* context) const {
  if (token_.empty()) return grpc::Status::OK;
  const auto& metadata = context->client_metadata();
  auto it = metadata.find("authorization");
  if (it == metadata.end()) {
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                        "missing token: send metadata 'authorization: Bearer "
                        "<token>'");
  }
  const std::string value(it->second.data(), it->second.size());
  if (value != "Bearer " + token_) {
    LOG(WARNING) << "refused a call with a wrong token from " << context->peer();
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "wrong token");
  }
  return grpc::Status::OK;
}

grpc::Status ControllerService::Register(grpc::ServerContext* context,
                                         const v1::RegisterRequest* request,
                                         v1::RegisterResponse* response) {
  if (auto s = Authorize(context); !s.ok()) return s;
  if (auto s = CheckWorkerId(request->worker_id()); !s.ok()) return s;
  for (auto [field, value] :
       {std::pair<const char*, const std::string*>{"host", &request->host()},
        {"device", &request->device()},
        {"evaluator", &request->evaluator()}}) {
    if (auto s = CheckName(field, *value); !s.ok()) return s;
  }
  if (request->capacity() < 0 || request->capacity() > 1024) {
    return Invalid(absl::StrFormat("capacity must be in 0..1024 (0 = 1), got %d",
                                   request->capacity()));
  }
  if (auto s = controller_->Register(*request); !s.ok()) {
    return ToGrpcStatus(s);
  }
  response->set_heartbeat_interval_ms(static_cast<int32_t>(
      absl::ToInt64Milliseconds(controller_->defaults().heartbeat_interval)));
  response->set_lease_timeout_ms(static_cast<int32_t>(
      absl::ToInt64Milliseconds(controller_->defaults().lease_timeout)));
  return grpc::Status::OK;
}

grpc::Status ControllerService::GetTask(grpc::ServerContext* context,
                                        const v1::GetTaskRequest* request,
                                        v1::GetTaskResponse* response) {
  if (auto s = Authorize(context); !s.ok()) return s;
  if (auto s = CheckWorkerId(request->worker_id()); !s.ok()) return s;
  if (auto s = CheckView(request->view()); !s.ok()) return s;
  const absl::Time start = absl::Now();
  auto task = controller_->GetTask(*request);
  if (!task.ok()) return ToGrpcStatus(task.status());
  *response = std::move(*task);
  if (metrics_ != nullptr && response->has_task()) {
    metrics_->ObserveDispatch(ControllerMetrics::Dispatch::kGetTask,
                              absl::Now() - start);
  }
  return grpc::Status::OK;
}

grpc::Status ControllerService::ReportProgress(grpc::ServerContext* context,
                                               const v1::ProgressReport* request,
                                               v1::ProgressAck* response) {
  if (auto s = Authorize(context); !s.ok()) return s;
  if (auto s = CheckWorkerId(request->worker_id()); !s.ok()) return s;
  if (request->model_id() < 1) {
    return Invalid(absl::StrCat("model_id must be >= 1, got ", request->model_id()));
  }
  if (request->epoch() < 0 || request->epoch() > 1000000) {
    return Invalid(absl::StrCat("epoch out of range: ", request->epoch()));
  }
  for (auto [field, value] : {std::pair<const char*, double>{"train_loss", request->train_loss()},
                              {"train_accuracy", request->train_accuracy()},
                              {"validation_accuracy", request->validation_accuracy()},
                              {"images_per_second", request->images_per_second()}}) {
    if (auto s = CheckFinite(field, value); !s.ok()) return s;
  }
  if (auto s = CheckName("search_id", request->search_id()); !s.ok()) return s;
  if (request->validation_accuracy() > 1) {
    return Invalid(absl::StrCat("validation_accuracy must be at most 1 (< 0: "
                                "not measured), got ",
                                request->validation_accuracy()));
  }
  auto answer = controller_->ReportProgress(*request);
  if (!answer.ok()) return ToGrpcStatus(answer.status());
  response->set_cancel(answer->cancel);
  response->set_stop(answer->stop);
  return grpc::Status::OK;
}

grpc::Status ControllerService::ReportResult(grpc::ServerContext* context,
                                             const v1::ResultReport* request,
                                             v1::ResultAck* response) {
  const grpc::Status status = RecordResult(context, request, response);
  if (metrics_ != nullptr) {
    using Refusal = ControllerMetrics::Refusal;
    if (!status.ok()) {
      metrics_->ResultRefused(
          status.error_code() == grpc::StatusCode::UNAUTHENTICATED
              ? Refusal::kUnauthenticated
          : status.error_code() == grpc::StatusCode::INVALID_ARGUMENT
              ? Refusal::kInvalid
              : Refusal::kRejected);
    } else if (!response->recorded()) {
      metrics_->ResultRefused(Refusal::kStale);
    }
  }
  return status;
}

grpc::Status ControllerService::RecordResult(grpc::ServerContext* context,
                                             const v1::ResultReport* request,
                                             v1::ResultAck* response) {
  if (auto s = Authorize(context); !s.ok()) return s;
  if (auto s = CheckWorkerId(request->worker_id()); !s.ok()) return s;
  if (request->model_id() < 1) {
    return Invalid(absl::StrCat("model_id must be >= 1, got ", request->model_id()));
  }
  if (request->ok() &&
      (!std::isfinite(request->fitness()) || request->fitness() < 0 ||
       request->fitness() > 1)) {
    return Invalid(absl::StrFormat(
        "fitness must be a validation accuracy in [0, 1], got %g",
        request->fitness()));
  }
  if (request->parameters() < 0 || request->multiply_adds() < 0 ||
      !(request->train_seconds() >= 0) || !(request->images_per_second() >= 0) ||
      !std::isfinite(request->train_seconds()) ||
      !std::isfinite(request->images_per_second())) {
    return Invalid(
        "parameters, multiply_adds, train_seconds and images_per_second must "
        "be finite and >= 0");
  }
  if (request->inherited_parameters() < 0 ||
      request->inherited_parameters() > request->parameters()) {
    return Invalid(absl::StrCat("inherited_parameters must be in 0..parameters (",
                                request->parameters(), "), got ",
                                request->inherited_parameters()));
  }
  if (auto s = CheckName("inheritance_failure", request->inheritance_failure(),
                         kMaxFailureBytes);
      !s.ok()) {
    return s;
  }
  if (auto s = CheckName("failure", request->failure(), kMaxFailureBytes); !s.ok()) {
    return s;
  }
  if (auto s = CheckName("evaluator", request->evaluator()); !s.ok()) return s;
  if (auto s = CheckName("search_id", request->search_id()); !s.ok()) return s;
  if (auto s = CheckView(request->view()); !s.ok()) return s;
  const absl::Time start = absl::Now();
  auto recorded = controller_->ReportResult(
      *request, request->next_task() ? response->mutable_next() : nullptr);
  if (!recorded.ok()) return ToGrpcStatus(recorded.status());
  response->set_recorded(*recorded);
  if (metrics_ != nullptr && response->next().has_task()) {
    metrics_->ObserveDispatch(ControllerMetrics::Dispatch::kWithResult,
                              absl::Now() - start);
  }
  return grpc::Status::OK;
}

grpc::Status ControllerService::Heartbeat(grpc::ServerContext* context,
                                          const v1::HeartbeatRequest* request,
                                          v1::HeartbeatResponse* response) {
  if (auto s = Authorize(context); !s.ok()) return s;
  if (auto s = CheckWorkerId(request->worker_id()); !s.ok()) return s;
  if (auto s = CheckView(request->view()); !s.ok()) return s;
  auto answer = controller_->Heartbeat(*request);
  if (!answer.ok()) return ToGrpcStatus(answer.status());
  *response = std::move(*answer);
  return grpc::Status::OK;
}

grpc::Status ControllerService::GetStatus(grpc::ServerContext*,
                                          const v1::GetStatusRequest* request,
                                          v1::SearchStatus* response) {
  Search* search = nullptr;
  if (auto s = FindSearch(request->search_id(), &search); !s.ok()) return s;
  *response = search->Status();
  return grpc::Status::OK;
}

grpc::Status ControllerService::ListModels(grpc::ServerContext*,
                                           const v1::ListModelsRequest* request,
                                           v1::ListModelsResponse* response) {
  if (!v1::ListModelsRequest::Filter_IsValid(request->filter())) {
    return Invalid(absl::StrCat("unknown filter ", request->filter(),
                                "; use ALL, POPULATION, HISTORY or FAILED"));
  }
  if (!v1::ListModelsRequest::Order_IsValid(request->order())) {
    return Invalid(absl::StrCat("unknown order ", request->order(),
                                "; use BY_ID, BY_FITNESS or BY_TIME"));
  }
  // Tokens this server hands out are short numbers; never echo much of
  // anything else.
  if (request->page_token().size() > 20) {
    return Invalid(absl::StrFormat(
        "page_token is %d bytes, not one this server handed out",
        request->page_token().size()));
  }
  Search* search = nullptr;
  if (auto s = FindSearch(request->search_id(), &search); !s.ok()) return s;
  auto models = search->ListModels(*request);
  if (!models.ok()) return ToGrpcStatus(models.status());
  *response = std::move(*models);
  return grpc::Status::OK;
}

grpc::Status ControllerService::GetModel(grpc::ServerContext*,
                                         const v1::GetModelRequest* request,
                                         v1::GetModelResponse* response) {
  if (request->id() < 1) {
    return Invalid(absl::StrCat("id must be >= 1, got ", request->id()));
  }
  Search* search = nullptr;
  if (auto s = FindSearch(request->search_id(), &search); !s.ok()) return s;
  auto model = search->GetModel(request->id());
  if (!model.ok()) return ToGrpcStatus(model.status());
  *response = std::move(*model);
  return grpc::Status::OK;
}

grpc::Status ControllerService::ListWorkers(grpc::ServerContext*,
                                            const v1::ListWorkersRequest* request,
                                            v1::ListWorkersResponse* response) {
  auto workers = controller_->ListWorkers(*request);
  if (!workers.ok()) return ToGrpcStatus(workers.status());
  *response = *std::move(workers);
  return grpc::Status::OK;
}

grpc::Status ControllerService::WatchEvents(
    grpc::ServerContext* context, const v1::WatchEventsRequest* request,
    grpc::ServerWriter<v1::SearchEvent>* writer) {
  Search* search = nullptr;
  if (auto s = FindSearch(request->search_id(), &search); !s.ok()) return s;
  // Each stream holds a server thread while it waits: bounded, so watchers
  // cannot starve the workers' calls.
  if (watchers_.fetch_add(1) >= max_watchers_) {
    watchers_.fetch_sub(1);
    return grpc::Status(
        grpc::StatusCode::RESOURCE_EXHAUSTED,
        absl::StrFormat("%d watchers already; try again later", max_watchers_));
  }
  struct Release {
    std::atomic<int>* count;
    ~Release() { count->fetch_sub(1); }
  } release{&watchers_};
  int64_t after = search->LatestEventSequence();
  // Initial metadata tells the client the watch is in place: every event from
  // here on reaches it. Without this a client could not know whether an
  // action it takes right after calling WatchEvents will be seen.
  writer->SendInitialMetadata();
  // A snapshot first, so a watcher of an idle search sees where it stands
  // at once instead of nothing.
  v1::SearchEvent snapshot;
  snapshot.set_kind(v1::SearchEvent::SNAPSHOT);
  *snapshot.mutable_status() = search->Status();
  snapshot.set_message(absl::AsciiStrToLower(
      v1::SearchState_Name(snapshot.status().state())));
  if (!writer->Write(snapshot)) return grpc::Status::OK;
  // Bounded waits so a cancelled client or a shutdown ends the stream.
  while (!context->IsCancelled() && !shutting_down_) {
    for (const v1::SearchEvent& event :
         search->WaitEvents(&after, absl::Milliseconds(250))) {
      if (!writer->Write(event)) return grpc::Status::OK;
    }
  }
  return grpc::Status::OK;
}

grpc::Status ControllerService::ChangeRunState(
    grpc::ServerContext* context, const v1::AdminRequest* request,
    absl::StatusOr<std::string> (Search::*change)(),
    v1::AdminResponse* response) {
  if (auto s = Authorize(context); !s.ok()) return s;
  Search* search = nullptr;
  if (auto s = FindSearch(request->search_id(), &search); !s.ok()) return s;
  auto state = (search->*change)();
  if (!state.ok()) return ToGrpcStatus(state.status());
  response->set_state(SearchStateFromName(*state));
  return grpc::Status::OK;
}

grpc::Status ControllerService::Pause(grpc::ServerContext* context,
                                      const v1::AdminRequest* request,
                                      v1::AdminResponse* response) {
  return ChangeRunState(context, request, &Search::Pause, response);
}

grpc::Status ControllerService::Resume(grpc::ServerContext* context,
                                       const v1::AdminRequest* request,
                                       v1::AdminResponse* response) {
  return ChangeRunState(context, request, &Search::Resume, response);
}

grpc::Status ControllerService::Stop(grpc::ServerContext* context,
                                     const v1::AdminRequest* request,
                                     v1::AdminResponse* response) {
  return ChangeRunState(context, request, &Search::Stop, response);
}

grpc::Status ControllerService::CreateSearch(
    grpc::ServerContext* context, const v1::CreateSearchRequest* request,
    v1::CreateSearchResponse* response) {
  if (auto s = Authorize(context); !s.ok()) return s;
  if (auto s = CheckNewSearchId(request->search_id()); !s.ok()) return s;
  const v1::TrainingSettings& t = request->config().settings();
  if (auto s = CheckName("config.algorithm", request->config().algorithm(), 64);
      !s.ok()) {
    return s;
  }
  if (auto s = CheckName("config.settings.dataset", t.dataset(), 64); !s.ok()) {
    return s;
  }
  auto search = controller_->CreateSearch(request->search_id(),
                                          request->config());
  if (!search.ok()) return ToGrpcStatus(search.status());
  response->set_search_id((*search)->search_id());
  *response->mutable_status() = (*search)->Status();
  return grpc::Status::OK;
}

grpc::Status ControllerService::CreateFinal(
    grpc::ServerContext* context, const v1::CreateFinalRequest* request,
    v1::CreateSearchResponse* response) {
  if (auto s = Authorize(context); !s.ok()) return s;
  if (auto s = CheckNewSearchId(request->search_id()); !s.ok()) return s;
  if (auto s = CheckName("settings.dataset", request->settings().dataset(), 64);
      !s.ok()) {
    return s;
  }
  auto search = controller_->CreateFinal(*request);
  if (!search.ok()) return ToGrpcStatus(search.status());
  response->set_search_id((*search)->search_id());
  *response->mutable_status() = (*search)->Status();
  return grpc::Status::OK;
}

grpc::Status ControllerService::UploadCheckpoint(
    grpc::ServerContext* context,
    grpc::ServerReader<v1::CheckpointChunk>* reader,
    v1::CheckpointAck* response) {
  if (auto s = Authorize(context); !s.ok()) return s;
  v1::CheckpointChunk chunk;
  if (!reader->Read(&chunk) || !chunk.has_header()) {
    return Invalid("the first checkpoint message must carry the header");
  }
  const v1::CheckpointHeader header = chunk.header();
  if (auto s = CheckWorkerId(header.worker_id()); !s.ok()) return s;
  if (header.model_id() < 1 || header.attempt() < 1 || header.size() < 0) {
    return Invalid("checkpoint header needs model_id, attempt >= 1, size >= 0");
  }
  // Who may write, the size and the slot are settled by the header: a
  // stale or forged uploader is answered after one message, and the
  // payload streams to a file instead of memory.
  auto upload = controller_->BeginCheckpoint(header);
  if (!upload.ok()) return ToGrpcStatus(upload.status());
  if (*upload != nullptr) {
    bool first = true;
    do {
      if (chunk.has_header() && !first) {
        return Invalid("only the first checkpoint message carries a header");
      }
      first = false;
      if (auto s = (*upload)->Append(chunk.data()); !s.ok()) {
        return ToGrpcStatus(s);
      }
      chunk.Clear();
    } while (reader->Read(&chunk));
  }
  auto kept = controller_->CommitCheckpoint(header, *std::move(upload));
  if (!kept.ok()) return ToGrpcStatus(kept.status());
  response->set_epoch(*kept);
  return grpc::Status::OK;
}

grpc::Status ControllerService::DownloadCheckpoint(
    grpc::ServerContext* context, const v1::CheckpointRequest* request,
    grpc::ServerWriter<v1::CheckpointChunk>* writer) {
  if (auto s = Authorize(context); !s.ok()) return s;
  if (auto s = CheckWorkerId(request->worker_id()); !s.ok()) return s;
  // Streamed from the file: one message in memory, whatever the size.
  auto reader = controller_->OpenCheckpoint(*request);
  if (!reader.ok()) return ToGrpcStatus(reader.status());
  v1::CheckpointChunk chunk;
  v1::CheckpointHeader* header = chunk.mutable_header();
  header->set_worker_id(request->worker_id());
  header->set_search_id(request->search_id());
  header->set_model_id(request->model_id());
  header->set_attempt(request->attempt());
  header->set_epoch((*reader)->epoch());
  header->set_size(static_cast<int64_t>((*reader)->size()));
  header->set_crc32((*reader)->crc());
  header->set_weights(request->parent_weights());
  uint64_t sent = 0;
  bool first = true;
  do {
    auto piece = (*reader)->Read(kCheckpointChunkBytes);
    if (!piece.ok()) return ToGrpcStatus(piece.status());
    // Shorter than its header says: Finish reports it.
    if (piece->empty() && !first) break;
    first = false;
    sent += piece->size();
    chunk.set_data(*std::move(piece));
    if (!writer->Write(chunk)) {
      return grpc::Status(grpc::StatusCode::CANCELLED, "the worker went away");
    }
    chunk.clear_header();
  } while (sent < (*reader)->size());
  // A damaged file is found here, after its bytes went out: the worker
  // checks size and checksum too, and the status says DATA_LOSS.
  if (auto s = (*reader)->Finish(); !s.ok()) return ToGrpcStatus(s);
  return grpc::Status::OK;
}

grpc::Status ControllerService::ListSearches(
    grpc::ServerContext*, const v1::ListSearchesRequest*,
    v1::ListSearchesResponse* response) {
  for (Search* search : controller_->Searches()) {
    *response->add_searches() = search->Status();
  }
  return grpc::Status::OK;
}

}  // namespace amoeba
