#include "simulation/network.h"

namespace amoeba::sim {

const char* RpcName(Rpc rpc) {
  switch (rpc) {
    case Rpc::kRegister:
      return "Register";
    case Rpc::kGetTask:
      return "GetTask";
    case Rpc::kProgress:
      return "ReportProgress";
    case Rpc::kResult:
      return "ReportResult";
    case Rpc::kUploadCheckpoint:
      return "UploadCheckpoint";
    case Rpc::kDownloadCheckpoint:
      return "DownloadCheckpoint";
    case Rpc::kHeartbeat:
      return "Heartbeat";
  }
  return "?";
}

absl::Duration Network::Delay() {
  if (world_->Chance(faults_.late)) {
    ++counts_.late_messages;
    return world_->Between(deadline_, 3 * deadline_);
  }
  return world_->Between(absl::Milliseconds(1), absl::Milliseconds(200));
}

void Network::Partition(const std::string& endpoint, absl::Duration duration) {
  ++counts_.partitions;
  cut_until_[endpoint] = world_->now() + duration;
}

bool Network::Cut(const std::string& endpoint) {
  auto it = cut_until_.find(endpoint);
  return it != cut_until_.end() && world_->now() < it->second;
}

void Network::Call(const std::string& from, Rpc rpc, std::string request,
                   Done done) {
  const uint64_t call = next_call_++;
  ++counts_.calls;
  pending_[call] = std::move(done);
  int copies = 1;
  if (Cut(from)) {
    copies = 0;
  } else if (world_->Chance(faults_.drop_request)) {
    ++counts_.dropped_requests;
    copies = 0;
  } else if (world_->Chance(faults_.duplicate_request)) {
    ++counts_.duplicated_requests;
    copies = 2;
  }
  for (int i = 0; i < copies; ++i) {
    world_->After(Delay(), [this, call, from, rpc, request] {
      Deliver(call, from, rpc, request);
    });
  }
  world_->After(deadline_, [this, call] {
    if (pending_.count(call) == 0) return;
    ++counts_.timeouts;
    Complete(call, absl::DeadlineExceededError("deadline exceeded"), "");
  });
}

void Network::Deliver(uint64_t call, const std::string& from, Rpc rpc,
                      const std::string& request) {
  if (!controller_up_) {
    ++counts_.refused;
    return;  // the caller times out
  }
  auto [status, answer] = handler_(rpc, request);
  if (Cut(from) || world_->Chance(faults_.drop_response)) {
    ++counts_.dropped_responses;
    return;
  }
  world_->After(Delay(), [this, call, status = status, answer = answer] {
    Complete(call, status, answer);
  });
}

void Network::Complete(uint64_t call, const absl::Status& status,
                       const std::string& answer) {
  auto it = pending_.find(call);
  if (it == pending_.end()) return;  // answered already, or timed out
  Done done = std::move(it->second);
  pending_.erase(it);
  done(status, answer);
}

}  // namespace amoeba::sim
