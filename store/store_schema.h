// The store file's schema (docs/store.md) and its upgrades. Internal to the
// store (store.cc, search_store.cc).
#ifndef AMOEBA_STORE_STORE_SCHEMA_H_
#define AMOEBA_STORE_STORE_SCHEMA_H_

#include <sqlite3.h>

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace amoeba {
namespace store_schema {

// The `format` value in table meta of each version. Version 1 held one
// search (tables meta, config, engine_state, models without a `search`
// column); version 2 holds many (table searches; every row names its
// search).
inline constexpr char kFormatV1[] = "amoeba-store-1";
inline constexpr char kFormatV2[] = "amoeba-store-2";

// The columns of a models row, in the order RowToModel reads them.
#define AMOEBA_V1_MODEL_COLUMNS                                             \
  "id, genotype, fingerprint, parent_id, mutation, state, attempts, "       \
  "worker_id, created_at, started_at, finished_at, fitness, parameters, "   \
  "multiply_adds, train_seconds, epoch, failure, evaluator, completion_seq, " \
  "alive, failures"
// The columns a version-1 store's models table has (carried over by the
// upgrade).
inline constexpr char kV1ModelColumns[] = AMOEBA_V1_MODEL_COLUMNS;
// Every column of a model row, in the order RowToModel reads them.
inline constexpr char kModelColumns[] =
    AMOEBA_V1_MODEL_COLUMNS ", inherited_parameters";
#undef AMOEBA_V1_MODEL_COLUMNS

// Whether the models table has every column of this version (a store of an
// earlier version 2 may lack the newest, added when a controller opens it).
bool HasCurrentColumns(sqlite3* db);

// The format of an open file: "" for a file without tables (new);
// FailedPrecondition for a file with tables but no known format.
absl::StatusOr<std::string> ReadFormat(sqlite3* db);

// Creates the current schema in a new file, or upgrades a version-1 file in
// one transaction (its search keeps its id, config, state and rows).
// REQUIRES: the writer lock is held; `format` is what ReadFormat returned.
absl::Status CreateOrUpgrade(sqlite3* db, const std::string& format);

}  // namespace store_schema
}  // namespace amoeba

#endif  // AMOEBA_STORE_STORE_SCHEMA_H_
