// Running a `copy` step (see copy_step.h). Per batch, on the target session:
//
//   BEGIN
//   TRUNCATE <stage>; COPY <stage> FROM STDIN           -- the batch's output rows
//   [INSERT INTO <prev> SELECT <target rows about to be updated>]   -- on_conflict: update
//   WITH ins AS (INSERT INTO <target> SELECT FROM <stage> ... RETURNING <pk>)
//     INSERT INTO <keys> SELECT <pk> FROM ins WHERE inserted   -- for rollback
//   <rejects>; <checkpoint>; <progress>
//   COMMIT
#include <future>
#include <nlohmann/json.hpp>

#include "plan/plan.h"
#include "report/reporter.h"
#include "steps/backup_names.h"
#include "steps/copy_spec.h"
#include "steps/data_run.h"
#include "steps/hook_pool.h"
#include "steps/table_info.h"
#include "util/sha256.h"
#include "util/sql.h"
#include "util/strings.h"

namespace planrun {

namespace {

/// What a copy run resolves against the databases before its first batch.
struct CopyRuntime {
  std::unique_ptr<pg::Session> own_source;
  pg::Session* source = nullptr;
  std::vector<ColumnSpec> src_cols;
  std::vector<size_t> key_idx;
  std::vector<ColumnSpec> key_cols;  // the source key columns by their own names, for KeyAfter
  std::vector<size_t> key_pos;       // 0..n-1 into key_cols
  std::vector<std::string> in_names;
  std::vector<ColumnSpec> out_cols;
  std::vector<std::string> pk;
  std::string stage, keys, prev;
  std::unique_ptr<HookPool> pool;
};

std::string Qualified(const std::vector<std::string>& cols, const std::string& alias) {
  std::vector<std::string> out;
  for (const auto& c : cols) out.push_back(alias + "." + QuoteIdent(c));
  return Join(out, ", ");
}

Status ResolveColumns(const CopySpec& spec, StepContext& ctx, CopyRuntime* rt) {
  PLANRUN_RETURN_IF_ERROR(
      DescribeSelect(*rt->source, CopySourceSql(spec, "true", 0), &rt->src_cols));
  for (const ColumnSpec& c : rt->src_cols) rt->in_names.push_back(c.name);
  for (size_t k = 0; k < spec.key.size(); ++k) {
    const std::string want =
        spec.hook.present ? spec.key[k] : "planrun_key_" + std::to_string(k + 1);
    size_t found = rt->src_cols.size();
    for (size_t i = 0; i < rt->src_cols.size(); ++i) {
      if (rt->src_cols[i].name == want) found = i;
    }
    if (found == rt->src_cols.size()) {
      return Status::Failed("the copy source has no key column '" + spec.key[k] + "'");
    }
    rt->key_idx.push_back(found);
    ColumnSpec key = rt->src_cols[found];
    key.name = spec.key[k];
    rt->key_cols.push_back(key);
    rt->key_pos.push_back(k);
  }
  std::vector<ColumnInfo> target;
  PLANRUN_RETURN_IF_ERROR(LoadColumns(*ctx.db, spec.to_table, &target));
  for (const std::string& name : spec.to_columns) {
    const ColumnInfo* info = nullptr;
    for (const ColumnInfo& c : target) {
      if (c.name == name) info = &c;
    }
    if (!info) {
      return Status::Failed("copy target " + spec.to_table.Display() + " has no column '" + name +
                            "'; its columns are " + Join(ColumnNames(target), ", "));
    }
    ColumnSpec s;
    s.name = name;
    s.type_oid = info->type_oid;
    s.type_name = info->type;
    s.cls = ClassifyType(s.type_oid, &s.element);
    rt->out_cols.push_back(s);
  }
  PLANRUN_RETURN_IF_ERROR(LoadPrimaryKey(*ctx.db, spec.to_table, &rt->pk));
  if (rt->pk.empty()) {
    return Status::Failed("copy target " + spec.to_table.Display() +
                          " has no primary key; copy needs one so rollback can remove exactly "
                          "the rows it inserted");
  }
  return Status::OK();
}

Status Setup(const CopySpec& spec, StepContext& ctx, CopyRuntime* rt) {
  const std::string pk = QuoteIdentList(rt->pk);
  std::string sql = "CREATE SCHEMA IF NOT EXISTS " + QuoteIdent(ctx.env.names.backup) +
                    "; CREATE TABLE IF NOT EXISTS " + rt->keys + " AS SELECT " + pk + " FROM " +
                    spec.to_table.Quoted() + " WITH NO DATA; CREATE TEMP TABLE IF NOT EXISTS " +
                    rt->stage + " AS SELECT " + QuoteIdentList(spec.to_columns) + " FROM " +
                    spec.to_table.Quoted() + " WITH NO DATA;";
  PLANRUN_RETURN_IF_ERROR(ctx.db->Exec(sql));
  if (spec.on_conflict == OnConflict::kUpdate) {
    pg::Result r;
    PLANRUN_RETURN_IF_ERROR(ctx.db->Query("SELECT to_regclass($1) IS NULL", {rt->prev}, &r));
    if (r.get(0, 0) == "t") {
      PLANRUN_RETURN_IF_ERROR(ctx.db->Exec("CREATE TABLE " + rt->prev + " (LIKE " +
                                           spec.to_table.Quoted() + "); ALTER TABLE " + rt->prev +
                                           " ADD PRIMARY KEY (" + pk + ")"));
    }
  }
  return Status::OK();
}

// Undoes the rows a copy wrote (previous versions back, inserted rows gone).
Status UndoRows(const CopySpec& spec, StepContext& ctx, const std::string& keys,
                const std::string& prev, int64_t* removed) {
  pg::Result r;
  PLANRUN_RETURN_IF_ERROR(ctx.db->Query(
      "SELECT to_regclass($1) IS NOT NULL, to_regclass($2) IS NOT NULL", {keys, prev}, &r));
  std::vector<std::string> pk;
  PLANRUN_RETURN_IF_ERROR(LoadPrimaryKey(*ctx.db, spec.to_table, &pk));
  std::vector<std::string> match;
  for (const auto& c : pk) match.push_back("t." + QuoteIdent(c) + " = k." + QuoteIdent(c));
  if (r.get(0, 1) == "t") {
    PLANRUN_RETURN_IF_ERROR(ctx.db->Exec("UPDATE " + spec.to_table.Quoted() + " AS t SET (" +
                                         QuoteIdentList(spec.to_columns) + ") = ROW(" +
                                         Qualified(spec.to_columns, "k") + ") FROM " + prev +
                                         " AS k WHERE " + Join(match, " AND ")));
  }
  if (r.get(0, 0) == "t") {
    pg::Result d;
    PLANRUN_RETURN_IF_ERROR(ctx.db->Exec("DELETE FROM " + spec.to_table.Quoted() + " AS t USING " +
                                             keys + " AS k WHERE " + Join(match, " AND "),
                                         &d));
    *removed = d.affected;
  }
  return Status::OK();
}

/// A batch's rows turned into target rows.
struct Processed {
  std::string copy_text;  // COPY text of the rows to write
  int64_t rows = 0;
  int64_t skipped = 0;
  std::vector<Reject> rejects;
  std::vector<std::string> samples;  // JSON of the first output rows (dry run --sample)
};

Status Process(const CopySpec& spec, CopyRuntime& rt, int64_t batch,
               const std::vector<std::vector<RawField>>& rows, Processed* p) {
  const size_t ncols = spec.to_columns.size();
  if (!spec.hook.present) {
    std::vector<RawField> out(ncols);
    for (const auto& row : rows) {
      std::copy(row.begin(), row.begin() + ncols, out.begin());
      AppendCopyRow(&p->copy_text, out);
      ++p->rows;
    }
    return Status::OK();
  }
  std::vector<std::vector<Value>> values(rows.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    values[i].resize(rt.src_cols.size());
    for (size_t c = 0; c < rt.src_cols.size(); ++c) {
      PLANRUN_RETURN_IF_ERROR(DecodeField(rt.src_cols[c], rows[i][c], &values[i][c]));
    }
  }
  std::vector<RowResult> results;
  PLANRUN_RETURN_IF_ERROR(rt.pool->Run(batch, rt.in_names, values, spec.to_columns, &results));
  std::vector<RawField> out(ncols);
  for (size_t i = 0; i < rows.size(); ++i) {
    RowResult& r = results[i];
    if (r.outcome == lua::RowOutcome::kSkip) {
      ++p->skipped;
      continue;
    }
    Status encoded;
    if (r.outcome == lua::RowOutcome::kRow) {
      for (size_t c = 0; c < ncols && encoded.ok(); ++c) {
        encoded = EncodeField(rt.out_cols[c], r.out[c], &out[c]);
      }
    }
    if (r.outcome == lua::RowOutcome::kReject || !encoded.ok()) {
      std::vector<std::string> key;
      PLANRUN_RETURN_IF_ERROR(KeyOf(rows[i], rt.key_idx, &key));
      p->rejects.push_back({0, "", KeyJson(key), RowJson(rt.src_cols, values[i]),
                            encoded.ok() ? r.reason : encoded.message(), ""});
      continue;
    }
    AppendCopyRow(&p->copy_text, out);
    if (p->samples.size() < 3) p->samples.push_back(RowJson(rt.out_cols, r.out));
    ++p->rows;
  }
  return Status::OK();
}

std::string ConflictClause(const CopySpec& spec) {
  if (spec.on_conflict == OnConflict::kSkip) return " ON CONFLICT DO NOTHING";
  if (spec.on_conflict != OnConflict::kUpdate) return "";
  std::vector<std::string> sets;
  for (const auto& c : spec.to_columns) {
    sets.push_back(QuoteIdent(c) + " = EXCLUDED." + QuoteIdent(c));
  }
  return " ON CONFLICT (" + QuoteIdentList(spec.conflict_key) + ") DO UPDATE SET " +
         Join(sets, ", ");
}

// Writes processed rows into the target; returns how many it wrote.
Status Write(const CopySpec& spec, StepContext& ctx, CopyRuntime& rt, const Processed& p,
             int64_t* written) {
  *written = 0;
  if (p.rows == 0) return Status::OK();
  const std::string cols = QuoteIdentList(spec.to_columns);
  PLANRUN_RETURN_IF_ERROR(ctx.db->Exec("TRUNCATE " + rt.stage));
  bool sent = false;
  PLANRUN_RETURN_IF_ERROR(ctx.db->CopyIn("COPY " + rt.stage + " (" + cols + ") FROM STDIN",
                                         [&](std::string* chunk, bool* done) {
                                           if (!sent) chunk->append(p.copy_text);
                                           sent = true;
                                           *done = true;
                                           return Status::OK();
                                         }));
  const std::string conflict = ConflictClause(spec);
  if (spec.on_conflict == OnConflict::kUpdate) {
    PLANRUN_RETURN_IF_ERROR(ctx.db->Exec(
        "INSERT INTO " + rt.prev + " SELECT t.* FROM " + spec.to_table.Quoted() + " AS t WHERE (" +
        Qualified(spec.conflict_key, "t") + ") IN (SELECT " + QuoteIdentList(spec.conflict_key) +
        " FROM " + rt.stage + ") ON CONFLICT DO NOTHING"));
  }
  const std::string pk = QuoteIdentList(rt.pk);
  pg::Result r;
  PLANRUN_RETURN_IF_ERROR(ctx.db->Exec(
      "WITH ins AS (INSERT INTO " + spec.to_table.Quoted() + " (" + cols + ") SELECT " + cols +
          " FROM " + rt.stage + conflict + " RETURNING " + pk +
          ", (xmax = 0) AS planrun_inserted), kept AS (INSERT INTO " + rt.keys + " SELECT " + pk +
          " FROM ins WHERE planrun_inserted) SELECT count(*) FROM ins",
      &r));
  *written = std::stoll(r.get(0, 0, "0"));
  return Status::OK();
}

// No hook, one database: the whole batch runs in the server as one
// statement (the source rows never leave it). Returns the rows read and
// written and the last key.
Status ServerBatch(const CopySpec& spec, StepContext& ctx, CopyRuntime& rt,
                   const std::string& after, int64_t* read, int64_t* written,
                   std::vector<std::string>* last) {
  const std::string cols = QuoteIdentList(spec.to_columns);
  const std::string pk = QuoteIdentList(rt.pk);
  std::vector<std::string> keys;
  for (size_t i = 0; i < spec.key.size(); ++i) {
    keys.push_back(QuoteIdent("planrun_key_" + std::to_string(i + 1)));
  }
  // Qualified, so ORDER BY sorts the key values, not their ::text output.
  std::vector<std::string> desc;
  for (const auto& k : keys) desc.push_back("src." + k + " DESC");
  std::string sql = "WITH src AS (" + CopySourceSql(spec, after, spec.settings.batch_size) + ")";
  if (spec.on_conflict == OnConflict::kUpdate) {
    // Same snapshot as the insert below: these are the rows as they were.
    sql += ", saved AS (INSERT INTO " + rt.prev + " SELECT t.* FROM " + spec.to_table.Quoted() +
           " AS t WHERE (" + Qualified(spec.conflict_key, "t") + ") IN (SELECT " +
           QuoteIdentList(spec.conflict_key) + " FROM src) ON CONFLICT DO NOTHING)";
  }
  sql += ", ins AS (INSERT INTO " + spec.to_table.Quoted() + " (" + cols + ") SELECT " + cols +
         " FROM src" + ConflictClause(spec) + " RETURNING " + pk +
         ", (xmax = 0) AS planrun_inserted), kept AS (INSERT INTO " + rt.keys + " SELECT " + pk +
         " FROM ins WHERE planrun_inserted) SELECT (SELECT count(*) FROM src), (SELECT count(*) "
         "FROM ins)";
  for (const auto& k : keys) {
    sql += ", (SELECT " + k + "::text FROM src ORDER BY " + Join(desc, ", ") + " LIMIT 1)";
  }
  pg::Result r;
  PLANRUN_RETURN_IF_ERROR(ctx.db->Exec(sql, &r));
  *read = std::stoll(r.get(0, 0, "0"));
  *written = std::stoll(r.get(0, 1, "0"));
  last->clear();
  for (size_t i = 0; i < keys.size(); ++i) last->push_back(r.get(0, 2 + i));
  return Status::OK();
}

Status Sample(const CopySpec& spec, StepContext& ctx, CopyRuntime& rt) {
  std::vector<std::vector<RawField>> rows;
  PLANRUN_RETURN_IF_ERROR(
      ReadRows(*rt.source, CopySourceSql(spec, "true", ctx.data->sample_rows), &rows));
  Processed p;
  PLANRUN_RETURN_IF_ERROR(Process(spec, rt, 1, rows, &p));
  ctx.out->Info("copy " + ctx.env.decl->id + " (dry run, sample of " + std::to_string(rows.size()) +
                " rows): " + std::to_string(p.rows) + " would be written, " +
                std::to_string(p.skipped) + " skipped, " + std::to_string(p.rejects.size()) +
                " rejected");
  for (size_t i = 0; i < p.rejects.size() && i < 3; ++i) {
    ctx.out->Info("  rejected key " + p.rejects[i].row_key + ": " + p.rejects[i].reason);
  }
  for (const std::string& s : p.samples) ctx.out->Info("  row " + s);
  ctx.counters["read"] = static_cast<int64_t>(rows.size());
  ctx.counters["rows"] = p.rows;
  ctx.counters["skipped"] = p.skipped;
  ctx.counters["rejected"] = static_cast<int64_t>(p.rejects.size());
  return Status::OK();
}

Status RetryRejects(const CopySpec& spec, DataRun& run, CopyRuntime& rt) {
  std::vector<Reject> old;
  PLANRUN_RETURN_IF_ERROR(run.store().LoadRejects(&old));
  for (size_t start = 0; start < old.size(); start += spec.settings.batch_size) {
    const size_t end = std::min(old.size(), start + static_cast<size_t>(spec.settings.batch_size));
    std::vector<std::string> tuples;
    std::vector<int64_t> ids;
    for (size_t i = start; i < end; ++i) {
      ids.push_back(old[i].id);
      tuples.push_back(KeyTuple(rt.key_cols, rt.key_pos, old[i].row_key));
    }
    std::vector<std::string> names;
    for (const std::string& k : spec.key) names.push_back(QuoteIdent(k));
    std::vector<std::vector<RawField>> rows;
    PLANRUN_RETURN_IF_ERROR(ReadRows(
        *rt.source,
        CopySourceSql(spec, "(" + Join(names, ", ") + ") IN (" + Join(tuples, ", ") + ")", 0),
        &rows));
    Processed p;
    PLANRUN_RETURN_IF_ERROR(Process(spec, rt, run.checkpoint().batches + 1, rows, &p));
    PLANRUN_RETURN_IF_ERROR(run.InTransaction([&]() -> Status {
      int64_t written = 0;
      PLANRUN_RETURN_IF_ERROR(Write(spec, run.ctx(), rt, p, &written));
      PLANRUN_RETURN_IF_ERROR(run.store().ResolveRejects(ids));
      run.checkpoint().rows_rejected -= static_cast<int64_t>(ids.size());
      return run.CommitBatch(std::nullopt, 0, written, p.skipped, p.rejects);
    }));
    run.ctx().out->Info("copy " + run.ctx().env.decl->id + ": retried " +
                        std::to_string(ids.size()) + " rejected rows, " +
                        std::to_string(p.rejects.size()) + " still rejected");
  }
  return Status::OK();
}

}  // namespace

Status RunCopy(const CopySpec& spec, StepContext& ctx) {
  CopyRuntime rt;
  rt.source = ctx.db;
  if (!spec.connection.empty()) {
    PLANRUN_RETURN_IF_ERROR(ctx.data->open(spec.connection, &rt.own_source));
    rt.source = rt.own_source.get();
  }
  PLANRUN_RETURN_IF_ERROR(ResolveColumns(spec, ctx, &rt));
  rt.stage = QuoteIdent(
      ShortIdentifier("planrun_stage_v" + ctx.env.plan->version.text + "_" + ctx.env.decl->id));
  rt.keys = CopyKeysTable(spec, ctx.env);
  rt.prev = CopyPrevTable(spec, ctx.env);
  if (spec.hook.present) {
    lua::HookContext hc{ctx.env.decl->id, ctx.env.plan->version.text, ctx.env.plan->name,
                        ctx.env.plan->params, ctx.out};
    const int workers = spec.settings.workers > 0 ? spec.settings.workers
                                                  : (ctx.data ? ctx.data->default_workers : 1);
    PLANRUN_RETURN_IF_ERROR(HookPool::Start(spec.hook, hc, workers, &rt.pool));
  }
  if (ctx.dry_run && ctx.data && ctx.data->sample_rows > 0) return Sample(spec, ctx, rt);

  DataRun run(ctx, spec.settings, "copy",
              Sha256Hex(ctx.env.decl->checksum + "\n" + spec.hook.source.code + spec.hook.modules));
  bool restart = false;
  PLANRUN_RETURN_IF_ERROR(run.Begin(&restart));
  if (restart) {
    int64_t removed = 0;
    PLANRUN_RETURN_IF_ERROR(run.InTransaction([&]() -> Status {
      PLANRUN_RETURN_IF_ERROR(UndoRows(spec, ctx, rt.keys, rt.prev, &removed));
      PLANRUN_RETURN_IF_ERROR(ctx.db->Exec("DROP TABLE IF EXISTS " + rt.keys + ", " + rt.prev));
      return run.ResetForRestart();
    }));
    ctx.out->Info("copy " + ctx.env.decl->id + ": restarting; removed the " +
                  std::to_string(removed) + " rows it had inserted");
  }
  PLANRUN_RETURN_IF_ERROR(run.InTransaction([&] { return Setup(spec, ctx, &rt); }));
  if (ctx.data && ctx.data->retry_rejects) PLANRUN_RETURN_IF_ERROR(RetryRejects(spec, run, rt));
  std::optional<int64_t> total;
  if (spec.from_query.empty()) total = EstimateRows(*rt.source, spec.from_table);
  if (total) PLANRUN_RETURN_IF_ERROR(run.store().SaveProgress(run.checkpoint().rows_read, total));
  if (!spec.hook.present && spec.connection.empty()) {
    while (!run.checkpoint().done) {
      int64_t read = 0, written = 0;
      std::vector<std::string> last;
      PLANRUN_RETURN_IF_ERROR(run.InTransaction([&]() -> Status {
        PLANRUN_RETURN_IF_ERROR(
            ServerBatch(spec, ctx, rt, KeyAfter(rt.key_cols, rt.key_pos, run.checkpoint().last_key),
                        &read, &written, &last));
        if (read == 0) return Status::OK();
        return run.CommitBatch(last, read, written, read - written, {});
      }));
      run.Progress(total);
      if (read < spec.settings.batch_size) break;
    }
    return run.Finish();
  }
  // Read the next batch (on its own session) while this one is transformed
  // and written; the next batch starts after this batch's last key.
  std::unique_ptr<pg::Session> reader_session;
  pg::Session* reader = rt.source;
  if (rt.source == ctx.db && !ctx.dry_run && ctx.data) {
    PLANRUN_RETURN_IF_ERROR(ctx.data->open("", &reader_session));
    reader = reader_session.get();
  }
  auto read_after = [&](const std::optional<std::vector<std::string>>& key,
                        std::vector<std::vector<RawField>>* rows) {
    return ReadRows(
        *reader,
        CopySourceSql(spec, KeyAfter(rt.key_cols, rt.key_pos, key), spec.settings.batch_size),
        rows);
  };
  std::vector<std::vector<RawField>> rows, next_rows;
  PLANRUN_RETURN_IF_ERROR(read_after(run.checkpoint().last_key, &rows));
  while (!rows.empty()) {
    std::vector<std::string> last;
    PLANRUN_RETURN_IF_ERROR(KeyOf(rows.back(), rt.key_idx, &last));
    const bool full = static_cast<int64_t>(rows.size()) >= spec.settings.batch_size;
    std::future<Status> next;
    if (full && reader != ctx.db) {
      next_rows.clear();
      next = std::async(std::launch::async, [&, last] { return read_after(last, &next_rows); });
    }
    Processed p;
    PLANRUN_RETURN_IF_ERROR(Process(spec, rt, run.checkpoint().batches + 1, rows, &p));
    PLANRUN_RETURN_IF_ERROR(run.InTransaction([&]() -> Status {
      int64_t written = 0;
      PLANRUN_RETURN_IF_ERROR(Write(spec, ctx, rt, p, &written));
      return run.CommitBatch(last, static_cast<int64_t>(rows.size()), written,
                             p.skipped + (p.rows - written), p.rejects);
    }));
    PLANRUN_RETURN_IF_ERROR(run.CheckRejectLimit(false));
    run.Progress(total);
    if (!full) break;
    if (next.valid()) {
      PLANRUN_RETURN_IF_ERROR(next.get());
      rows.swap(next_rows);
    } else {
      rows.clear();
      PLANRUN_RETURN_IF_ERROR(read_after(last, &rows));
    }
  }
  if (rt.pool) {
    PLANRUN_RETURN_IF_ERROR(rt.pool->Finish());
    WarnIgnoredKeys(*rt.pool, ctx, "copy", "to.columns");
  }
  return run.Finish();
}

Status RevertCopy(const CopySpec& spec, StepContext& ctx) {
  const std::string keys = CopyKeysTable(spec, ctx.env);
  const std::string prev = CopyPrevTable(spec, ctx.env);
  int64_t removed = 0;
  PLANRUN_RETURN_IF_ERROR(UndoRows(spec, ctx, keys, prev, &removed));
  PLANRUN_RETURN_IF_ERROR(ctx.db->Exec("DROP TABLE IF EXISTS " + keys + ", " + prev));
  CheckpointStore store(ctx.db, ctx.env.names.tracking, ctx.env.plan->version.text,
                        ctx.data ? ctx.data->attempt : 1, ctx.env.decl->id);
  PLANRUN_RETURN_IF_ERROR(store.Reset());
  ctx.counters["rows"] = removed;
  ctx.out->Info("copy " + ctx.env.decl->id + ": removed the " + std::to_string(removed) +
                " rows it inserted from " + spec.to_table.Display());
  return Status::OK();
}

}  // namespace planrun
