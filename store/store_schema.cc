#include "store/store_schema.h"

#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/status_macros.h"
#include "store/sqlite_util.h"

namespace amoeba {
namespace store_schema {
namespace {

using sql::Exec;
using sql::Statement;
using sql::Text;

constexpr char kSchemaV2[] = R"sql(
CREATE TABLE IF NOT EXISTS meta (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS searches (
  search INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  created_at REAL NOT NULL,
  config TEXT NOT NULL,
  state TEXT NOT NULL DEFAULT 'running');
CREATE TABLE IF NOT EXISTS engine_state (
  search INTEGER PRIMARY KEY,
  rng0 INTEGER NOT NULL, rng1 INTEGER NOT NULL,
  rng2 INTEGER NOT NULL, rng3 INTEGER NOT NULL,
  next_id INTEGER NOT NULL,
  completed INTEGER NOT NULL,
  algorithm_state TEXT NOT NULL DEFAULT '');
CREATE TABLE IF NOT EXISTS models (
  search INTEGER NOT NULL,
  id INTEGER NOT NULL,
  genotype TEXT NOT NULL,
  fingerprint TEXT NOT NULL,
  parent_id INTEGER NOT NULL,
  mutation TEXT NOT NULL,
  state TEXT NOT NULL,
  attempts INTEGER NOT NULL,
  worker_id TEXT NOT NULL,
  created_at REAL NOT NULL,
  started_at REAL NOT NULL,
  finished_at REAL NOT NULL,
  fitness REAL NOT NULL,
  parameters INTEGER NOT NULL,
  multiply_adds INTEGER NOT NULL,
  train_seconds REAL NOT NULL,
  epoch INTEGER NOT NULL,
  failure TEXT NOT NULL,
  evaluator TEXT NOT NULL,
  completion_seq INTEGER NOT NULL,
  alive INTEGER NOT NULL,
  failures INTEGER NOT NULL DEFAULT 0,
  inherited_parameters INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (search, id));
CREATE INDEX IF NOT EXISTS models_by_state ON models(search, state, fitness);
CREATE INDEX IF NOT EXISTS models_by_finish ON models(search, finished_at);
CREATE INDEX IF NOT EXISTS models_alive ON models(search, completion_seq)
  WHERE alive = 1;
CREATE TABLE IF NOT EXISTS hurdles (
  search INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  model_id INTEGER NOT NULL,
  epoch INTEGER NOT NULL,
  fitness REAL NOT NULL,
  stop INTEGER NOT NULL,
  PRIMARY KEY (search, seq));
)sql";

std::string JsonString(const std::string& text) {
  std::string out = "\"";
  for (unsigned char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      out += absl::StrFormat("\\u%04x", c);
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

// Version 1 kept the configuration as key/value text (flag names); version 2
// keeps the v1.SearchConfig message as JSON. Proto JSON accepts numbers
// given as strings, so every value is carried over as the exact text stored.
std::string ConfigJsonFromV1(const std::map<std::string, std::string>& kv) {
  static const std::vector<std::pair<const char*, const char*>> kTop = {
      {"algorithm", "algorithm"},   {"population_size", "population_size"},
      {"sample_size", "sample_size"}, {"budget", "budget"},
      {"seed", "seed"}};
  static const std::vector<std::pair<const char*, const char*>> kSettings = {
      {"dataset", "dataset"},
      {"cells_per_stack", "cells_per_stack"},
      {"filters", "filters"},
      {"epochs", "epochs"},
      {"batch_size", "batch_size"},
      {"learning_rate", "learning_rate"},
      {"weight_decay", "weight_decay"},
      {"validation_images", "validation_images"},
      {"max_train_images", "max_train_images"},
      {"training_seed", "seed"}};
  std::vector<std::string> top;
  for (const auto& [v1_key, field] : kTop) {
    auto it = kv.find(v1_key);
    if (it != kv.end()) {
      top.push_back(absl::StrCat("\"", field, "\":", JsonString(it->second)));
    }
  }
  auto dedup = kv.find("deduplicate");
  if (dedup != kv.end() &&
      (dedup->second == "true" || dedup->second == "false")) {
    top.push_back(absl::StrCat("\"deduplicate\":", dedup->second));
  }
  std::vector<std::string> settings;
  for (const auto& [v1_key, field] : kSettings) {
    auto it = kv.find(v1_key);
    if (it != kv.end()) {
      settings.push_back(
          absl::StrCat("\"", field, "\":", JsonString(it->second)));
    }
  }
  top.push_back(absl::StrCat("\"settings\":{", absl::StrJoin(settings, ","),
                             "}"));
  return absl::StrCat("{", absl::StrJoin(top, ","), "}");
}

absl::StatusOr<std::map<std::string, std::string>> ReadKeyValues(
    sqlite3* db, const char* sql_text) {
  std::map<std::string, std::string> kv;
  Statement s(db, sql_text);
  RETURN_IF_ERROR(s.status());
  while (sqlite3_step(s.get()) == SQLITE_ROW) {
    kv[Text(s.get(), 0)] = Text(s.get(), 1);
  }
  return kv;
}

bool HasColumn(sqlite3* db, const char* table, const char* column) {
  Statement columns(db,
                    absl::StrCat("SELECT name FROM pragma_table_info('", table,
                                 "')"));
  if (!columns.status().ok()) return false;
  while (sqlite3_step(columns.get()) == SQLITE_ROW) {
    if (Text(columns.get(), 0) == column) return true;
  }
  return false;
}

// Everything of version 1 into version 2, inside the caller's transaction.
absl::Status UpgradeV1(sqlite3* db) {
  // Version-1 stores written before `failures` existed lack it.
  if (!HasColumn(db, "models", "failures")) {
    RETURN_IF_ERROR(Exec(db,
                         "ALTER TABLE models ADD COLUMN failures INTEGER NOT "
                         "NULL DEFAULT 0;"));
  }
  ASSIGN_OR_RETURN(auto meta, ReadKeyValues(db, "SELECT key, value FROM meta"));
  ASSIGN_OR_RETURN(auto config,
                   ReadKeyValues(db, "SELECT key, value FROM config"));
  RETURN_IF_ERROR(Exec(db, R"sql(
ALTER TABLE models RENAME TO models_v1;
ALTER TABLE engine_state RENAME TO engine_state_v1;
DROP INDEX IF EXISTS models_by_state;
DROP INDEX IF EXISTS models_by_finish;
DROP INDEX IF EXISTS models_alive;
)sql"));
  RETURN_IF_ERROR(Exec(db, kSchemaV2));
  const bool has_search = !config.empty() || !meta["search_id"].empty();
  if (has_search) {
    std::string name = meta["search_id"];
    if (name.empty()) name = "s-000000000001";
    double created_at =
        absl::ToDoubleSeconds(absl::Now() - absl::UnixEpoch());
    {
      Statement first(db, "SELECT min(created_at) FROM models_v1");
      RETURN_IF_ERROR(first.status());
      if (sqlite3_step(first.get()) == SQLITE_ROW &&
          sqlite3_column_type(first.get(), 0) != SQLITE_NULL) {
        created_at = sqlite3_column_double(first.get(), 0);
      }
    }
    std::string state = meta["state"];
    if (state != "paused" && state != "stopped") state = "running";
    Statement insert(db,
                     "INSERT INTO searches (search, name, created_at, config, "
                     "state) VALUES (1, ?1, ?2, ?3, ?4)");
    insert.Bind(1, name)
        .Bind(2, created_at)
        .Bind(3, ConfigJsonFromV1(config))
        .Bind(4, state);
    RETURN_IF_ERROR(insert.Run());
  }
  RETURN_IF_ERROR(Exec(
      db, absl::StrCat("INSERT INTO models (search, ", kV1ModelColumns,
                       ") SELECT 1, ", kV1ModelColumns, " FROM models_v1;")
              .c_str()));
  RETURN_IF_ERROR(Exec(db, R"sql(
INSERT INTO engine_state
  (search, rng0, rng1, rng2, rng3, next_id, completed)
  SELECT 1, rng0, rng1, rng2, rng3, next_id, completed FROM engine_state_v1;
DROP TABLE models_v1;
DROP TABLE engine_state_v1;
DROP TABLE config;
DELETE FROM meta WHERE key IN ('search_id', 'state');
)sql"));
  Statement format(db, "UPDATE meta SET value = ?1 WHERE key = 'format'");
  format.Bind(1, std::string(kFormatV2));
  return format.Run();
}

}  // namespace

absl::StatusOr<std::string> ReadFormat(sqlite3* db) {
  Statement tables(db, "SELECT count(*) FROM sqlite_master WHERE type='table'");
  RETURN_IF_ERROR(tables.status());
  if (sqlite3_step(tables.get()) != SQLITE_ROW ||
      sqlite3_column_int64(tables.get(), 0) == 0) {
    return std::string();
  }
  Statement format(db, "SELECT value FROM meta WHERE key='format'");
  if (format.status().ok() && sqlite3_step(format.get()) == SQLITE_ROW) {
    const std::string value = Text(format.get(), 0);
    if (value == kFormatV1 || value == kFormatV2) return value;
  }
  return absl::FailedPreconditionError(absl::StrCat(
      "not an amoeba store (no 'format' = ", kFormatV2, " in table meta)"));
}

bool HasCurrentColumns(sqlite3* db) {
  return HasColumn(db, "models", "inherited_parameters");
}

absl::Status CreateOrUpgrade(sqlite3* db, const std::string& format) {
  if (format == kFormatV2) {
    RETURN_IF_ERROR(Exec(db, kSchemaV2));
    // Stores written before weight inheritance lack its column.
    if (HasCurrentColumns(db)) return absl::OkStatus();
    return Exec(db,
                "ALTER TABLE models ADD COLUMN inherited_parameters INTEGER "
                "NOT NULL DEFAULT 0;");
  }
  RETURN_IF_ERROR(Exec(db, "BEGIN IMMEDIATE;"));
  absl::Status status;
  if (format == kFormatV1) {
    status = UpgradeV1(db);
  } else {
    status = Exec(db, kSchemaV2);
    if (status.ok()) {
      Statement mark(db, "INSERT OR IGNORE INTO meta VALUES ('format', ?1)");
      mark.Bind(1, std::string(kFormatV2));
      status = mark.Run();
    }
  }
  if (!status.ok()) {
    Exec(db, "ROLLBACK;").IgnoreError();
    return status;
  }
  return Exec(db, "COMMIT;");
}

}  // namespace store_schema
}  // namespace amoeba
