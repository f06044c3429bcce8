#include "store/search_store.h"

#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "store/sqlite_util.h"
#include "store/store_schema.h"

namespace amoeba {
namespace {

using sql::Statement;
using sql::Text;
using store_schema::kModelColumns;

absl::StatusOr<ModelState> StateFromName(const std::string& name) {
  for (ModelState s : {ModelState::kPending, ModelState::kRunning,
                       ModelState::kDone, ModelState::kFailed}) {
    if (ModelStateName(s) == name) return s;
  }
  return absl::DataLossError(absl::StrCat("unknown model state '", name, "'"));
}

absl::Status WriteModel(sqlite3* db, int64_t search, const ModelRecord& m) {
  Statement s(db,
              "INSERT OR REPLACE INTO models VALUES "
              "(?22,?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,"
              "?17,?18,?19,?20,?21,?23)");
  s.Bind(1, m.id)
      .Bind(2, m.genotype)
      .Bind(3, m.fingerprint)
      .Bind(4, m.parent_id)
      .Bind(5, m.mutation)
      .Bind(6, ModelStateName(m.state))
      .Bind(7, int64_t{m.attempts})
      .Bind(8, m.worker_id)
      .Bind(9, m.created_at)
      .Bind(10, m.started_at)
      .Bind(11, m.finished_at)
      .Bind(12, m.fitness)
      .Bind(13, m.parameters)
      .Bind(14, m.multiply_adds)
      .Bind(15, m.train_seconds)
      .Bind(16, int64_t{m.epoch})
      .Bind(17, m.failure)
      .Bind(18, m.evaluator)
      .Bind(19, m.completion_seq)
      .Bind(20, int64_t{m.alive ? 1 : 0})
      .Bind(21, int64_t{m.failures})
      .Bind(22, search)
      .Bind(23, m.inherited_parameters);
  return s.Run();
}

absl::Status WriteCounters(sqlite3* db, int64_t search,
                           const EngineCounters& c) {
  Statement s(db,
              "INSERT OR REPLACE INTO engine_state VALUES "
              "(?7,?1,?2,?3,?4,?5,?6,?8)");
  for (int i = 0; i < 4; ++i) s.Bind(i + 1, static_cast<int64_t>(c.rng[i]));
  s.Bind(5, c.next_id).Bind(6, c.completed).Bind(7, search).Bind(
      8, c.algorithm_state);
  return s.Run();
}

// One row of `SELECT <kModelColumns> FROM models`, validated.
absl::StatusOr<ModelRecord> RowToModel(sqlite3_stmt* r) {
  ModelRecord m;
  m.id = sqlite3_column_int64(r, 0);
  m.genotype = Text(r, 1);
  m.fingerprint = Text(r, 2);
  m.parent_id = sqlite3_column_int64(r, 3);
  m.mutation = Text(r, 4);
  absl::StatusOr<ModelState> state = StateFromName(Text(r, 5));
  if (!state.ok()) {
    return absl::DataLossError(absl::StrCat("row ", m.id, " of models: ",
                                            state.status().message()));
  }
  m.state = *state;
  m.attempts = sqlite3_column_int(r, 6);
  m.worker_id = Text(r, 7);
  m.created_at = sqlite3_column_double(r, 8);
  m.started_at = sqlite3_column_double(r, 9);
  m.finished_at = sqlite3_column_double(r, 10);
  m.fitness = sqlite3_column_double(r, 11);
  m.parameters = sqlite3_column_int64(r, 12);
  m.multiply_adds = sqlite3_column_int64(r, 13);
  m.train_seconds = sqlite3_column_double(r, 14);
  m.epoch = sqlite3_column_int(r, 15);
  m.failure = Text(r, 16);
  m.evaluator = Text(r, 17);
  m.completion_seq = sqlite3_column_int64(r, 18);
  m.alive = sqlite3_column_int(r, 19) != 0;
  m.failures = sqlite3_column_int(r, 20);
  m.inherited_parameters = sqlite3_column_int64(r, 21);
  RETURN_IF_ERROR(ValidateModelRecord(m));
  return m;
}

}  // namespace

// Every statement names the search as ?4 (models) so that one cached
// statement serves every search.

absl::StatusOr<std::vector<ModelRecord>> SearchStore::LoadModels() {
  return QueryModels("", "id", -1, 0);
}

absl::StatusOr<std::vector<ModelRecord>> SearchStore::QueryModels(
    const std::string& where, const std::string& order_by, int64_t limit,
    int64_t offset, std::optional<int64_t> parameter) {
  const std::string sql_text = absl::StrCat(
      "SELECT ", kModelColumns, " FROM models WHERE search = ?4",
      where.empty() ? "" : absl::StrCat(" AND (", where, ")"), " ORDER BY ",
      order_by.empty() ? "id" : order_by, " LIMIT ?1 OFFSET ?2");
  std::vector<ModelRecord> models;
  const int64_t key = search_.key;
  RETURN_IF_ERROR(store_->Read([&](sqlite3* db) -> absl::Status {
    Statement s(db, sql_text);
    RETURN_IF_ERROR(s.status());
    s.Bind(1, limit).Bind(2, offset).Bind(4, key);
    if (parameter.has_value()) s.Bind(3, *parameter);
    int rc;
    while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) {
      ASSIGN_OR_RETURN(ModelRecord m, RowToModel(s.get()));
      models.push_back(std::move(m));
    }
    if (rc != SQLITE_DONE) return sql::SqliteError(db, "reading models");
    return absl::OkStatus();
  }));
  return models;
}

absl::StatusOr<int64_t> SearchStore::CountModels(const std::string& where) {
  const std::string sql_text =
      absl::StrCat("SELECT count(*) FROM models WHERE search = ?4",
                   where.empty() ? "" : absl::StrCat(" AND (", where, ")"));
  int64_t count = 0;
  const int64_t key = search_.key;
  RETURN_IF_ERROR(store_->Read([&](sqlite3* db) -> absl::Status {
    Statement s(db, sql_text);
    RETURN_IF_ERROR(s.status());
    s.Bind(4, key);
    if (sqlite3_step(s.get()) != SQLITE_ROW) {
      return sql::SqliteError(db, "count");
    }
    count = sqlite3_column_int64(s.get(), 0);
    return absl::OkStatus();
  }));
  return count;
}

absl::StatusOr<std::optional<ModelRecord>> SearchStore::GetModel(int64_t id) {
  // The id is bound, not spliced into the SQL: the statement cache keeps one
  // statement per SQL text, so a text per id would grow it without bound.
  ASSIGN_OR_RETURN(auto models, QueryModels("id = ?3", "id", 1, 0, id));
  if (models.empty()) return std::nullopt;
  return std::move(models[0]);
}

absl::Status SearchStore::CheckCounters() {
  ASSIGN_OR_RETURN(std::optional<EngineCounters> counters, LoadEngineCounters());
  ASSIGN_OR_RETURN(const int64_t rows, CountModels(""));
  if (!counters.has_value()) {
    if (rows == 0) return absl::OkStatus();
    return absl::DataLossError(absl::StrCat(
        "the store holds ", rows,
        " children but no engine_state row; it cannot be resumed (restore it "
        "from a backup)"));
  }
  ASSIGN_OR_RETURN(const int64_t done, CountModels("state = 'done'"));
  if (done != counters->completed) {
    return absl::DataLossError(absl::StrCat(
        "engine_state says ", counters->completed, " children completed but ",
        done, " rows of models are done; the store was damaged"));
  }
  // Fixed SQL text (the statement cache keeps one statement per text).
  ASSIGN_OR_RETURN(
      const int64_t beyond,
      CountModels("id >= (SELECT next_id FROM engine_state WHERE search = ?4)"));
  if (beyond > 0 || rows >= counters->next_id) {
    return absl::DataLossError(absl::StrCat(
        "engine_state's next id is ", counters->next_id, " but models holds ",
        rows, " rows (", beyond, " at or beyond it); the store was damaged"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> SearchStore::Check(size_t limit) {
  std::vector<std::string> problems;
  const int64_t key = search_.key;
  RETURN_IF_ERROR(store_->Read([&](sqlite3* db) -> absl::Status {
    Statement rows(db, absl::StrCat("SELECT ", kModelColumns,
                                    " FROM models WHERE search = ?4 ORDER BY id"));
    RETURN_IF_ERROR(rows.status());
    rows.Bind(4, key);
    while (sqlite3_step(rows.get()) == SQLITE_ROW && problems.size() < limit) {
      absl::StatusOr<ModelRecord> m = RowToModel(rows.get());
      if (!m.ok()) problems.emplace_back(m.status().message());
    }
    return absl::OkStatus();
  }));
  if (problems.size() < limit) {
    if (absl::Status s = CheckCounters(); !s.ok()) {
      problems.emplace_back(s.message());
    }
  }
  return problems;
}

absl::StatusOr<std::vector<std::string>> SearchStore::DistinctEvaluators() {
  std::vector<std::string> names;
  const int64_t key = search_.key;
  RETURN_IF_ERROR(store_->Read([&](sqlite3* db) -> absl::Status {
    Statement s(db,
                "SELECT DISTINCT evaluator FROM models WHERE search = ?4 AND "
                "evaluator <> ''");
    RETURN_IF_ERROR(s.status());
    s.Bind(4, key);
    int rc;
    while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) {
      names.push_back(Text(s.get(), 0));
    }
    if (rc != SQLITE_DONE) return sql::SqliteError(db, "reading evaluators");
    return absl::OkStatus();
  }));
  return names;
}

absl::StatusOr<std::vector<uint64_t>> SearchStore::LoadFingerprints() {
  std::vector<uint64_t> fingerprints;
  const int64_t key = search_.key;
  RETURN_IF_ERROR(store_->Read([&](sqlite3* db) -> absl::Status {
    Statement s(db, "SELECT id, fingerprint FROM models WHERE search = ?4");
    RETURN_IF_ERROR(s.status());
    s.Bind(4, key);
    int rc;
    while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) {
      uint64_t fp = 0;
      if (!absl::SimpleHexAtoi(Text(s.get(), 1), &fp)) {
        return absl::DataLossError(
            absl::StrCat("model ", sqlite3_column_int64(s.get(), 0),
                         " has a malformed fingerprint"));
      }
      fingerprints.push_back(fp);
    }
    if (rc != SQLITE_DONE) return sql::SqliteError(db, "reading fingerprints");
    return absl::OkStatus();
  }));
  return fingerprints;
}

absl::StatusOr<std::optional<EngineCounters>>
SearchStore::LoadEngineCounters() {
  std::optional<EngineCounters> counters;
  const int64_t key = search_.key;
  RETURN_IF_ERROR(store_->Read([&](sqlite3* db) -> absl::Status {
    Statement s(db,
                "SELECT rng0, rng1, rng2, rng3, next_id, completed, "
                "algorithm_state FROM engine_state WHERE search = ?1");
    RETURN_IF_ERROR(s.status());
    s.Bind(1, key);
    if (sqlite3_step(s.get()) != SQLITE_ROW) return absl::OkStatus();
    EngineCounters c;
    for (int i = 0; i < 4; ++i) {
      c.rng[i] = static_cast<uint64_t>(sqlite3_column_int64(s.get(), i));
    }
    c.next_id = sqlite3_column_int64(s.get(), 4);
    c.completed = sqlite3_column_int64(s.get(), 5);
    c.algorithm_state = Text(s.get(), 6);
    counters = c;
    return absl::OkStatus();
  }));
  return counters;
}

absl::StatusOr<std::string> SearchStore::LoadState() {
  std::string state;
  const int64_t key = search_.key;
  RETURN_IF_ERROR(store_->Read([&](sqlite3* db) -> absl::Status {
    Statement s(db, "SELECT state FROM searches WHERE search = ?1");
    RETURN_IF_ERROR(s.status());
    s.Bind(1, key);
    if (sqlite3_step(s.get()) != SQLITE_ROW) {
      return absl::DataLossError(
          absl::StrCat("search ", search_.name, " has no row in searches"));
    }
    state = Text(s.get(), 0);
    return absl::OkStatus();
  }));
  return state;
}

absl::Status SearchStore::InsertChild(const ModelRecord& child,
                                      const EngineCounters& counters) {
  return InsertChildLater(child, counters).get();
}

absl::Status SearchStore::RecordCompletion(const ModelRecord& child,
                                           std::optional<int64_t> died,
                                           const EngineCounters& counters) {
  return RecordCompletionLater(child, died, counters).get();
}

std::future<absl::Status> SearchStore::InsertChildLater(
    const ModelRecord& child, const EngineCounters& counters) {
  return store_->Enqueue(
      [key = search_.key, child, counters](sqlite3* db) -> absl::Status {
        RETURN_IF_ERROR(WriteModel(db, key, child));
        return WriteCounters(db, key, counters);
      });
}

std::future<absl::Status> SearchStore::UpdateModelLater(
    const ModelRecord& model) {
  return store_->Enqueue([key = search_.key, model](sqlite3* db) {
    return WriteModel(db, key, model);
  });
}

std::future<absl::Status> SearchStore::RecordCompletionLater(
    const ModelRecord& child, std::optional<int64_t> died,
    const EngineCounters& counters) {
  return store_->Enqueue(
      [key = search_.key, child, died, counters](sqlite3* db) -> absl::Status {
        RETURN_IF_ERROR(WriteModel(db, key, child));
        if (died.has_value()) {
          Statement s(db,
                      "UPDATE models SET alive = 0 WHERE search = ?2 AND id = "
                      "?1");
          s.Bind(1, *died).Bind(2, key);
          RETURN_IF_ERROR(s.Run());
        }
        return WriteCounters(db, key, counters);
      });
}

void SearchStore::UpdateProgressAsync(int64_t id, int epoch) {
  store_->SubmitAsync([key = search_.key, id, epoch](sqlite3* db) {
    Statement s(db,
                "UPDATE models SET epoch = ?1 WHERE search = ?3 AND id = ?2");
    s.Bind(1, int64_t{epoch}).Bind(2, id).Bind(3, key);
    return s.Run();
  });
}

std::future<absl::Status> SearchStore::PutStateLater(const std::string& state) {
  return store_->Enqueue([key = search_.key, state](sqlite3* db) {
    Statement s(db, "UPDATE searches SET state = ?1 WHERE search = ?2");
    s.Bind(1, state).Bind(2, key);
    return s.Run();
  });
}

std::future<absl::Status> SearchStore::AddHurdleReportLater(
    int64_t seq, const HurdleReport& report) {
  return store_->Enqueue([key = search_.key, seq, report](sqlite3* db) {
    Statement s(db, "INSERT INTO hurdles VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
    s.Bind(1, key)
        .Bind(2, seq)
        .Bind(3, report.model_id)
        .Bind(4, int64_t{report.epoch})
        .Bind(5, report.fitness)
        .Bind(6, int64_t{report.stop ? 1 : 0});
    return s.Run();
  });
}

absl::StatusOr<std::vector<HurdleReport>> SearchStore::LoadHurdleReports() {
  std::vector<HurdleReport> reports;
  const int64_t key = search_.key;
  RETURN_IF_ERROR(store_->Read([&](sqlite3* db) -> absl::Status {
    // A store opened read-only that no controller of this version wrote
    // has no such table: no reports.
    Statement exists(db,
                     "SELECT 1 FROM sqlite_master WHERE type = 'table' AND "
                     "name = 'hurdles'");
    RETURN_IF_ERROR(exists.status());
    if (sqlite3_step(exists.get()) != SQLITE_ROW) return absl::OkStatus();
    Statement s(db,
                "SELECT seq, model_id, epoch, fitness, stop FROM hurdles "
                "WHERE search = ?1 ORDER BY seq");
    RETURN_IF_ERROR(s.status());
    s.Bind(1, key);
    int rc;
    while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) {
      const int64_t seq = sqlite3_column_int64(s.get(), 0);
      HurdleReport r;
      r.model_id = sqlite3_column_int64(s.get(), 1);
      r.epoch = sqlite3_column_int(s.get(), 2);
      r.fitness = sqlite3_column_double(s.get(), 3);
      r.stop = sqlite3_column_int(s.get(), 4) != 0;
      if (seq != static_cast<int64_t>(reports.size()) + 1 ||
          !(r.fitness >= 0 && r.fitness <= 1) || r.model_id < 1 ||
          r.epoch < 1) {
        return absl::DataLossError(absl::StrCat(
            "row ", seq, " of hurdles (child ", r.model_id, ", epoch ",
            r.epoch, ", fitness ", r.fitness,
            ") cannot be a hurdle report; the store was damaged"));
      }
      reports.push_back(r);
    }
    if (rc != SQLITE_DONE) return sql::SqliteError(db, "reading hurdles");
    return absl::OkStatus();
  }));
  return reports;
}

}  // namespace amoeba
