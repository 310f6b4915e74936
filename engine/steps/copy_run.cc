// Running a `copy` step (see copy_step.h). Batches are read by key
// (keyset pagination) on a reader session, go through the hook (HookPool, one
// Lua state per worker), and are written on the target session, each batch
// in one transaction with its checkpoint:
//
//   BEGIN
//   <the batch's rows into the target and their keys into <keys>>   -- copy_write.h
//   <rejects>; <checkpoint>; <progress>
//   COMMIT
//
// The three stages overlap: batch k+1 is read while batch k goes through the
// hook and batch k-1 is written. Without a hook and within one database each
// batch is one statement in the server instead (copy_server.h).
#include <future>
#include <nlohmann/json.hpp>

#include "plan/plan.h"
#include "report/reporter.h"
#include "steps/backup_names.h"
#include "steps/copy_server.h"
#include "steps/copy_spec.h"
#include "steps/copy_write.h"
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
  CopyTarget target;
  std::unique_ptr<HookPool> pool;
};

Status ResolveColumns(const CopySpec& spec, StepContext& ctx, CopyRuntime* rt) {
  if (!spec.from_table.name.empty()) {
    PLANRUN_RETURN_IF_ERROR(CheckKeyUnique(*rt->source, spec.from_table, spec.key, "copy source"));
  }
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
  PLANRUN_RETURN_IF_ERROR(LoadPrimaryKey(*ctx.db, spec.to_table, &rt->target.pk));
  if (rt->target.pk.empty()) {
    return Status::Failed("copy target " + spec.to_table.Display() +
                          " has no primary key; copy needs one so rollback can remove exactly "
                          "the rows it inserted");
  }
  return Status::OK();
}

Status Setup(const CopySpec& spec, StepContext& ctx, CopyRuntime* rt) {
  CopyTarget& t = rt->target;
  const std::string pk = QuoteIdentList(t.pk);
  std::string sql = "CREATE SCHEMA IF NOT EXISTS " + QuoteIdent(ctx.env.names.backup) +
                    "; CREATE TABLE IF NOT EXISTS " + t.keys + " AS SELECT " + pk + " FROM " +
                    spec.to_table.Quoted() + " WITH NO DATA;";
  if (t.key_ranges) {
    sql += "CREATE TABLE IF NOT EXISTS " + t.ranges + " (lo bigint NOT NULL, hi bigint NOT NULL);";
  }
  if (t.mode == CopyWriteMode::kStage) {
    sql += "CREATE TEMP TABLE IF NOT EXISTS " + t.stage + " AS SELECT " +
           QuoteIdentList(spec.to_columns) + " FROM " + spec.to_table.Quoted() + " WITH NO DATA;";
  }
  PLANRUN_RETURN_IF_ERROR(ctx.db->Exec(sql));
  if (spec.on_conflict == OnConflict::kUpdate) {
    pg::Result r;
    PLANRUN_RETURN_IF_ERROR(ctx.db->Query("SELECT to_regclass($1) IS NULL", {t.prev}, &r));
    if (r.get(0, 0) == "t") {
      PLANRUN_RETURN_IF_ERROR(ctx.db->Exec("CREATE TABLE " + t.prev + " (LIKE " +
                                           spec.to_table.Quoted() + "); ALTER TABLE " + t.prev +
                                           " ADD PRIMARY KEY (" + pk + ")"));
    }
  }
  return Status::OK();
}

// Undoes the rows a copy wrote (previous versions back, inserted rows gone),
// from its backup tables (CopyPrevTable, CopyKeysTable, CopyRangesTable).
Status UndoRows(const CopySpec& spec, StepContext& ctx, int64_t* removed) {
  const std::string keys = CopyKeysTable(spec, ctx.env);
  const std::string ranges = CopyRangesTable(spec, ctx.env);
  const std::string prev = CopyPrevTable(spec, ctx.env);
  pg::Result r;
  PLANRUN_RETURN_IF_ERROR(ctx.db->Query(
      "SELECT to_regclass($1) IS NOT NULL, to_regclass($2) IS NOT NULL, to_regclass($3) IS NOT "
      "NULL",
      {keys, prev, ranges}, &r));
  std::vector<std::string> pk;
  PLANRUN_RETURN_IF_ERROR(LoadPrimaryKey(*ctx.db, spec.to_table, &pk));
  std::vector<std::string> match;
  for (const auto& c : pk) match.push_back("t." + QuoteIdent(c) + " = k." + QuoteIdent(c));
  if (r.get(0, 1) == "t") {
    PLANRUN_RETURN_IF_ERROR(ctx.db->Exec("UPDATE " + spec.to_table.Quoted() + " AS t SET (" +
                                         QuoteIdentList(spec.to_columns) + ") = ROW(" +
                                         QualifiedIdentList("k", spec.to_columns) + ") FROM " +
                                         prev + " AS k WHERE " + Join(match, " AND ")));
  }
  *removed = 0;
  if (r.get(0, 0) == "t") {
    pg::Result d;
    PLANRUN_RETURN_IF_ERROR(ctx.db->Exec("DELETE FROM " + spec.to_table.Quoted() + " AS t USING " +
                                             keys + " AS k WHERE " + Join(match, " AND "),
                                         &d));
    *removed += d.affected;
  }
  if (r.get(0, 2) == "t" && pk.size() == 1) {
    pg::Result d;
    PLANRUN_RETURN_IF_ERROR(ctx.db->Exec("DELETE FROM " + spec.to_table.Quoted() + " AS t USING " +
                                             ranges + " AS k WHERE t." + QuoteIdent(pk[0]) +
                                             " BETWEEN k.lo AND k.hi",
                                         &d));
    *removed += d.affected;
  }
  return Status::OK();
}

/// Drops a copy's backup tables.
Status DropBackups(const CopySpec& spec, StepContext& ctx) {
  return ctx.db->Exec("DROP TABLE IF EXISTS " + CopyKeysTable(spec, ctx.env) + ", " +
                      CopyRangesTable(spec, ctx.env) + ", " + CopyPrevTable(spec, ctx.env));
}

// Appends one output row, the source key of its row (`src`, fields
// `key_idx`), and its primary key when the writes need it.
void AppendOut(const CopyTarget& t, const std::vector<RawField>& out,
               const std::vector<RawField>& src, const std::vector<size_t>& key_idx, Processed* p) {
  AppendCopyRow(&p->copy_text, out);
  ++p->rows;
  for (size_t j = 0; j < key_idx.size(); ++j) {
    if (j > 0) p->src_keys.push_back('\t');
    const RawField& f = src[key_idx[j]];
    if (f) {
      AppendCopyField(&p->src_keys, *f);
    } else {
      p->src_keys.append("\\N");
    }
  }
  p->src_keys.push_back('\n');
  if (t.mode != CopyWriteMode::kKnownKeys) return;
  for (size_t j = 0; j < t.pk_out.size(); ++j) {
    if (j > 0) p->keys_text.push_back('\t');
    const RawField& f = out[t.pk_out[j]];
    if (f) {
      AppendCopyField(&p->keys_text, *f);
    } else {
      p->keys_text.append("\\N");
    }
  }
  p->keys_text.push_back('\n');
}

Status Process(const CopySpec& spec, CopyRuntime& rt, int64_t batch,
               const std::vector<std::vector<RawField>>& rows, Processed* p) {
  const size_t ncols = spec.to_columns.size();
  if (!spec.hook.present) {
    std::vector<RawField> out(ncols);
    for (const auto& row : rows) {
      std::copy(row.begin(), row.begin() + ncols, out.begin());
      AppendOut(rt.target, out, row, rt.key_idx, p);
    }
    return Status::OK();
  }
  // Each slice decodes, transforms and encodes its rows on its own thread
  // into its own part; the parts are joined in row order.
  std::vector<Processed> parts(rt.pool->Slices(rows.size()));
  PLANRUN_RETURN_IF_ERROR(rt.pool->ForEachSlice(
      batch, rows.size(),
      [&](lua::Hook& hook, size_t slice, size_t begin, size_t end,
          std::vector<std::string>* extra) -> Status {
        Processed& part = parts[slice];
        std::vector<Value> in(rt.src_cols.size()), result;
        std::vector<RawField> out(ncols);
        std::vector<std::string> keys;
        lua::RowOutcome outcome;
        std::string reason;
        for (size_t i = begin; i < end; ++i) {
          for (size_t c = 0; c < in.size(); ++c) {
            PLANRUN_RETURN_IF_ERROR(DecodeField(rt.src_cols[c], rows[i][c], &in[c]));
          }
          keys.clear();
          PLANRUN_RETURN_IF_ERROR(
              hook.Transform(rt.in_names, in, spec.to_columns, &result, &outcome, &reason, &keys));
          AddExtraKeys(keys, extra);
          if (outcome == lua::RowOutcome::kSkip) {
            ++part.skipped;
            continue;
          }
          Status encoded;
          if (outcome == lua::RowOutcome::kRow) {
            for (size_t c = 0; c < ncols && encoded.ok(); ++c) {
              encoded = EncodeField(rt.out_cols[c], result[c], &out[c]);
            }
          }
          if (outcome == lua::RowOutcome::kReject || !encoded.ok()) {
            std::vector<std::string> key;
            PLANRUN_RETURN_IF_ERROR(KeyOf(rows[i], rt.key_idx, &key));
            part.rejects.push_back({0, "", KeyJson(key), RowJson(rt.src_cols, in),
                                    encoded.ok() ? reason : encoded.message(), ""});
            continue;
          }
          AppendOut(rt.target, out, rows[i], rt.key_idx, &part);
          if (part.samples.size() < 3) part.samples.push_back(RowJson(rt.out_cols, result));
        }
        return Status::OK();
      }));
  for (Processed& part : parts) {
    p->copy_text.append(part.copy_text);
    p->keys_text.append(part.keys_text);
    p->src_keys.append(part.src_keys);
    p->rows += part.rows;
    p->skipped += part.skipped;
    for (Reject& r : part.rejects) p->rejects.push_back(std::move(r));
    for (std::string& s : part.samples) {
      if (p->samples.size() < 3) p->samples.push_back(std::move(s));
    }
  }
  return Status::OK();
}

/// A batch as read from the source.
struct SourceBatch {
  std::vector<std::vector<RawField>> rows;  // with a hook: the source rows
  Processed forwarded;                      // without: the target rows (ForwardRows)
  std::string last_line;                    // without: the COPY line of the last row
  std::vector<RawField> last_fields;        // without: last_line parsed, for its key
  int64_t read = 0;                         // rows read
};

/// The key of the batch's last row as text. REQUIRES: b->read > 0.
Status LastKey(const CopyRuntime& rt, SourceBatch* b, std::vector<std::string>* key) {
  if (!b->rows.empty()) return KeyOf(b->rows.back(), rt.key_idx, key);
  if (!ParseCopyLine(b->last_line, &b->last_fields)) {
    return Status::Internal("malformed COPY line from the server");
  }
  return KeyOf(b->last_fields, rt.key_idx, key);
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
  std::vector<std::string> names;
  for (const std::string& k : spec.key) names.push_back(QuoteIdent(k));
  return run.ForEachRejectChunk([&](const std::vector<Reject>& chunk) -> Status {
    std::vector<std::string> tuples;
    std::vector<int64_t> ids;
    for (const Reject& r : chunk) {
      ids.push_back(r.id);
      tuples.push_back(KeyTuple(rt.key_cols, rt.key_pos, r.row_key));
    }
    const std::string source_sql =
        CopySourceSql(spec, "(" + Join(names, ", ") + ") IN (" + Join(tuples, ", ") + ")", 0);
    if (RunsInServer(spec)) {
      return RetryServerRejects(spec, run, rt.target, rt.key_cols.size(), source_sql, ids);
    }
    std::vector<std::vector<RawField>> rows;
    PLANRUN_RETURN_IF_ERROR(ReadRows(*rt.source, source_sql, &rows));
    Processed p;
    PLANRUN_RETURN_IF_ERROR(Process(spec, rt, run.checkpoint().batches + 1, rows, &p));
    PLANRUN_RETURN_IF_ERROR(run.InTransaction([&]() -> Status {
      int64_t written = 0;
      const size_t hooked = p.rejects.size();
      PLANRUN_RETURN_IF_ERROR(
          WriteBatchOrRefuse(spec, *run.ctx().db, rt.target, p, &written, &p.rejects));
      const int64_t refused = static_cast<int64_t>(p.rejects.size() - hooked);
      PLANRUN_RETURN_IF_ERROR(run.store().ResolveRejects(ids));
      run.checkpoint().rows_rejected -= static_cast<int64_t>(ids.size());
      return run.CommitBatch(std::nullopt, 0, written, p.skipped + (p.rows - refused - written),
                             p.rejects);
    }));
    run.ctx().out->Info("copy " + run.ctx().env.decl->id + ": retried " +
                        std::to_string(ids.size()) + " rejected rows, " +
                        std::to_string(p.rejects.size()) + " still rejected");
    return Status::OK();
  });
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
  CopyTarget& target = rt.target;
  target.stage = QuoteIdent(
      ShortIdentifier("planrun_stage_v" + ctx.env.plan->version.text + "_" + ctx.env.decl->id));
  target.keys = CopyKeysTable(spec, ctx.env);
  target.ranges = CopyRangesTable(spec, ctx.env);
  target.prev = CopyPrevTable(spec, ctx.env);
  PLANRUN_RETURN_IF_ERROR(ResolveCopyTarget(spec, *ctx.db, &target));
  target.key_ranges = UsesKeyRanges(spec, target, rt.key_cols);
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
  PLANRUN_RETURN_IF_ERROR(run.BeginOrRestart(
      [&](int64_t* removed) -> Status {
        PLANRUN_RETURN_IF_ERROR(UndoRows(spec, ctx, removed));
        return DropBackups(spec, ctx);
      },
      [](int64_t n) { return "removed the " + std::to_string(n) + " rows it had inserted"; }));
  PLANRUN_RETURN_IF_ERROR(run.InTransaction([&] { return Setup(spec, ctx, &rt); }));
  if (ctx.data && ctx.data->retry_rejects) PLANRUN_RETURN_IF_ERROR(RetryRejects(spec, run, rt));
  std::optional<int64_t> total;
  if (spec.from_query.empty()) total = EstimateRows(*rt.source, spec.from_table);
  if (total) PLANRUN_RETURN_IF_ERROR(run.store().SaveProgress(run.checkpoint().rows_read, total));
  if (RunsInServer(spec)) return RunServerCopy(spec, run, target, rt.key_cols, total);
  // Three stages overlap: the next batch is read (on its own session) while
  // this one goes through the hook and the previous one is written and
  // committed with its checkpoint (on the target session, in one
  // transaction). At most one batch waits in each stage, so memory is flat.
  std::unique_ptr<pg::Session> reader_session;
  pg::Session* reader = rt.source;
  if (rt.source == ctx.db && !ctx.dry_run && ctx.data) {
    PLANRUN_RETURN_IF_ERROR(ctx.data->open("", &reader_session));
    reader = reader_session.get();
  }
  const bool overlap = reader != ctx.db;
  // A reader on the target's database reserves each batch's keys once the
  // hook made its rows, while the previous batch is written: nextval off
  // the writer's critical path, and no key reserved for a skipped row.
  const bool reserve_ahead =
      overlap && rt.source == ctx.db && target.mode == CopyWriteMode::kSequence;
  // With a hook the batch is parsed into rows; without one its COPY text
  // goes to the target as it is.
  auto read_after = [&](const std::optional<std::vector<std::string>>& key, SourceBatch* b) {
    const std::string sql =
        CopySourceSql(spec, KeyAfter(rt.key_cols, rt.key_pos, key), spec.settings.batch_size);
    Status st = spec.hook.present ? ReadRows(*reader, sql, &b->rows)
                                  : ForwardRows(*reader, sql, target, spec.to_columns.size(),
                                                &b->forwarded, &b->last_line);
    b->read = spec.hook.present ? static_cast<int64_t>(b->rows.size()) : b->forwarded.rows;
    return st;
  };
  int64_t batch = run.checkpoint().batches;
  Processed writing;
  std::future<Status> write_done;
  auto write = [&](std::vector<std::string> last, int64_t read) {
    return run.InTransaction([&]() -> Status {
      int64_t written = 0;
      const size_t hooked = writing.rejects.size();
      PLANRUN_RETURN_IF_ERROR(
          WriteBatchOrRefuse(spec, *ctx.db, target, writing, &written, &writing.rejects));
      const int64_t refused = static_cast<int64_t>(writing.rejects.size() - hooked);
      return run.CommitBatch(last, read, written,
                             writing.skipped + (writing.rows - refused - written), writing.rejects);
    });
  };
  auto after_write = [&](Status st) -> Status {
    PLANRUN_RETURN_IF_ERROR(st);
    PLANRUN_RETURN_IF_ERROR(run.CheckRejectLimit(false));
    run.Progress(total);
    return Status::OK();
  };
  auto wait_write = [&]() -> Status {
    return write_done.valid() ? after_write(write_done.get()) : Status::OK();
  };
  SourceBatch rows, next_rows;
  PLANRUN_RETURN_IF_ERROR(read_after(run.checkpoint().last_key, &rows));
  while (rows.read > 0) {
    std::vector<std::string> last;
    PLANRUN_RETURN_IF_ERROR(LastKey(rt, &rows, &last));
    const int64_t read = rows.read;
    const bool full = read >= spec.settings.batch_size;
    std::future<Status> next;
    if (full && overlap) {
      next = std::async(std::launch::async, [&, last] { return read_after(last, &next_rows); });
    }
    Processed p;
    Status processed;
    if (spec.hook.present) {
      processed = Process(spec, rt, ++batch, rows.rows, &p);
    } else {
      std::swap(p, rows.forwarded);
    }
    // Batch k's rows are done with: the reader may finish the next batch,
    // then reserve the keys of this one while the previous one is written.
    Status next_read;
    if (next.valid()) next_read = next.get();
    if (processed.ok() && next_read.ok() && reserve_ahead && p.rows > 0) {
      processed = ReserveKeys(*reader, target, p.rows, &p.reserved);
    }
    PLANRUN_RETURN_IF_ERROR(wait_write());
    PLANRUN_RETURN_IF_ERROR(processed);
    writing = std::move(p);
    if (overlap) {
      write_done = std::async(std::launch::async, write, last, read);
    } else {
      PLANRUN_RETURN_IF_ERROR(after_write(write(last, read)));
    }
    if (!full) break;
    if (overlap) {
      PLANRUN_RETURN_IF_ERROR(next_read);
      std::swap(rows, next_rows);
    } else {
      PLANRUN_RETURN_IF_ERROR(read_after(last, &rows));
    }
  }
  PLANRUN_RETURN_IF_ERROR(wait_write());
  if (rt.pool) {
    PLANRUN_RETURN_IF_ERROR(rt.pool->Finish());
    WarnIgnoredKeys(*rt.pool, ctx, "copy", "to.columns");
  }
  return run.Finish();
}

Status RevertCopy(const CopySpec& spec, StepContext& ctx) {
  int64_t removed = 0;
  PLANRUN_RETURN_IF_ERROR(UndoRows(spec, ctx, &removed));
  PLANRUN_RETURN_IF_ERROR(DropBackups(spec, ctx));
  CheckpointStore store(ctx.db, ctx.env.names.tracking, ctx.env.plan->version.text,
                        ctx.data ? ctx.data->attempt : 1, ctx.env.decl->id);
  PLANRUN_RETURN_IF_ERROR(store.Reset());
  ctx.counters["rows"] = removed;
  ctx.out->Info("copy " + ctx.env.decl->id + ": removed the " + std::to_string(removed) +
                " rows it inserted from " + spec.to_table.Display());
  return Status::OK();
}

}  // namespace planrun
