#include "worker/checkpointer.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <functional>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "common/atomic_file.h"
#include "common/status_macros.h"

namespace amoeba {

v1::CheckpointHeader CheckpointHeaderFor(const std::string& worker_id,
                                         const v1::Task& task, int epoch,
                                         const std::string& state) {
  v1::CheckpointHeader header;
  header.set_worker_id(worker_id);
  header.set_search_id(task.search_id());
  header.set_model_id(task.model_id());
  header.set_attempt(task.attempt());
  header.set_epoch(epoch);
  header.set_size(static_cast<int64_t>(state.size()));
  header.set_crc32(Crc32(state));
  return header;
}

std::string FolderCheckpointer::PathOf(const v1::Task& task, int epoch) const {
  return absl::StrCat(dir_, "/", task.search_id(), "/", task.model_id(), ".e",
                      epoch, ".ckpt");
}

std::vector<std::pair<int, std::string>> FolderCheckpointer::Files(
    const std::string& search_id, int64_t child) const {
  std::vector<std::pair<int, std::string>> files;
  const std::filesystem::path folder = std::filesystem::path(dir_) / search_id;
  const std::string prefix = absl::StrCat(child, ".");
  std::error_code error;
  std::filesystem::directory_iterator it(folder, error);
  for (; !error && it != std::filesystem::directory_iterator();
       it.increment(error)) {
    const std::string name = it->path().filename().string();
    absl::string_view rest = name;
    if (IsTemporaryName(name) || !absl::ConsumePrefix(&rest, prefix) ||
        !absl::ConsumeSuffix(&rest, "ckpt")) {
      continue;
    }
    int epoch = 0;
    if (rest.empty()) {  // <child>.ckpt: the single-file layout
      absl::StatusOr<int> header = ReadCheckpointEpoch(it->path().string());
      epoch = header.ok() ? *header : 0;
    } else if (!absl::ConsumePrefix(&rest, "e") ||
               !absl::ConsumeSuffix(&rest, ".") ||
               !absl::SimpleAtoi(rest, &epoch) || epoch < 1) {
      continue;
    }
    files.emplace_back(epoch, it->path().string());
  }
  std::sort(files.begin(), files.end(), std::greater<>());
  return files;
}

absl::Status FolderCheckpointer::Save(const v1::Task& task, int epoch,
                                      const std::string& state) {
  // Saves a write when a newer holder is known to be ahead; correctness
  // does not rest on it (see the class comment).
  const auto before = Files(task.search_id(), task.model_id());
  if (!before.empty() && before.front().first >= epoch) {
    return absl::AlreadyExistsError(absl::StrFormat(
        "the folder holds a checkpoint of epoch %d already",
        before.front().first));
  }
  RETURN_IF_ERROR(
      WriteFileAtomically(PathOf(task, epoch), EncodeCheckpoint(epoch, state)));
  for (const auto& [older, path] : Files(task.search_id(), task.model_id())) {
    if (older >= epoch) continue;
    std::error_code ignored;
    std::filesystem::remove(path, ignored);
  }
  return absl::OkStatus();
}

absl::StatusOr<CheckpointData> FolderCheckpointer::Load(const v1::Task& task) {
  const auto files = Files(task.search_id(), task.model_id());
  if (files.empty()) {
    return absl::NotFoundError(absl::StrCat(
        "no checkpoint of child ", task.model_id(), " in ", dir_, "/",
        task.search_id()));
  }
  absl::Status newest_error;
  for (const auto& [epoch, path] : files) {
    absl::StatusOr<CheckpointData> data = ReadCheckpointFile(path, max_bytes_);
    if (data.ok()) return data;
    // Removed since it was listed (a newer writer cleaned up): go on.
    if (absl::IsNotFound(data.status())) continue;
    if (newest_error.ok()) newest_error = data.status();
  }
  if (!newest_error.ok()) return newest_error;
  return absl::NotFoundError(
      absl::StrCat("no checkpoint of child ", task.model_id(), " reads"));
}

void FolderCheckpointer::Forget(const std::string& search_id, int64_t child) {
  for (const auto& [epoch, path] : Files(search_id, child)) {
    std::error_code ignored;
    std::filesystem::remove(path, ignored);
  }
}

ControllerCheckpointer::ControllerCheckpointer(
    v1::Controller::Stub* stub, std::string worker_id,
    std::function<std::unique_ptr<grpc::ClientContext>()> context,
    absl::Duration deadline, Carries carries)
    : stub_(stub),
      worker_id_(std::move(worker_id)),
      context_(std::move(context)),
      deadline_(deadline),
      carries_(carries) {}

std::unique_ptr<grpc::ClientContext> ControllerCheckpointer::Context() const {
  std::unique_ptr<grpc::ClientContext> context = context_();
  context->set_deadline(std::chrono::system_clock::now() +
                        absl::ToChronoMilliseconds(deadline_));
  return context;
}

namespace {

absl::Status FromGrpc(const grpc::Status& s, const std::string& during) {
  return absl::Status(static_cast<absl::StatusCode>(s.error_code()),
                      absl::StrCat(during, ": ", s.error_message()));
}

}  // namespace

absl::Status ControllerCheckpointer::Save(const v1::Task& task, int epoch,
                                          const std::string& state) {
  std::unique_ptr<grpc::ClientContext> context = Context();
  v1::CheckpointAck ack;
  std::unique_ptr<grpc::ClientWriter<v1::CheckpointChunk>> writer =
      stub_->UploadCheckpoint(context.get(), &ack);
  v1::CheckpointChunk chunk;
  *chunk.mutable_header() = CheckpointHeaderFor(worker_id_, task, epoch, state);
  chunk.mutable_header()->set_weights(carries_ == Carries::kWeights);
  size_t at = 0;
  do {
    const size_t n = std::min(kChunkBytes, state.size() - at);
    chunk.set_data(state.substr(at, n));
    // A refusal (too large, stale holder) ends the stream early: Finish
    // says why.
    if (!writer->Write(chunk)) break;
    chunk.clear_header();
    at += n;
  } while (at < state.size());
  writer->WritesDone();
  const grpc::Status s = writer->Finish();
  // An ack of a newer epoch than `epoch` is fine too: nothing is lost.
  if (!s.ok()) {
    return FromGrpc(s, carries_ == Carries::kWeights
                           ? "uploading the weights"
                           : "uploading the checkpoint");
  }
  return absl::OkStatus();
}

absl::StatusOr<CheckpointData> ControllerCheckpointer::Load(
    const v1::Task& task) {
  const bool weights = carries_ == Carries::kWeights;
  if (weights ? task.inherit_from() <= 0 : task.checkpoint_epoch() <= 0) {
    return absl::NotFoundError(weights
                                   ? "the child inherits no weights"
                                   : "the controller keeps no checkpoint of it");
  }
  std::unique_ptr<grpc::ClientContext> context = Context();
  v1::CheckpointRequest request;
  request.set_worker_id(worker_id_);
  request.set_search_id(task.search_id());
  request.set_model_id(task.model_id());
  request.set_attempt(task.attempt());
  request.set_parent_weights(weights);
  std::unique_ptr<grpc::ClientReader<v1::CheckpointChunk>> reader =
      stub_->DownloadCheckpoint(context.get(), request);
  v1::CheckpointChunk chunk;
  v1::CheckpointHeader header;
  CheckpointData data;
  bool first = true;
  const char* const what = weights ? "the parent's weights" : "the checkpoint";
  while (reader->Read(&chunk)) {
    if (first) {
      header = chunk.header();
      first = false;
    }
    // More than the header announced: stop reading instead of growing.
    if (data.payload.size() + chunk.data().size() >
        static_cast<uint64_t>(std::max<int64_t>(0, header.size()))) {
      context->TryCancel();
      while (reader->Read(&chunk)) {
      }
      (void)reader->Finish();
      return absl::DataLossError(absl::StrCat(
          what, " arrived longer than its header's ", header.size(),
          " bytes"));
    }
    data.payload.append(chunk.data());
  }
  const grpc::Status s = reader->Finish();
  if (!s.ok()) return FromGrpc(s, absl::StrCat("downloading ", what));
  if (first) return absl::DataLossError(absl::StrCat(what, " arrived empty"));
  if (static_cast<int64_t>(data.payload.size()) != header.size() ||
      Crc32(data.payload) != header.crc32()) {
    return absl::DataLossError(absl::StrFormat(
        "%s arrived damaged (%d bytes of %d, or checksum)", what,
        data.payload.size(), header.size()));
  }
  data.epoch = header.epoch();
  return data;
}

}  // namespace amoeba
