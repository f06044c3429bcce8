// The simulated network between simulated workers and the one controller:
// it loses, duplicates, delays and reorders requests and responses, and a
// call that gets no answer by its deadline fails with DEADLINE_EXCEEDED, as
// a gRPC call does. The controller side is any handler that turns a request
// (RPC name, serialized message) into a status and a serialized answer.
//
// Thread safety: none; the simulation is single-threaded.
#ifndef AMOEBA_SIMULATION_NETWORK_H_
#define AMOEBA_SIMULATION_NETWORK_H_

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "simulation/world.h"

namespace amoeba::sim {

struct NetworkFaults {
  double drop_request = 0;
  double drop_response = 0;
  double duplicate_request = 0;
  // Delivered after the caller's deadline (a stale message).
  double late = 0;
};

struct NetworkCounts {
  int64_t calls = 0;
  int64_t dropped_requests = 0;
  int64_t dropped_responses = 0;
  int64_t duplicated_requests = 0;
  int64_t late_messages = 0;
  int64_t timeouts = 0;
  int64_t refused = 0;  // controller down
  int64_t partitions = 0;
};

enum class Rpc {
  kRegister,
  kGetTask,
  kProgress,
  kResult,
  kHeartbeat,
  kUploadCheckpoint,    // one CheckpointChunk (header and all the data)
  kDownloadCheckpoint,  // CheckpointRequest -> one CheckpointChunk
};
const char* RpcName(Rpc rpc);

class Network {
 public:
  // The controller: answers a request, or nullopt-like `up = false` when it
  // is down (the request is lost, the caller times out).
  using Handler = std::function<std::pair<absl::Status, std::string>(
      Rpc rpc, const std::string& request)>;
  using Done = std::function<void(const absl::Status& status,
                                  const std::string& answer)>;

  Network(World* world, absl::Duration deadline)
      : world_(world), deadline_(deadline) {}

  void set_handler(Handler handler) { handler_ = std::move(handler); }
  void set_controller_up(bool up) { controller_up_ = up; }
  bool controller_up() const { return controller_up_; }
  void set_faults(const NetworkFaults& faults) { faults_ = faults; }
  const NetworkCounts& counts() const { return counts_; }
  absl::Duration deadline() const { return deadline_; }

  // Sends `request` from `from`; `done` runs exactly once: with the first
  // answer that arrives before the deadline, or with DEADLINE_EXCEEDED.
  void Call(const std::string& from, Rpc rpc, std::string request, Done done);
  // Cuts `endpoint` off (both directions) for `duration`.
  void Partition(const std::string& endpoint, absl::Duration duration);

 private:
  absl::Duration Delay();
  void Deliver(uint64_t call, const std::string& from, Rpc rpc,
               const std::string& request);
  bool Cut(const std::string& endpoint);
  void Complete(uint64_t call, const absl::Status& status,
                const std::string& answer);

  World* const world_;
  const absl::Duration deadline_;
  Handler handler_;
  bool controller_up_ = true;
  NetworkFaults faults_;
  NetworkCounts counts_;
  uint64_t next_call_ = 1;
  std::map<uint64_t, Done> pending_;
  std::map<std::string, absl::Time> cut_until_;
};

}  // namespace amoeba::sim

#endif  // AMOEBA_SIMULATION_NETWORK_H_
