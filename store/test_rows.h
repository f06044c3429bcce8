// Rows and files for the store's tests: a child as the controller would
// write it, and a store of the previous format.
#ifndef AMOEBA_STORE_TEST_ROWS_H_
#define AMOEBA_STORE_TEST_ROWS_H_

#include <sqlite3.h>

#include <cstdint>
#include <cstdio>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "store/store.h"
#include "testing/test_files.h"

namespace amoeba {

// A pending random child `id`: genotype text "genotype ID", fingerprint the
// id in 16 hex digits, created at 1000 + id.
inline ModelRecord TestChild(int64_t id) {
  ModelRecord m;
  m.id = id;
  m.genotype = "genotype " + std::to_string(id);
  char fingerprint[17];
  std::snprintf(fingerprint, sizeof(fingerprint), "%016llx",
                static_cast<unsigned long long>(id));
  m.fingerprint = fingerprint;
  m.mutation = "random";
  m.created_at = 1000.0 + id;
  return m;
}

// Creates at `path` the store described by store/testdata/store_v1.sql (a
// data dependency of the test): one written by amoeba-controller before
// stores held many searches (README.md beside it).
inline absl::Status WritePreviousVersionStore(const std::string& path) {
  const std::string sql = ReadWholeFile("store/testdata/store_v1.sql");
  if (sql.empty()) {
    return absl::NotFoundError("store/testdata/store_v1.sql cannot be read");
  }
  sqlite3* db = nullptr;
  int rc = sqlite3_open(path.c_str(), &db);
  char* error = nullptr;
  if (rc == SQLITE_OK) {
    rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error);
  }
  const std::string message = error != nullptr ? error : sqlite3_errstr(rc);
  sqlite3_free(error);
  sqlite3_close(db);
  if (rc != SQLITE_OK) {
    return absl::InternalError(absl::StrCat(path, ": ", message));
  }
  return absl::OkStatus();
}

}  // namespace amoeba

#endif  // AMOEBA_STORE_TEST_ROWS_H_
