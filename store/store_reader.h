// What offline tools read from a controller's store file: the searches, their
// configurations, their children and their early-stopping reports. `amoeba
// report`, `amoeba compare` and `amoeba store check` go through this and
// nothing else, so the tables, SQL and write paths stay the store's own
// business (docs/store.md documents the tables for users of `sqlite3`).
//
// A reader never writes and never creates: it may run beside a live
// controller, and sees every transaction committed before each call (WAL).
// Every row is validated as it is read; damage is DataLoss naming the row.
//
// Thread safety: a StoreReader may be used from one thread at a time.
#ifndef AMOEBA_STORE_STORE_READER_H_
#define AMOEBA_STORE_STORE_READER_H_

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "evolution/early_stopping.h"
#include "proto/controller.pb.h"
#include "store/store.h"

namespace amoeba {

class StoreReader {
 public:
  // NotFound for a missing file; FailedPrecondition for an empty, foreign
  // or not yet migrated one (the controller migrates on its next start).
  static absl::StatusOr<std::unique_ptr<StoreReader>> Open(
      const std::string& path);

  // Every search, oldest first.
  absl::StatusOr<std::vector<StoredSearch>> Searches();
  // NotFound naming the search and the ones that exist.
  absl::StatusOr<StoredSearch> FindSearch(const std::string& name);

  // The configuration the search was created with. DataLoss when the
  // stored JSON does not parse.
  static absl::StatusOr<v1::SearchConfig> Config(const StoredSearch& search);

  // Every child of `search`, in creation (id) order.
  // REQUIRES: `search` came from this reader.
  absl::StatusOr<std::vector<ModelRecord>> Children(
      const StoredSearch& search);
  // The children that finished with a fitness, in completion order.
  absl::StatusOr<std::vector<ModelRecord>> FinishedChildren(
      const StoredSearch& search);
  // The early-stopping reports, in the order the search recorded them.
  absl::StatusOr<std::vector<HurdleReport>> HurdleReports(
      const StoredSearch& search);

  // Every problem found, up to `limit` (Store::Check). Empty: sound.
  absl::StatusOr<std::vector<std::string>> Check(size_t limit = 100);

 private:
  explicit StoreReader(std::unique_ptr<Store> store);

  const std::unique_ptr<Store> store_;
};

}  // namespace amoeba

#endif  // AMOEBA_STORE_STORE_READER_H_
