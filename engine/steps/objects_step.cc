#include "steps/objects_step.h"

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "plan/plan.h"
#include "report/reporter.h"
#include "steps/data_run.h"
#include "steps/objects_common.h"
#include "steps/objects_files_step.h"
#include "steps/objects_hook.h"
#include "steps/objects_store.h"
#include "steps/table_info.h"
#include "util/sha256.h"
#include "util/sql.h"
#include "util/strings.h"

namespace planrun {

namespace {

/// The rows of a batch: `select` (the columns read) after `after`, in key order.
std::string BatchSql(const ObjectsSpec& spec, const std::string& select, const std::string& after,
                     int64_t limit) {
  return "SELECT " + select + " FROM " + spec.table.Quoted() + " WHERE " +
         (spec.where.empty() ? "" : "(" + spec.where + ") AND ") + after + " ORDER BY " +
         QuoteIdentList(spec.key) + " LIMIT " + std::to_string(limit);
}

std::vector<std::string> SetColumns(const ObjectsSpec& spec) {
  std::vector<std::string> out;
  for (const auto& [col, t] : spec.set) out.push_back(col);
  return out;
}

/// "k1 = $<first> AND k2 = $<first+1>".
std::string KeyMatch(const std::vector<std::string>& key, size_t first) {
  std::vector<std::string> parts;
  for (size_t i = 0; i < key.size(); ++i) {
    parts.push_back(QuoteIdent(key[i]) + " = $" + std::to_string(first + i));
  }
  return Join(parts, " AND ");
}

/// Runs one objects step.
class ObjectsRunner {
 public:
  ObjectsRunner(const ObjectsSpec& spec, StepContext& ctx)
      : spec_(spec),
        ctx_(ctx),
        run_(ctx, spec.settings, "objects", ObjectsFingerprint(spec, ctx.env.decl->checksum)),
        prev_(ObjectsBackupTable(spec, ctx.env, "__prev")),
        objects_(ObjectsBackupTable(spec, ctx.env, "__objects")),
        set_cols_(SetColumns(spec)) {}

  Status Run() {
    PLANRUN_RETURN_IF_ERROR(CheckKeyUnique(*ctx_.db, spec_.table, spec_.key, "objects source"));
    PLANRUN_RETURN_IF_ERROR(ResolveReadColumns());
    const std::string what = "objects step " + ctx_.env.decl->id;
    PLANRUN_RETURN_IF_ERROR(MakeObjectStore(spec_.store, what, &store_));
    PLANRUN_RETURN_IF_ERROR(ResolveFilesRoot(spec_.files_root, what, &files_root_));
    if (spec_.url_hook.present) PLANRUN_RETURN_IF_ERROR(ObjectsHook::Start(spec_, ctx_, &hook_));
    if (ctx_.dry_run) return DryRun();
    PLANRUN_RETURN_IF_ERROR(run_.BeginOrRestart([&](int64_t* n) { return Restore(n); },
                                                [](int64_t n) {
                                                  return "restored " + std::to_string(n) +
                                                         " rows to their previous values";
                                                }));
    PLANRUN_RETURN_IF_ERROR(run_.InTransaction([&] { return Setup(); }));
    PLANRUN_RETURN_IF_ERROR(temp_.Create());
    net::Client client(ObjectsClientOptions(spec_, ctx_));
    if (ctx_.data && ctx_.data->retry_rejects) PLANRUN_RETURN_IF_ERROR(RetryRejects(client));
    const std::optional<int64_t> total = EstimateRows(*ctx_.db, spec_.table);
    while (!run_.checkpoint().done) {
      pg::Result rows;
      PLANRUN_RETURN_IF_ERROR(ctx_.db->Exec(
          BatchSql(spec_, select_, KeyAfter(cols_, key_idx_, run_.checkpoint().last_key),
                   spec_.settings.batch_size),
          &rows));
      const int64_t read = static_cast<int64_t>(rows.rows.size());
      if (read == 0) break;
      std::vector<std::string> last;
      for (size_t k = 0; k < spec_.key.size(); ++k) last.push_back(rows.get(read - 1, k));
      PLANRUN_RETURN_IF_ERROR(Batch(client, rows, last, {}));
      PLANRUN_RETURN_IF_ERROR(run_.CheckRejectLimit(false));
      Progress(total);
      if (read < spec_.settings.batch_size) break;
    }
    if (hook_) PLANRUN_RETURN_IF_ERROR(hook_->Finish());
    PLANRUN_RETURN_IF_ERROR(run_.Finish());
    return Summary();
  }

  /// Puts the saved previous values back and drops the saved copy. The
  /// columns come from the saved table itself (its primary key is the row
  /// key, the others the saved columns), not from the step as it is now: a
  /// restart after `key` or `set` was edited restores what the earlier
  /// definition changed.
  Status Restore(int64_t* restored) {
    pg::Result r;
    PLANRUN_RETURN_IF_ERROR(ctx_.db->Query("SELECT to_regclass($1) IS NOT NULL", {prev_}, &r));
    if (r.get(0, 0) != "t") return Status::OK();
    const TableName saved = ObjectsBackupName(spec_, ctx_.env, "__prev");
    std::vector<std::string> key;
    std::vector<ColumnInfo> columns;
    PLANRUN_RETURN_IF_ERROR(LoadPrimaryKey(*ctx_.db, saved, &key));
    PLANRUN_RETURN_IF_ERROR(LoadColumns(*ctx_.db, saved, &columns));
    std::vector<std::string> match, cols, prev_set;
    for (const auto& k : key) match.push_back("t." + QuoteIdent(k) + " = p." + QuoteIdent(k));
    for (const std::string& c : ColumnNames(columns)) {
      if (std::find(key.begin(), key.end(), c) != key.end()) continue;
      cols.push_back(c);
      prev_set.push_back("p." + QuoteIdent(c));
    }
    if (!cols.empty() && !key.empty()) {
      pg::Result u;
      PLANRUN_RETURN_IF_ERROR(ctx_.db->Exec(
          "UPDATE " + spec_.table.Quoted() + " AS t SET (" + QuoteIdentList(cols) + ") = ROW(" +
              Join(prev_set, ", ") + ") FROM " + prev_ + " AS p WHERE " + Join(match, " AND "),
          &u));
      *restored = u.affected;
    }
    return ctx_.db->Exec("DROP TABLE " + prev_);
  }

  /// Deletes the objects this step uploaded (delete_on_rollback), then forgets them.
  Status DeleteUploaded(int64_t* deleted) {
    return DeleteUploadedObjects(spec_, ctx_, objects_, deleted);
  }

 private:
  // The columns each batch reads (key, URL column, template columns; with a
  // hook every other column too), and the ones that must still hold what
  // was read when the row is written.
  Status ResolveReadColumns() {
    std::vector<std::string> read = spec_.ReadColumns();
    if (spec_.url_hook.present) {
      std::vector<ColumnInfo> table;
      PLANRUN_RETURN_IF_ERROR(LoadColumns(*ctx_.db, spec_.table, &table));
      for (const std::string& c : ColumnNames(table)) {
        if (std::find(read.begin(), read.end(), c) == read.end()) read.push_back(c);
      }
    }
    select_ = QuoteIdentList(read);
    PLANRUN_RETURN_IF_ERROR(DescribeSelect(*ctx_.db, BatchSql(spec_, select_, "true", 0), &cols_));
    for (size_t i = 0; i < spec_.key.size(); ++i) key_idx_.push_back(i);
    for (size_t i = spec_.key.size(); i < read.size(); ++i) {
      if (spec_.url_hook.present || read[i] == spec_.url_column) guard_.push_back(i);
    }
    return Status::OK();
  }

  // " AND c1::text IS NOT DISTINCT FROM $<first> AND ...": the guard_
  // columns still hold the values of row `i`, which go into *params.
  std::string Unchanged(const pg::Result& rows, size_t i, size_t first,
                        std::vector<pg::Value>* params) const {
    std::string sql;
    for (size_t g : guard_) {
      sql += " AND " + QuoteIdent(cols_[g].name) + "::text IS NOT DISTINCT FROM $" +
             std::to_string(first++);
      params->push_back(rows.at(i, g));
    }
    return sql;
  }

  Status Setup() {
    std::string sql = "CREATE SCHEMA IF NOT EXISTS " + QuoteIdent(ctx_.env.names.backup) + ";";
    pg::Result r;
    PLANRUN_RETURN_IF_ERROR(ctx_.db->Query("SELECT to_regclass($1) IS NULL", {prev_}, &r));
    if (r.get(0, 0) == "t" && !set_cols_.empty()) {
      sql += "CREATE TABLE " + prev_ + " AS SELECT " + QuoteIdentList(spec_.key) + ", " +
             QuoteIdentList(set_cols_) + " FROM " + spec_.table.Quoted() +
             " WITH NO DATA; ALTER TABLE " + prev_ + " ADD PRIMARY KEY (" +
             QuoteIdentList(spec_.key) + ");";
    }
    return ctx_.db->Exec(sql + CreateObjectsTableSql(objects_));
  }

  Status DryRun() {
    pg::Result r;
    PLANRUN_RETURN_IF_ERROR(ctx_.db->Exec(
        "SELECT count(*) FROM (" + BatchSql(spec_, select_, "true", INT64_MAX) + ") AS rows", &r));
    ctx_.out->Info("objects " + ctx_.env.decl->id + " (dry run): " + r.get(0, 0) +
                   " rows would have their objects moved to the " + store_->Describe() +
                   (hook_ ? ", their URLs from the hook " + spec_.url_hook.source.chunk_name : ""));
    if (!hook_ || !ctx_.data || ctx_.data->sample_rows <= 0) return Status::OK();
    pg::Result rows;
    PLANRUN_RETURN_IF_ERROR(
        ctx_.db->Exec(BatchSql(spec_, select_, "true", ctx_.data->sample_rows), &rows));
    std::vector<ObjectItem> items(rows.rows.size());
    PLANRUN_RETURN_IF_ERROR(hook_->Apply(1, cols_, rows, &items));
    PLANRUN_RETURN_IF_ERROR(hook_->Finish());
    for (const std::string& line :
         DescribeSample(ctx_.env.decl->id, spec_.key.size(), cols_, rows, items)) {
      ctx_.out->Info(line);
    }
    return Status::OK();
  }

  /// Transfers the objects of `rows`, then writes them in one transaction
  /// with the checkpoint. `resolved`: rejects these rows retry.
  Status Batch(net::Client& client, const pg::Result& rows,
               const std::optional<std::vector<std::string>>& last,
               const std::vector<int64_t>& resolved) {
    std::vector<ObjectItem> items(rows.rows.size());
    if (hook_) {
      PLANRUN_RETURN_IF_ERROR(hook_->Apply(run_.checkpoint().batches + 1, cols_, rows, &items));
    }
    std::vector<ObjectItem*> to_move;
    for (size_t i = 0; i < items.size(); ++i) {
      ObjectItem& it = items[i];
      for (size_t c = 0; c < cols_.size(); ++c) {
        if (rows.at(i, c)) it.vars[cols_[c].name] = *rows.at(i, c);
      }
      it.temp_file = temp_.File(i);
      if (hook_) {
        if (it.state == ObjectItem::State::kPending) to_move.push_back(&it);
        continue;
      }
      auto url = it.vars.find(spec_.url_column);
      if (url == it.vars.end() || url->second.empty()) {
        it.Reject("'" + spec_.url_column + "' is NULL or empty");
        continue;
      }
      it.source_url = url->second;
      to_move.push_back(&it);
    }
    TransferBatch(spec_, files_root_, *store_, client, to_move);
    for (ObjectItem& it : items) std::remove(it.temp_file.c_str());
    int64_t written = 0, skipped = 0;
    std::vector<Reject> rejects;
    return run_.InTransaction([&]() -> Status {
      for (size_t i = 0; i < items.size(); ++i) {
        if (items[i].state == ObjectItem::State::kSkipped) {
          ++skipped;
          continue;
        }
        PLANRUN_RETURN_IF_ERROR(Write(rows, i, &items[i], &written, &rejects));
      }
      if (!resolved.empty()) {
        PLANRUN_RETURN_IF_ERROR(run_.store().ResolveRejects(resolved));
        run_.checkpoint().rows_rejected -= static_cast<int64_t>(resolved.size());
      }
      const int64_t read = last ? static_cast<int64_t>(items.size()) : 0;
      return run_.CommitBatch(last, read, written, skipped, rejects);
    });
  }

  // One row inside the batch transaction: its new values, or its reject.
  Status Write(const pg::Result& rows, size_t i, ObjectItem* it, int64_t* written,
               std::vector<Reject>* rejects) {
    std::vector<pg::Value> key;
    std::vector<std::string> key_text;
    for (size_t k = 0; k < spec_.key.size(); ++k) {
      key.push_back(rows.at(i, k));
      key_text.push_back(rows.get(i, k));
    }
    const bool uploaded = it->state == ObjectItem::State::kUploaded;
    if (it->state != ObjectItem::State::kRejected && !set_cols_.empty()) {
      PLANRUN_RETURN_IF_ERROR(WriteSet(rows, i, *it, key));
    }
    if (it->state == ObjectItem::State::kRejected) {
      // Rejected after its upload (the row changed meanwhile): the object is
      // planrun's all the same, so rollback deletes it.
      if (uploaded) {
        PLANRUN_RETURN_IF_ERROR(RecordObject(*ctx_.db, objects_, KeyJson(key_text), it->location,
                                             true, it->size, it->sha256));
      }
      nlohmann::json input = nlohmann::json::object();
      for (size_t c = 0; c < cols_.size(); ++c) {
        input[cols_[c].name] = rows.at(i, c) ? nlohmann::json(*rows.at(i, c)) : nlohmann::json();
      }
      rejects->push_back({0, "", KeyJson(key_text), input.dump(), it->reason, ""});
      return Status::OK();
    }
    PLANRUN_RETURN_IF_ERROR(RecordObject(*ctx_.db, objects_, KeyJson(key_text), it->location,
                                         uploaded, it->size, it->sha256));
    ++*written;
    progress_.Stored(uploaded, it->size);
    return Status::OK();
  }

  // Locks the row while its URL column (with a hook: every column the hook
  // read) still holds what was read, then saves its previous `set` values
  // (first time only) and writes the new ones; a row changed meanwhile is
  // rejected untouched. The lock keeps other sessions from changing the row
  // between the save and the write, so rollback restores what was replaced.
  Status WriteSet(const pg::Result& rows, size_t i, ObjectItem& it,
                  const std::vector<pg::Value>& key) {
    std::vector<pg::Value> lock_params = key;
    const std::string same = Unchanged(rows, i, key.size() + 1, &lock_params);
    pg::Result locked;
    PLANRUN_RETURN_IF_ERROR(ctx_.db->Query("SELECT 1 FROM " + spec_.table.Quoted() + " WHERE " +
                                               KeyMatch(spec_.key, 1) + same + " FOR UPDATE",
                                           lock_params, &locked));
    if (locked.rows.empty()) {
      it.Reject(
          "the row changed while its object was being transferred; run planrun apply "
          "--retry-rejects");
      return Status::OK();
    }
    pg::Result saved;
    PLANRUN_RETURN_IF_ERROR(
        ctx_.db->Query("INSERT INTO " + prev_ + " SELECT " + QuoteIdentList(spec_.key) + ", " +
                           QuoteIdentList(set_cols_) + " FROM " + spec_.table.Quoted() + " WHERE " +
                           KeyMatch(spec_.key, 1) + " ON CONFLICT DO NOTHING",
                       key, &saved));
    std::vector<std::string> sets;
    for (size_t c = 0; c < set_cols_.size(); ++c) {
      sets.push_back(QuoteIdent(set_cols_[c]) + " = $" + std::to_string(c + 1));
    }
    std::vector<pg::Value> params(it.values.begin(), it.values.end());
    params.insert(params.end(), key.begin(), key.end());
    pg::Result r;
    PLANRUN_RETURN_IF_ERROR(ctx_.db->Query("UPDATE " + spec_.table.Quoted() + " SET " +
                                               Join(sets, ", ") + " WHERE " +
                                               KeyMatch(spec_.key, set_cols_.size() + 1),
                                           params, &r));
    if (r.affected == 0) {
      // A BEFORE UPDATE trigger (or a rule) kept the row as it was: nothing
      // of it is planrun's to restore.
      if (saved.affected == 1) {
        PLANRUN_RETURN_IF_ERROR(
            ctx_.db->Query("DELETE FROM " + prev_ + " WHERE " + KeyMatch(spec_.key, 1), key));
      }
      it.Reject("the UPDATE of the row changed nothing (a trigger or rule on " +
                spec_.table.Display() + " kept it)");
    }
    return Status::OK();
  }

  // --retry-rejects: the rejected rows again.
  Status RetryRejects(net::Client& client) {
    return run_.ForEachRejectChunk([&](const std::vector<Reject>& chunk) -> Status {
      std::vector<int64_t> ids;
      std::vector<std::string> tuples;
      for (const Reject& r : chunk) {
        ids.push_back(r.id);
        tuples.push_back(KeyTuple(cols_, key_idx_, r.row_key));
      }
      pg::Result rows;
      PLANRUN_RETURN_IF_ERROR(ctx_.db->Exec(
          BatchSql(spec_, select_,
                   "(" + QuoteIdentList(spec_.key) + ") IN (" + Join(tuples, ", ") + ")",
                   static_cast<int64_t>(ids.size())),
          &rows));
      const int64_t before = run_.checkpoint().rows_rejected;
      PLANRUN_RETURN_IF_ERROR(Batch(client, rows, std::nullopt, ids));
      ctx_.out->Info("objects " + ctx_.env.decl->id + ": retried " + std::to_string(ids.size()) +
                     " rejected rows, " +
                     std::to_string(run_.checkpoint().rows_rejected - before +
                                    static_cast<int64_t>(ids.size())) +
                     " still rejected");
      return Status::OK();
    });
  }

  void Progress(std::optional<int64_t> total) {
    const Checkpoint& cp = run_.checkpoint();
    progress_.Report(ctx_.out,
                     "objects " + ctx_.env.decl->id + ": " + std::to_string(cp.rows_read) +
                         (total && *total > 0 ? "/~" + std::to_string(*total) : "") + " rows",
                     cp.rows_rejected);
  }

  // The closing line: totals over every run of the step (a resume included).
  Status Summary() {
    pg::Result r;
    PLANRUN_RETURN_IF_ERROR(
        ctx_.db->Exec("SELECT count(*) FILTER (WHERE uploaded), count(*) FILTER (WHERE NOT "
                      "uploaded), coalesce(sum(bytes) FILTER (WHERE uploaded), 0) FROM " +
                          objects_,
                      &r));
    const int64_t uploaded = std::stoll(r.get(0, 0, "0"));
    const int64_t existing = std::stoll(r.get(0, 1, "0"));
    const int64_t bytes = std::stoll(r.get(0, 2, "0"));
    ctx_.counters["uploaded"] = uploaded;
    ctx_.counters["already_stored"] = existing;
    ctx_.counters["bytes"] = bytes;
    const std::string rate = progress_.ByteRate();
    ctx_.out->Info(
        "objects " + ctx_.env.decl->id + ": " + std::to_string(run_.checkpoint().rows_read) +
        " processed, " + std::to_string(uploaded) + " uploaded, " + std::to_string(existing) +
        " skipped (already stored), " +
        (hook_ ? std::to_string(run_.checkpoint().rows_skipped) + " skipped by the hook, " : "") +
        std::to_string(run_.checkpoint().rows_rejected) + " rejected, " + std::to_string(bytes) +
        " bytes moved" + rate);
    return Status::OK();
  }

  const ObjectsSpec& spec_;
  StepContext& ctx_;
  DataRun run_;
  std::string prev_, objects_;
  std::vector<std::string> set_cols_;
  std::vector<ColumnSpec> cols_;
  std::vector<size_t> key_idx_;
  std::string select_;         // the select list of a batch
  std::vector<size_t> guard_;  // columns (into cols_) that must be unchanged when a row is written
  std::unique_ptr<ObjectsHook> hook_;  // with url: {hook: ...}
  std::string files_root_;             // the real path of from.files_root, or empty
  std::unique_ptr<ObjectStore> store_;
  ObjectsTempDir temp_;
  ObjectsProgress progress_;
};

class ObjectsStep : public Step {
 public:
  explicit ObjectsStep(ObjectsSpec spec) : spec_(std::move(spec)) {}
  std::vector<TableName> Reads() const override { return {spec_.Target()}; }
  std::vector<TableName> Writes() const override { return {spec_.Target()}; }
  bool OwnsTransactions() const override { return true; }
  /// Revert restores the rows in its own transaction, then deletes objects.
  bool RevertTransactional() const override { return false; }
  Reversibility reversibility() const override { return Reversibility::kReversible; }

  std::vector<std::string> DescribeUp(const StepEnv& env) const override {
    if (spec_.FromFiles()) return DescribeObjectsFilesUp(spec_, env);
    const bool hook = spec_.url_hook.present;
    const std::string source =
        hook ? "the URL the hook " + spec_.url_hook.source.chunk_name + " gives each row"
             : QuoteIdent(spec_.url_column);
    std::string key = spec_.store.key.text;
    if (hook) key = key.empty() ? "the hook's key" : key + " (or the hook's key)";
    std::vector<std::string> out = {
        "-- per batch of " + std::to_string(spec_.settings.batch_size) + " rows, " +
            std::to_string(spec_.concurrency) + " transfers in flight: download " + source +
            ", upload to the " + spec_.store.kind + " store as " + key +
            " unless it holds the same sha256:",
        BatchSql(spec_,
                 QuoteIdentList(spec_.ReadColumns()) + (hook ? ", <every other column>" : ""),
                 "(<key>) > (<last key>)", spec_.settings.batch_size)};
    if (!spec_.set.empty()) {
      out.push_back("INSERT INTO " + ObjectsBackupTable(spec_, env, "__prev") +
                    " <previous values of " + QuoteIdentList(SetColumns(spec_)) + ">");
      out.push_back("UPDATE " + spec_.table.Quoted() + " SET (" +
                    QuoteIdentList(SetColumns(spec_)) + ") = <stored object> WHERE <key>");
    }
    out.push_back("INSERT INTO " + ObjectsBackupTable(spec_, env, "__objects") +
                  " <stored objects>");
    return out;
  }
  std::vector<std::string> DescribeDown(const StepEnv& env) const override {
    if (spec_.FromFiles()) return DescribeObjectsFilesDown(spec_, env);
    std::vector<std::string> out;
    if (!spec_.set.empty()) {
      out.push_back("UPDATE " + spec_.table.Quoted() + " SET (" +
                    QuoteIdentList(SetColumns(spec_)) + ") = <previous values> FROM " +
                    ObjectsBackupTable(spec_, env, "__prev"));
      out.push_back("DROP TABLE " + ObjectsBackupTable(spec_, env, "__prev"));
    }
    if (spec_.delete_on_rollback) {
      out.push_back("-- DELETE every object the step uploaded from the " + spec_.store.kind +
                    " store");
    }
    out.push_back("DROP TABLE " + ObjectsBackupTable(spec_, env, "__objects"));
    return out;
  }

  Status Apply(StepContext& ctx) const override {
    if (spec_.FromFiles()) return ApplyObjectsFiles(spec_, ctx);
    ObjectsRunner runner(spec_, ctx);
    return runner.Run();
  }
  Status Revert(StepContext& ctx) const override {
    if (spec_.FromFiles()) return RevertObjectsFiles(spec_, ctx);
    ObjectsRunner runner(spec_, ctx);
    int64_t restored = 0, deleted = 0;
    PLANRUN_RETURN_IF_ERROR(ctx.db->Exec("BEGIN"));
    Status st = runner.Restore(&restored);
    st = st.ok() ? ctx.db->Exec("COMMIT") : st;
    if (!st.ok()) {
      ctx.db->Exec("ROLLBACK");
      return st;
    }
    PLANRUN_RETURN_IF_ERROR(runner.DeleteUploaded(&deleted));
    CheckpointStore store(ctx.db, ctx.env.names.tracking, ctx.env.plan->version.text,
                          ctx.data ? ctx.data->attempt : 1, ctx.env.decl->id);
    PLANRUN_RETURN_IF_ERROR(store.Reset());
    ctx.counters["rows"] = restored;
    ctx.counters["deleted"] = deleted;
    ctx.out->Info("objects " + ctx.env.decl->id + ": restored " + std::to_string(restored) +
                  " rows of " + spec_.table.Display() + " to their previous values" +
                  (spec_.delete_on_rollback
                       ? "; deleted " + std::to_string(deleted) + " uploaded objects"
                       : ""));
    return Status::OK();
  }

 private:
  ObjectsSpec spec_;
};

}  // namespace

Status ParseObjectsStep(const Node& body, const StepParseContext& ctx, std::unique_ptr<Step>* out) {
  ObjectsSpec spec;
  PLANRUN_RETURN_IF_ERROR(ParseObjectsSpec(body, ctx, &spec));
  *out = std::make_unique<ObjectsStep>(std::move(spec));
  return Status::OK();
}

}  // namespace planrun
