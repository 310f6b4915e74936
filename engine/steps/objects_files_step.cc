#include "steps/objects_files_step.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>

#include "plan/plan.h"
#include "report/reporter.h"
#include "steps/data_run.h"
#include "steps/objects_common.h"
#include "steps/objects_files.h"
#include "steps/objects_store.h"
#include "steps/table_info.h"
#include "util/sha256.h"
#include "util/sql.h"
#include "util/strings.h"

namespace planrun {

namespace {

/// The columns of the step's list of files, in this order.
const char kListColumns[] = "path, name, size, sha256, mtime, json, refused";
/// Rows per INSERT while the list is stored.
constexpr size_t kListChunk = 500;
/// Bytes of values per INSERT while the list is stored (far below PostgreSQL's 1 GB message cap).
constexpr size_t kListChunkBytes = 16 << 20;

/// The columns of insert.columns, in order.
std::vector<std::string> InsertColumns(const ObjectsSpec& spec) {
  std::vector<std::string> out;
  for (const auto& [col, t] : spec.insert.columns) out.push_back(col);
  return out;
}

/// The JSON fields ("json", "json.a.b") the step's templates name.
std::vector<std::string> JsonNames(const ObjectsSpec& spec) {
  std::vector<std::string> out;
  auto add = [&](const Template& t) {
    for (const auto& n : t.Names()) {
      if ((n == "json" || StartsWith(n, "json.")) &&
          std::find(out.begin(), out.end(), n) == out.end()) {
        out.push_back(n);
      }
    }
  };
  add(spec.store.key);
  add(spec.store.public_url);
  for (const auto& [col, t] : spec.insert.columns) add(t);
  return out;
}

/// The INSERT of one file's row, its values as $1, $2, ...
std::string InsertSql(const ObjectsSpec& spec) {
  std::vector<std::string> params;
  for (size_t i = 1; i <= spec.insert.columns.size(); ++i)
    params.push_back("$" + std::to_string(i));
  return "INSERT INTO " + spec.insert.table.Quoted() + " (" + QuoteIdentList(InsertColumns(spec)) +
         ") VALUES (" + Join(params, ", ") + ") ON CONFLICT (" + QuoteIdentList(spec.insert.key) +
         ") DO NOTHING RETURNING " + QuoteIdentList(spec.insert.key);
}

/// Deletes the rows of `table` whose `key` columns are in `inserted` (the
/// rows the step inserted).
std::string DeleteInsertedSql(const std::string& table, const std::vector<std::string>& key,
                              const std::string& inserted) {
  std::vector<std::string> match;
  for (const auto& k : key) match.push_back("t." + QuoteIdent(k) + " = i." + QuoteIdent(k));
  return "DELETE FROM " + table + " AS t USING " + inserted + " AS i WHERE " + Join(match, " AND ");
}

/// Runs one objects step with a files source.
class FilesRunner {
 public:
  FilesRunner(const ObjectsSpec& spec, StepContext& ctx)
      : spec_(spec),
        ctx_(ctx),
        run_(ctx, spec.settings, "objects", Sha256Hex(ctx.env.decl->checksum)),
        files_(ObjectsBackupTable(spec, ctx.env, "__files")),
        inserted_(ObjectsBackupTable(spec, ctx.env, "__inserted")),
        objects_(ObjectsBackupTable(spec, ctx.env, "__objects")),
        id_(ctx.env.decl->id),
        json_names_(JsonNames(spec)) {}

  Status Run() {
    const std::string what = "objects step " + id_;
    PLANRUN_RETURN_IF_ERROR(ResolveSourceRoot(spec_.files.root, what, &root_));
    PLANRUN_RETURN_IF_ERROR(
        CheckKeyUnique(*ctx_.db, spec_.insert.table, spec_.insert.key, "objects insert"));
    // Plans (never runs) the INSERT: its columns and its ON CONFLICT target
    // are checked before anything moves.
    const std::string cols = QuoteIdentList(InsertColumns(spec_));
    PLANRUN_RETURN_IF_ERROR(ctx_.db->Exec(
        "EXPLAIN INSERT INTO " + spec_.insert.table.Quoted() + " (" + cols + ") SELECT " + cols +
        " FROM " + spec_.insert.table.Quoted() + " WHERE false ON CONFLICT (" +
        QuoteIdentList(spec_.insert.key) + ") DO NOTHING"));
    PLANRUN_RETURN_IF_ERROR(MakeObjectStore(spec_.store, what, &store_));
    if (ctx_.dry_run) return DryRun();
    PLANRUN_RETURN_IF_ERROR(run_.BeginOrRestart([&](int64_t* n) { return Undo(n); },
                                                [](int64_t n) {
                                                  return "deleted the " + std::to_string(n) +
                                                         " rows it had inserted; scanning again";
                                                }));
    PLANRUN_RETURN_IF_ERROR(Scan());
    PLANRUN_RETURN_IF_ERROR(temp_.Create());
    net::Client client(ObjectsClientOptions(spec_, ctx_));
    if (ctx_.data && ctx_.data->retry_rejects) PLANRUN_RETURN_IF_ERROR(RetryRejects(client));
    pg::Result count;
    PLANRUN_RETURN_IF_ERROR(ctx_.db->Exec("SELECT count(*) FROM " + files_, &count));
    const int64_t total = std::stoll(count.get(0, 0, "0"));
    while (!run_.checkpoint().done) {
      const auto& last = run_.checkpoint().last_key;
      pg::Result rows;
      PLANRUN_RETURN_IF_ERROR(ctx_.db->Query(
          "SELECT " + std::string(kListColumns) + " FROM " + files_ + " WHERE path > $1 ORDER BY " +
              "path LIMIT " + std::to_string(spec_.settings.batch_size),
          {last && !last->empty() ? (*last)[0] : ""}, &rows));
      const int64_t read = static_cast<int64_t>(rows.rows.size());
      if (read == 0) break;
      PLANRUN_RETURN_IF_ERROR(
          Batch(client, rows, std::vector<std::string>{rows.get(read - 1, 0)}, {}));
      PLANRUN_RETURN_IF_ERROR(run_.CheckRejectLimit(false));
      Progress(total);
      if (read < spec_.settings.batch_size) break;
    }
    PLANRUN_RETURN_IF_ERROR(run_.Finish());
    return Summary();
  }

  /// Deletes the rows the step inserted and drops its list of files and of
  /// inserted keys (restart and rollback); the objects list stays.
  Status Undo(int64_t* deleted) {
    pg::Result r;
    PLANRUN_RETURN_IF_ERROR(ctx_.db->Query("SELECT to_regclass($1) IS NOT NULL", {inserted_}, &r));
    if (r.get(0, 0) == "t") {
      // The keys as the table was made, not as insert.key reads now.
      pg::Result cols;
      PLANRUN_RETURN_IF_ERROR(ctx_.db->Query(
          "SELECT attname FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 "
          "AND NOT attisdropped ORDER BY attnum",
          {inserted_}, &cols));
      std::vector<std::string> key;
      for (size_t i = 0; i < cols.rows.size(); ++i) key.push_back(cols.get(i, 0));
      pg::Result d;
      PLANRUN_RETURN_IF_ERROR(
          ctx_.db->Exec(DeleteInsertedSql(spec_.insert.table.Quoted(), key, inserted_), &d));
      *deleted = d.affected;
      PLANRUN_RETURN_IF_ERROR(ctx_.db->Exec("DROP TABLE " + inserted_));
    }
    return ctx_.db->Exec("DROP TABLE IF EXISTS " + files_);
  }

  /// Rollback: Undo in one transaction, then the uploaded objects.
  Status Revert() {
    int64_t deleted_rows = 0, deleted_objects = 0;
    PLANRUN_RETURN_IF_ERROR(run_.InTransaction([&] { return Undo(&deleted_rows); }));
    PLANRUN_RETURN_IF_ERROR(DeleteUploadedObjects(spec_, ctx_, objects_, &deleted_objects));
    PLANRUN_RETURN_IF_ERROR(run_.store().Reset());
    ctx_.counters["rows"] = deleted_rows;
    ctx_.counters["deleted"] = deleted_objects;
    ctx_.out->Info("objects " + id_ + ": deleted the " + std::to_string(deleted_rows) +
                   " rows it had inserted into " + spec_.insert.table.Display() +
                   (spec_.delete_on_rollback
                        ? "; deleted " + std::to_string(deleted_objects) + " uploaded objects"
                        : ""));
    return Status::OK();
  }

 private:
  /// Scans the folder into the step's list, once: a list already there (a
  /// resumed run) is kept. The list and the step's tables commit together.
  Status Scan() {
    pg::Result r;
    PLANRUN_RETURN_IF_ERROR(ctx_.db->Query("SELECT to_regclass($1) IS NOT NULL", {files_}, &r));
    if (r.get(0, 0) == "t") return Status::OK();
    std::vector<ScannedFile> list;
    ScanOptions opts;
    opts.json = !json_names_.empty();
    opts.max_bytes = spec_.max_bytes;
    PLANRUN_RETURN_IF_ERROR(ScanFiles(root_, spec_.files.glob, opts, &list));
    const int64_t refused = std::count_if(list.begin(), list.end(),
                                          [](const ScannedFile& f) { return !f.refused.empty(); });
    PLANRUN_RETURN_IF_ERROR(run_.InTransaction([&]() -> Status {
      const std::string key = QuoteIdentList(spec_.insert.key);
      PLANRUN_RETURN_IF_ERROR(ctx_.db->Exec(
          "CREATE SCHEMA IF NOT EXISTS " + QuoteIdent(ctx_.env.names.backup) + "; CREATE TABLE " +
          files_ +
          " (path text COLLATE \"C\" PRIMARY KEY, name text NOT NULL, size bigint NOT NULL, "
          "sha256 text NOT NULL, mtime text NOT NULL, json text, refused text); " +
          CreateObjectsTableSql(objects_)));
      pg::Result exists;
      PLANRUN_RETURN_IF_ERROR(
          ctx_.db->Query("SELECT to_regclass($1) IS NULL", {inserted_}, &exists));
      if (exists.get(0, 0) == "t") {
        PLANRUN_RETURN_IF_ERROR(ctx_.db->Exec("CREATE TABLE " + inserted_ + " AS SELECT " + key +
                                              " FROM " + spec_.insert.table.Quoted() +
                                              " WITH NO DATA; ALTER TABLE " + inserted_ +
                                              " ADD PRIMARY KEY (" + key + ")"));
      }
      size_t start = 0;
      for (const size_t end : ListChunkEnds(list, kListChunk, kListChunkBytes)) {
        std::vector<std::string> tuples;
        std::vector<pg::Value> params;
        for (size_t i = start; i < end; ++i) {
          const ScannedFile& f = list[i];
          const size_t p = params.size();
          std::vector<std::string> ph;
          for (size_t c = 1; c <= 7; ++c) ph.push_back("$" + std::to_string(p + c));
          tuples.push_back("(" + Join(ph, ", ") + ")");
          params.insert(params.end(),
                        {f.path, f.name, std::to_string(f.size), f.sha256, f.mtime, f.json,
                         f.refused.empty() ? pg::Value() : pg::Value(f.refused)});
        }
        PLANRUN_RETURN_IF_ERROR(ctx_.db->Query(
            "INSERT INTO " + files_ + " (" + kListColumns + ") VALUES " + Join(tuples, ", "),
            params));
        start = end;
      }
      return Status::OK();
    }));
    ctx_.out->Info("objects " + id_ + ": scanned " + root_ + ": " +
                   std::to_string(list.size() - refused) + " files match " + spec_.files.glob +
                   (refused ? ", " + std::to_string(refused) + " refused" : ""));
    return Status::OK();
  }

  Status DryRun() {
    std::vector<ScannedFile> list;
    ScanOptions opts;
    opts.read = false;
    opts.max_bytes = spec_.max_bytes;
    PLANRUN_RETURN_IF_ERROR(ScanFiles(root_, spec_.files.glob, opts, &list));
    const int64_t refused = std::count_if(list.begin(), list.end(),
                                          [](const ScannedFile& f) { return !f.refused.empty(); });
    ctx_.out->Info("objects " + id_ + " (dry run): " + std::to_string(list.size() - refused) +
                   " files under " + root_ + " match " + spec_.files.glob +
                   (refused ? " (" + std::to_string(refused) + " refused)" : "") +
                   "; their rows would go into " + spec_.insert.table.Display() +
                   " and their objects to the " + store_->Describe());
    return Status::OK();
  }

  /// Copies the files of `rows` aside, transfers them, then writes their
  /// rows in one transaction with the checkpoint. `resolved`: rejects these
  /// rows retry.
  Status Batch(net::Client& client, const pg::Result& rows,
               const std::optional<std::vector<std::string>>& last,
               const std::vector<int64_t>& resolved) {
    std::vector<ObjectItem> items(rows.rows.size());
    std::vector<ObjectItem*> to_move;
    for (size_t i = 0; i < items.size(); ++i) {
      ObjectItem& it = items[i];
      const std::string path = rows.get(i, 0);
      it.vars = {{"path", path}, {"name", rows.get(i, 1)}, {"mtime", rows.get(i, 4)}};
      AddJsonVars(rows.at(i, 5), json_names_, &it.vars);
      it.source_url = path;
      it.content_type = ContentTypeForName(rows.get(i, 1));
      it.temp_file = temp_.File(i);
      if (rows.at(i, 6)) {
        it.Reject(path + " is " + *rows.at(i, 6));
        continue;
      }
      Status st = CopyFileBeneath(root_, path, std::stoll(rows.get(i, 2, "0")), it.temp_file,
                                  &it.sha256, &it.size);
      if (!st.ok()) {
        it.Reject(st.message());
      } else if (it.sha256 != rows.get(i, 3) || std::to_string(it.size) != rows.get(i, 2)) {
        it.Reject(path + " changed since the scan (" + rows.get(i, 2) + " bytes, sha256 " +
                  rows.get(i, 3) + "); planrun apply --restart-step " + id_ + " scans again");
      } else {
        to_move.push_back(&it);
      }
    }
    StoreBatch(spec_, *store_, client, to_move);
    for (ObjectItem& it : items) std::remove(it.temp_file.c_str());
    int64_t written = 0, skipped = 0;
    std::vector<Reject> rejects;
    return run_.InTransaction([&]() -> Status {
      for (size_t i = 0; i < items.size(); ++i) {
        PLANRUN_RETURN_IF_ERROR(Write(rows, i, &items[i], &written, &skipped, &rejects));
      }
      if (!resolved.empty()) {
        PLANRUN_RETURN_IF_ERROR(run_.store().ResolveRejects(resolved));
        run_.checkpoint().rows_rejected -= static_cast<int64_t>(resolved.size());
      }
      const int64_t read = last ? static_cast<int64_t>(items.size()) : 0;
      return run_.CommitBatch(last, read, written, skipped, rejects);
    });
  }

  // One file inside the batch transaction: its object, then its row (or its reject).
  Status Write(const pg::Result& rows, size_t i, ObjectItem* it, int64_t* written, int64_t* skipped,
               std::vector<Reject>* rejects) {
    const std::string row_key = KeyJson({rows.get(i, 0)});
    if (it->state != ObjectItem::State::kRejected) {
      const bool uploaded = it->state == ObjectItem::State::kUploaded;
      PLANRUN_RETURN_IF_ERROR(
          RecordObject(*ctx_.db, objects_, row_key, it->location, uploaded, it->size, it->sha256));
      progress_.Stored(uploaded, it->size);
      PLANRUN_RETURN_IF_ERROR(InsertRow(it, written, skipped));
    }
    if (it->state == ObjectItem::State::kRejected) {
      nlohmann::json input = {{"path", rows.get(i, 0)},
                              {"name", rows.get(i, 1)},
                              {"size", std::stoll(rows.get(i, 2, "0"))},
                              {"sha256", rows.get(i, 3)},
                              {"mtime", rows.get(i, 4)}};
      rejects->push_back({0, "", row_key, input.dump(), it->reason, ""});
    }
    return Status::OK();
  }

  // Inserts the file's row unless its key is there already; a row the
  // table refuses (a data exception or a constraint: SQLSTATE class 22 or
  // 23) rejects the file; any other error (a lock timeout, a deadlock, a
  // lost connection) fails the batch.
  Status InsertRow(ObjectItem* it, int64_t* written, int64_t* skipped) {
    PLANRUN_RETURN_IF_ERROR(ctx_.db->Exec("SAVEPOINT planrun_objects_row"));
    pg::Result r;
    Status st = ctx_.db->Query(InsertSql(spec_),
                               std::vector<pg::Value>(it->values.begin(), it->values.end()), &r);
    if (!st.ok()) {
      if (!IsRowRefused(st)) return st;
      PLANRUN_RETURN_IF_ERROR(ctx_.db->Exec("ROLLBACK TO SAVEPOINT planrun_objects_row"));
      it->Reject("insert into " + spec_.insert.table.Display() + ": " + st.message());
      return Status::OK();
    }
    PLANRUN_RETURN_IF_ERROR(ctx_.db->Exec("RELEASE SAVEPOINT planrun_objects_row"));
    if (r.rows.empty()) {
      ++*skipped;
      return Status::OK();
    }
    std::vector<std::string> ph;
    for (size_t k = 1; k <= spec_.insert.key.size(); ++k) ph.push_back("$" + std::to_string(k));
    PLANRUN_RETURN_IF_ERROR(ctx_.db->Query(
        "INSERT INTO " + inserted_ + " VALUES (" + Join(ph, ", ") + ") ON CONFLICT DO NOTHING",
        r.rows[0]));
    ++*written;
    return Status::OK();
  }

  // --retry-rejects: the rejected files of the list again.
  Status RetryRejects(net::Client& client) {
    return run_.ForEachRejectChunk([&](const std::vector<Reject>& chunk) -> Status {
      std::multimap<std::string, int64_t> ids_of;  // path -> reject ids
      std::vector<std::string> paths;
      for (const Reject& r : chunk) {
        const nlohmann::json key = nlohmann::json::parse(r.row_key, nullptr, false);
        if (key.is_array() && !key.empty() && key[0].is_string()) {
          paths.push_back(QuoteLiteral(key[0].get<std::string>()));
          ids_of.emplace(key[0].get<std::string>(), r.id);
        }
      }
      pg::Result rows;
      PLANRUN_RETURN_IF_ERROR(ctx_.db->Exec(
          "SELECT " + std::string(kListColumns) + " FROM " + files_ + " WHERE path IN (" +
              (paths.empty() ? "NULL" : Join(paths, ", ")) + ") ORDER BY path",
          &rows));
      // Only the rejects whose file is still in the list are retried.
      std::vector<int64_t> ids;
      for (size_t i = 0; i < rows.rows.size(); ++i) {
        auto range = ids_of.equal_range(rows.get(i, 0));
        for (auto it = range.first; it != range.second; ++it) ids.push_back(it->second);
      }
      const int64_t before = run_.checkpoint().rows_rejected;
      PLANRUN_RETURN_IF_ERROR(Batch(client, rows, std::nullopt, ids));
      ctx_.out->Info("objects " + id_ + ": retried " + std::to_string(ids.size()) +
                     " rejected files, " +
                     std::to_string(run_.checkpoint().rows_rejected - before +
                                    static_cast<int64_t>(ids.size())) +
                     " still rejected");
      return Status::OK();
    });
  }

  void Progress(int64_t total) {
    const Checkpoint& cp = run_.checkpoint();
    progress_.Report(ctx_.out,
                     "objects " + id_ + ": " + std::to_string(cp.rows_read) + "/" +
                         std::to_string(total) + " files",
                     cp.rows_rejected);
  }

  // The closing line: totals over every run of the step (a resume included).
  Status Summary() {
    pg::Result r;
    PLANRUN_RETURN_IF_ERROR(ctx_.db->Exec(
        "SELECT count(*) FILTER (WHERE uploaded), count(*) FILTER (WHERE NOT uploaded), "
        "coalesce(sum(bytes) FILTER (WHERE uploaded), 0), (SELECT count(*) FROM " +
            inserted_ + ") FROM " + objects_,
        &r));
    const int64_t uploaded = std::stoll(r.get(0, 0, "0"));
    const int64_t existing = std::stoll(r.get(0, 1, "0"));
    const int64_t bytes = std::stoll(r.get(0, 2, "0"));
    const int64_t inserted = std::stoll(r.get(0, 3, "0"));
    const Checkpoint& cp = run_.checkpoint();
    ctx_.counters["uploaded"] = uploaded;
    ctx_.counters["already_stored"] = existing;
    ctx_.counters["bytes"] = bytes;
    ctx_.counters["inserted"] = inserted;
    ctx_.counters["already_there"] = cp.rows_skipped;
    const std::string rate = progress_.ByteRate();
    ctx_.out->Info("objects " + id_ + ": " + std::to_string(cp.rows_read) + " processed, " +
                   std::to_string(uploaded) + " uploaded, " + std::to_string(existing) +
                   " skipped (already stored), " + std::to_string(cp.rows_rejected) +
                   " rejected, " + std::to_string(bytes) + " bytes moved" + rate + "; " +
                   std::to_string(inserted) + " rows inserted into " +
                   spec_.insert.table.Display() + ", " + std::to_string(cp.rows_skipped) +
                   " skipped (already there)");
    return Status::OK();
  }

  const ObjectsSpec& spec_;
  StepContext& ctx_;
  DataRun run_;
  std::string files_, inserted_, objects_;
  std::string id_;
  std::vector<std::string> json_names_;
  std::string root_;  // the real path of from.root
  std::unique_ptr<ObjectStore> store_;
  ObjectsTempDir temp_;
  ObjectsProgress progress_;
};

}  // namespace

Status ApplyObjectsFiles(const ObjectsSpec& spec, StepContext& ctx) {
  FilesRunner runner(spec, ctx);
  return runner.Run();
}

Status RevertObjectsFiles(const ObjectsSpec& spec, StepContext& ctx) {
  FilesRunner runner(spec, ctx);
  return runner.Revert();
}

std::vector<std::string> DescribeObjectsFilesUp(const ObjectsSpec& spec, const StepEnv& env) {
  const std::string files = ObjectsBackupTable(spec, env, "__files");
  std::vector<std::string> values;
  for (const auto& [col, t] : spec.insert.columns) values.push_back(QuoteLiteral(t.text));
  const std::string key = QuoteIdentList(spec.insert.key);
  return {
      "-- scan " + spec.files.root + " for " + spec.files.glob + " once, into " + files +
          " (path, name, size, sha256, mtime, json), in byte order of path",
      "-- per batch of " + std::to_string(spec.settings.batch_size) + " files, " +
          std::to_string(spec.concurrency) + " transfers in flight: upload to the " +
          spec.store.kind + " store as " + spec.store.key.text +
          " unless it holds the same sha256 (a file changed since the scan is rejected):",
      "SELECT " + std::string(kListColumns) + " FROM " + files +
          " WHERE path > <last path> ORDER BY path LIMIT " +
          std::to_string(spec.settings.batch_size),
      "INSERT INTO " + spec.insert.table.Quoted() + " (" + QuoteIdentList(InsertColumns(spec)) +
          ") VALUES (" + Join(values, ", ") + ") ON CONFLICT (" + key + ") DO NOTHING RETURNING " +
          key,
      "INSERT INTO " + ObjectsBackupTable(spec, env, "__inserted") + " <keys of the inserted rows>",
      "INSERT INTO " + ObjectsBackupTable(spec, env, "__objects") + " <stored objects>"};
}

std::vector<std::string> DescribeObjectsFilesDown(const ObjectsSpec& spec, const StepEnv& env) {
  const std::string inserted = ObjectsBackupTable(spec, env, "__inserted");
  std::vector<std::string> out = {
      DeleteInsertedSql(spec.insert.table.Quoted(), spec.insert.key, inserted),
      "DROP TABLE " + inserted, "DROP TABLE " + ObjectsBackupTable(spec, env, "__files")};
  if (spec.delete_on_rollback) {
    out.push_back("-- DELETE every object the step uploaded from the " + spec.store.kind +
                  " store");
  }
  out.push_back("DROP TABLE " + ObjectsBackupTable(spec, env, "__objects"));
  return out;
}

}  // namespace planrun
