// The worker's spool: each result is written here (atomically and durably)
// before it is sent, and removed once the controller acknowledged it, so a
// result survives a controller outage and a worker restart.
//
// Files are named <search id>-<child>-<attempt>.result: a result is bound to
// its search, and the controller refuses one of another search.
//
// Thread safety: all methods may be called from any thread (files are
// distinct per task).
#ifndef AMOEBA_WORKER_SPOOL_H_
#define AMOEBA_WORKER_SPOOL_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "proto/controller.pb.h"

namespace amoeba {

class Spool {
 public:
  explicit Spool(std::string dir) : dir_(std::move(dir)) {}

  // Creates the folder if needed, and removes the temporary files that a
  // crashed run of this host left in it (common/atomic_file.h: only those
  // whose process is gone). Unavailable naming the folder when it cannot be
  // created or written.
  absl::Status Init() const;
  // Writes `report` durably; returns its path. Unavailable when the file
  // cannot be written (disk full, read-only): the caller still holds the
  // report in memory and sends it.
  absl::StatusOr<std::string> Write(const v1::ResultReport& report) const;
  // Every spooled result file, oldest name first.
  std::vector<std::string> List() const;
  // DataLoss for a file that is not a complete report.
  absl::StatusOr<v1::ResultReport> Read(const std::string& path) const;
  void Remove(const std::string& path) const;

  // This process's incarnation: larger than any earlier process using this
  // spool folder recorded, even if the clock went back (`now_micros`, the
  // start time, unless the recorded one is later). Records it durably.
  // REQUIRES: Init() succeeded.
  absl::StatusOr<uint64_t> NextIncarnation(uint64_t now_micros) const;

  const std::string& dir() const { return dir_; }

 private:
  const std::string dir_;
};

}  // namespace amoeba

#endif  // AMOEBA_WORKER_SPOOL_H_
