// Running a `transform` step. Without a hook each batch is three statements
// in the server (SqlBatch). With a hook, batches overlap like copy's: batch
// k+1 is read on a second session (no row locks) while batch k goes through
// the hook and is loaded, by that second session, into one of two unlogged
// stage tables, and batch k-1 is written on the step's session, in one
// transaction with its checkpoint:
//
//   COPY <stage k % 2> FROM STDIN   -- second session: key, new values, the values read
//
//   BEGIN                           -- the step's session
//   INSERT INTO <prev> SELECT <key>, <values read of the set columns> FROM <stage>
//   UPDATE <table> SET <set> = <new> FROM <stage>
//     WHERE <key matches> AND <every column read is unchanged since the read>
//   <rejects>; <checkpoint>; <progress>
//   COMMIT
//
// The UPDATE compares under the row lock, so the saved previous values are
// the values it replaced. When a row changed between the read and the write
// (or was deleted, or a trigger kept it), fewer rows are updated than
// staged, and when PostgreSQL refuses a value: the batch's writes are undone
// and the batch runs again under SELECT ... FOR UPDATE through a temporary
// stage (the locked path, which also serves the dry run and
// --retry-rejects). The stage tables are dropped when the step ends or is
// rolled back.
#include <algorithm>
#include <future>

#include "plan/plan.h"
#include "report/reporter.h"
#include "steps/backup_names.h"
#include "steps/data_run.h"
#include "steps/hook_pool.h"
#include "steps/table_info.h"
#include "steps/transform_spec.h"
#include "steps/transform_sql.h"
#include "steps/transform_write.h"
#include "util/sha256.h"
#include "util/sql.h"
#include "util/strings.h"

namespace planrun {

namespace {

std::string Match(const std::vector<std::string>& key, const std::string& a, const std::string& b) {
  std::vector<std::string> parts;
  for (const auto& k : key)
    parts.push_back(a + "." + QuoteIdent(k) + " = " + b + "." + QuoteIdent(k));
  return Join(parts, " AND ");
}

/// Runs one transform step.
class TransformRunner {
 public:
  TransformRunner(const TransformSpec& spec, StepContext& ctx)
      : spec_(spec),
        ctx_(ctx),
        run_(ctx, spec.settings, "transform",
             Sha256Hex(ctx.env.decl->checksum + "\n" + spec.hook.source.code + spec.hook.modules)),
        prev_(TransformPrevTable(spec, ctx.env)),
        shared_(TransformStageTables(spec, ctx.env)) {}

  Status Run() {
    stage_ = QuoteIdent(
        ShortIdentifier("planrun_stage_v" + ctx_.env.plan->version.text + "_" + ctx_.env.decl->id));
    PLANRUN_RETURN_IF_ERROR(CheckKeyUnique(*ctx_.db, spec_.table, spec_.key, "transform"));
    PLANRUN_RETURN_IF_ERROR(DescribeSelect(*ctx_.db, TransformBatchSql(spec_, "true", 0), &cols_));
    for (size_t i = 0; i < spec_.key.size(); ++i) key_idx_.push_back(i);
    for (const auto& c : cols_) in_names_.push_back(c.name);
    sql_writer_ = std::make_unique<TransformSqlWriter>(*ctx_.db, spec_, prev_, ctx_.env.decl->id);
    writer_ =
        std::make_unique<TransformWriter>(*ctx_.db, spec_, stage_, prev_, shared_, cols_, key_idx_);
    std::vector<ColumnSpec> set_cols;
    PLANRUN_RETURN_IF_ERROR(DescribeSelect(
        *ctx_.db, "SELECT " + QuoteIdentList(spec_.set) + " FROM " + spec_.table.Quoted(),
        &set_cols));
    set_cols_ = set_cols;
    if (spec_.hook.present) {
      lua::HookContext hc{ctx_.env.decl->id, ctx_.env.plan->version.text, ctx_.env.plan->name,
                          ctx_.env.plan->params, ctx_.out};
      PLANRUN_RETURN_IF_ERROR(HookPool::Start(spec_.hook, hc, run_.workers(), &pool_));
    }
    if (ctx_.dry_run && ctx_.data && ctx_.data->sample_rows > 0) return Sample();
    PLANRUN_RETURN_IF_ERROR(run_.BeginOrRestart([&](int64_t* n) { return Restore(n); },
                                                [](int64_t n) {
                                                  return "restored " + std::to_string(n) +
                                                         " rows to their previous values";
                                                }));
    PLANRUN_RETURN_IF_ERROR(run_.InTransaction([&] { return Setup(); }));
    if (ctx_.data && ctx_.data->retry_rejects) {
      PLANRUN_RETURN_IF_ERROR(spec_.hook.present ? RetryRejects() : RetrySqlRejects());
    }
    const std::optional<int64_t> total = EstimateRows(*ctx_.db, spec_.table);
    if (total)
      PLANRUN_RETURN_IF_ERROR(run_.store().SaveProgress(run_.checkpoint().rows_read, total));
    // With a hook, batches overlap when a second session can read ahead
    // (not in the dry run, which runs in one transaction).
    std::unique_ptr<pg::Session> reader;
    if (spec_.hook.present && !ctx_.dry_run && ctx_.data && !run_.checkpoint().done) {
      PLANRUN_RETURN_IF_ERROR(ctx_.data->open("", &reader));
    }
    if (reader) {
      PLANRUN_RETURN_IF_ERROR(PipelinedBatches(*reader, total));
    } else {
      while (!run_.checkpoint().done) {
        int64_t read = 0;
        Status st = run_.InTransaction([&] { return Batch(&read); });
        if (!st.ok() && IsRowRefused(st) && !spec_.hook.present && !ctx_.dry_run &&
            !spec_.settings.max_rejects.None()) {
          st = run_.InTransaction([&] { return SqlBatchInParts(&read); });
        }
        PLANRUN_RETURN_IF_ERROR(st);
        PLANRUN_RETURN_IF_ERROR(run_.CheckRejectLimit(false));
        run_.Progress(total);
        if (read < spec_.settings.batch_size) break;
      }
    }
    if (pool_) {
      PLANRUN_RETURN_IF_ERROR(pool_->Finish());
      WarnIgnoredKeys(*pool_, ctx_, "transform", "set");
    }
    return run_.Finish();
  }

  /// Puts the saved previous values back and drops the saved copy (and
  /// the shared stages a killed run may have left).
  Status Restore(int64_t* restored) {
    PLANRUN_RETURN_IF_ERROR(ctx_.db->Exec("DROP TABLE IF EXISTS " + Join(shared_, ", ")));
    pg::Result r;
    PLANRUN_RETURN_IF_ERROR(ctx_.db->Query("SELECT to_regclass($1) IS NOT NULL", {prev_}, &r));
    if (r.get(0, 0) != "t") return Status::OK();
    pg::Result u;
    PLANRUN_RETURN_IF_ERROR(ctx_.db->Exec("UPDATE " + spec_.table.Quoted() + " AS t SET (" +
                                              QuoteIdentList(spec_.set) + ") = ROW(" +
                                              QualifiedIdentList("p", spec_.set) + ") FROM " +
                                              prev_ + " AS p WHERE " + Match(spec_.key, "t", "p"),
                                          &u));
    *restored = u.affected;
    return ctx_.db->Exec("DROP TABLE " + prev_);
  }

 private:
  Status Setup() {
    const std::string keys_and_set = QuoteIdentList(spec_.key) + ", " + QuoteIdentList(spec_.set);
    pg::Result r;
    PLANRUN_RETURN_IF_ERROR(ctx_.db->Query("SELECT to_regclass($1) IS NULL", {prev_}, &r));
    std::string sql = "CREATE SCHEMA IF NOT EXISTS " + QuoteIdent(ctx_.env.names.backup) + ";";
    if (r.get(0, 0) == "t") {
      // No key index: a key reaches prev once, in the batch that commits
      // the checkpoint past it (a restart drops prev first).
      sql += "CREATE TABLE " + prev_ + " AS SELECT " + keys_and_set + " FROM " +
             spec_.table.Quoted() + " WITH NO DATA;";
    }
    if (spec_.hook.present) sql += writer_->StageSql();
    return ctx_.db->Exec(sql);
  }

  // Dry run with --sample: the new values of the first N rows, nothing written.
  Status Sample() {
    const int64_t n = ctx_.data->sample_rows;
    int64_t rows_read = 0, changed = 0, skipped = 0, rejected = 0;
    std::vector<std::string> lines;
    if (spec_.hook.present) {
      std::vector<std::vector<RawField>> rows;
      PLANRUN_RETURN_IF_ERROR(ReadRows(*ctx_.db, TransformBatchSql(spec_, "true", n), &rows));
      rows_read = static_cast<int64_t>(rows.size());
      std::vector<std::vector<Value>> values(rows.size());
      for (size_t i = 0; i < rows.size(); ++i) {
        values[i].resize(cols_.size());
        for (size_t c = 0; c < cols_.size(); ++c) {
          PLANRUN_RETURN_IF_ERROR(DecodeField(cols_[c], rows[i][c], &values[i][c]));
        }
      }
      std::vector<RowResult> results;
      PLANRUN_RETURN_IF_ERROR(pool_->Run(1, in_names_, values, spec_.set, &results));
      for (size_t i = 0; i < results.size(); ++i) {
        std::vector<std::string> key;
        PLANRUN_RETURN_IF_ERROR(KeyOf(rows[i], key_idx_, &key));
        if (results[i].outcome == lua::RowOutcome::kSkip) {
          ++skipped;
        } else if (results[i].outcome == lua::RowOutcome::kReject) {
          if (++rejected <= 3)
            lines.push_back("rejected key " + KeyJson(key) + ": " + results[i].reason);
        } else if (++changed <= 3) {
          lines.push_back("key " + KeyJson(key) + " -> " + RowJson(set_cols_, results[i].out));
        }
      }
    } else {
      std::vector<std::string> exprs;
      for (const auto& [col, expr] : spec_.sql)
        exprs.push_back("(" + expr + ") AS " + QuoteIdent(col));
      pg::Result r;
      PLANRUN_RETURN_IF_ERROR(ctx_.db->Exec(
          "SELECT " + QualifiedIdentList("t", spec_.key) + ", " + Join(exprs, ", ") + " FROM " +
              spec_.table.Quoted() + " AS t WHERE " +
              (spec_.where.empty() ? "true" : "(" + spec_.where + ")") + " ORDER BY " +
              QualifiedIdentList("t", spec_.key) + " LIMIT " + std::to_string(n),
          &r));
      rows_read = changed = static_cast<int64_t>(r.rows.size());
      for (size_t i = 0; i < r.rows.size() && i < 3; ++i) {
        std::vector<std::string> parts;
        for (size_t c = 0; c < r.columns.size(); ++c) {
          parts.push_back(r.columns[c] + "=" + r.get(i, c, "NULL"));
        }
        lines.push_back(Join(parts, ", "));
      }
    }
    ctx_.out->Info("transform " + ctx_.env.decl->id + " (dry run, sample of " +
                   std::to_string(rows_read) + " rows): " + std::to_string(changed) +
                   " would change, " + std::to_string(skipped) + " skipped, " +
                   std::to_string(rejected) + " rejected");
    for (const std::string& line : lines) ctx_.out->Info("  " + line);
    return Status::OK();
  }

  // One batch without a hook (SqlBatch), or of the hook path under row
  // locks from the checkpoint (LockedBatch).
  Status Batch(int64_t* read) {
    const std::string after = KeyAfter(cols_, key_idx_, run_.checkpoint().last_key);
    if (!spec_.hook.present) return SqlBatch(after, read);
    HookedBatch b;
    b.number = run_.checkpoint().batches + 1;
    b.after = run_.checkpoint().last_key;
    return LockedBatch(nullptr, &b, read);
  }

  // The hook path with batches overlapping (see the top of this file):
  // batch k+1 is read on `reader` while batch k goes through the hook and
  // batch k-1 is written. At most one batch waits in each stage.
  Status PipelinedBatches(pg::Session& reader, const std::optional<int64_t>& total) {
    HookedBatch bufs[3];
    HookedBatch* cur = &bufs[0];
    HookedBatch* next = &bufs[1];
    HookedBatch* writing = &bufs[2];
    int64_t number = run_.checkpoint().batches;
    auto read_after = [&](const std::optional<std::vector<std::string>>& after, HookedBatch* b) {
      b->after = after;
      return ReadRows(reader,
                      TransformReadSql(spec_, KeyAfter(cols_, key_idx_, after),
                                       spec_.settings.batch_size, false),
                      &b->rows);
    };
    bool relock = false;
    std::future<Status> write_done;
    auto write = [&](HookedBatch* b) {
      return run_.InTransaction([&, b]() -> Status {
        int64_t written = 0;
        PLANRUN_RETURN_IF_ERROR(writer_->WriteUnlocked(*b, &written, &relock));
        if (relock) return Status::OK();  // nothing of the batch was kept
        return run_.CommitBatch(b->last, static_cast<int64_t>(b->rows.size()), written, b->skipped,
                                b->rejects);
      });
    };
    // Joins the write of `writing`; when a row had changed since it was
    // read, runs that batch again under row locks (the hook is free now).
    auto wait_write = [&]() -> Status {
      if (!write_done.valid()) return Status::OK();
      PLANRUN_RETURN_IF_ERROR(write_done.get());
      if (relock) {
        relock = false;
        int64_t read = 0;
        const std::vector<std::string> upto = writing->last;
        PLANRUN_RETURN_IF_ERROR(
            run_.InTransaction([&] { return LockedBatch(&upto, writing, &read); }));
      }
      PLANRUN_RETURN_IF_ERROR(run_.CheckRejectLimit(false));
      run_.Progress(total);
      return Status::OK();
    };
    PLANRUN_RETURN_IF_ERROR(ctx_.db->Exec(writer_->SharedStagesSql()));
    PLANRUN_RETURN_IF_ERROR(read_after(run_.checkpoint().last_key, cur));
    while (!cur->rows.empty()) {
      PLANRUN_RETURN_IF_ERROR(KeyOf(cur->rows.back(), key_idx_, &cur->last));
      const bool full = static_cast<int64_t>(cur->rows.size()) >= spec_.settings.batch_size;
      std::future<Status> next_read;
      if (full) {
        next_read = std::async(std::launch::async,
                               [&, last = cur->last] { return read_after(last, next); });
      }
      cur->number = ++number;
      Status processed = Process(cur);
      const Status read_next = next_read.valid() ? next_read.get() : Status::OK();
      // The reader is free: it loads this batch's stage while the batch
      // before is written. The stage was last used by batch k-2, whose
      // write has committed.
      cur->shared = static_cast<int>(number % 2);
      if (processed.ok() && read_next.ok()) processed = writer_->LoadShared(reader, cur);
      PLANRUN_RETURN_IF_ERROR(wait_write());
      PLANRUN_RETURN_IF_ERROR(processed);
      // Without the next batch this one's stage was not loaded either: it
      // is not written (the next run resumes at it).
      PLANRUN_RETURN_IF_ERROR(read_next);
      std::swap(writing, cur);
      write_done = std::async(std::launch::async, write, writing);
      if (!full) break;
      std::swap(cur, next);
    }
    PLANRUN_RETURN_IF_ERROR(wait_write());
    return ctx_.db->Exec(writer_->DropSharedStagesSql());
  }

  // The hook path under row locks, in the caller's transaction: reads the
  // rows after b->after (up to and including *upto when given, else one
  // batch) with FOR UPDATE on the step's session, runs them through the
  // hook, writes them and commits the checkpoint (to *upto when given).
  Status LockedBatch(const std::vector<std::string>* upto, HookedBatch* b, int64_t* read) {
    std::string cond = KeyAfter(cols_, key_idx_, b->after);
    if (upto) cond += " AND " + writer_->KeyCompare("", "<=", *upto);
    PLANRUN_RETURN_IF_ERROR(ReadRows(
        *ctx_.db, TransformReadSql(spec_, cond, upto ? -1 : spec_.settings.batch_size, true),
        &b->rows));
    *read = static_cast<int64_t>(b->rows.size());
    if (b->rows.empty()) {
      return upto ? run_.CommitBatch(*upto, 0, 0, 0, {}) : Status::OK();
    }
    PLANRUN_RETURN_IF_ERROR(KeyOf(b->rows.back(), key_idx_, &b->last));
    PLANRUN_RETURN_IF_ERROR(Process(b));
    int64_t written = 0;
    const size_t hooked = b->rejects.size();
    PLANRUN_RETURN_IF_ERROR(writer_->WriteLocked(*b, &written));
    // Staged rows neither written nor refused: a trigger kept them as they were.
    const int64_t not_updated =
        static_cast<int64_t>(b->staged.size() + hooked - b->rejects.size()) - written;
    return run_.CommitBatch(upto ? *upto : b->last, *read, written, b->skipped + not_updated,
                            b->rejects);
  }

  // Runs b->rows through the hook: b->text gets a stage line per row to
  // write, b->skipped and b->rejects the others.
  Status Process(HookedBatch* b) {
    const size_t n = b->rows.size();
    b->values.resize(n);
    for (size_t i = 0; i < n; ++i) {
      b->values[i].resize(cols_.size());
      for (size_t c = 0; c < cols_.size(); ++c) {
        PLANRUN_RETURN_IF_ERROR(DecodeField(cols_[c], b->rows[i][c], &b->values[i][c]));
      }
    }
    PLANRUN_RETURN_IF_ERROR(KeyOf(b->rows.front(), key_idx_, &b->first));
    std::vector<RowResult> results;
    PLANRUN_RETURN_IF_ERROR(pool_->Run(b->number, in_names_, b->values, spec_.set, &results));
    b->text.clear();
    b->staged.clear();
    b->skipped = 0;
    b->rejects.clear();
    b->refused_stage = false;
    const size_t nk = spec_.key.size(), ns = spec_.set.size();
    std::vector<RawField> out(nk + 2 * ns + (cols_.size() - nk));
    for (size_t i = 0; i < n; ++i) {
      const RowResult& r = results[i];
      const std::vector<RawField>& row = b->rows[i];
      if (r.outcome == lua::RowOutcome::kSkip) {
        ++b->skipped;
        continue;
      }
      Status encoded;
      for (size_t k = 0; k < nk; ++k) out[k] = row[k];
      if (r.outcome == lua::RowOutcome::kRow) {
        for (size_t c = 0; c < ns && encoded.ok(); ++c) {
          encoded = EncodeField(set_cols_[c], r.out[c], &out[nk + c]);
        }
      }
      if (r.outcome == lua::RowOutcome::kReject || !encoded.ok()) {
        std::vector<std::string> k;
        PLANRUN_RETURN_IF_ERROR(KeyOf(row, key_idx_, &k));
        b->rejects.push_back({0, "", KeyJson(k), RowJson(cols_, b->values[i]),
                              encoded.ok() ? r.reason : encoded.message(), ""});
        continue;
      }
      for (size_t c = 0; c < ns; ++c) out[nk + ns + c] = row[cols_.size() + c];
      for (size_t c = nk; c < cols_.size(); ++c) out[nk + 2 * ns + (c - nk)] = row[c];
      AppendCopyRow(&b->text, out);
      b->staged.push_back(i);
    }
    return Status::OK();
  }

  // The ids of a chunk of rejects, and their keys as SQL tuples.
  void RejectKeys(const std::vector<Reject>& chunk, std::vector<int64_t>* ids,
                  std::vector<std::string>* tuples) const {
    for (const Reject& r : chunk) {
      ids->push_back(r.id);
      tuples->push_back(KeyTuple(cols_, key_idx_, r.row_key));
    }
  }

  // --retry-rejects: the rejected rows again, through the current hook.
  Status RetryRejects() {
    return run_.ForEachRejectChunk([&](const std::vector<Reject>& chunk) -> Status {
      std::vector<int64_t> ids;
      std::vector<std::string> tuples;
      RejectKeys(chunk, &ids, &tuples);
      HookedBatch b;
      b.number = run_.checkpoint().batches + 1;
      PLANRUN_RETURN_IF_ERROR(run_.InTransaction([&]() -> Status {
        PLANRUN_RETURN_IF_ERROR(ReadRows(
            *ctx_.db,
            TransformReadSql(spec_,
                             "(" + QuoteIdentList(spec_.key) + ") IN (" + Join(tuples, ", ") + ")",
                             -1, true),
            &b.rows));
        int64_t written = 0, not_updated = 0;
        if (!b.rows.empty()) {
          PLANRUN_RETURN_IF_ERROR(KeyOf(b.rows.back(), key_idx_, &b.last));
          PLANRUN_RETURN_IF_ERROR(Process(&b));
          const size_t hooked = b.rejects.size();
          PLANRUN_RETURN_IF_ERROR(writer_->WriteLocked(b, &written));
          not_updated = static_cast<int64_t>(b.staged.size() + hooked - b.rejects.size()) - written;
        }
        PLANRUN_RETURN_IF_ERROR(run_.store().ResolveRejects(ids));
        run_.checkpoint().rows_rejected -= static_cast<int64_t>(ids.size());
        return run_.CommitBatch(std::nullopt, 0, written, b.skipped + not_updated, b.rejects);
      }));
      ctx_.out->Info("transform " + ctx_.env.decl->id + ": retried " + std::to_string(ids.size()) +
                     " rejected rows, " + std::to_string(b.rejects.size()) + " still rejected");
      return Status::OK();
    });
  }

  // Without a hook the whole batch runs in the server.
  Status SqlBatch(const std::string& after, int64_t* read) {
    int64_t written = 0;
    std::vector<std::string> last;
    PLANRUN_RETURN_IF_ERROR(sql_writer_->WriteBatch(
        TransformBatchSql(spec_, after, spec_.settings.batch_size), read, &written, &last));
    if (last.empty()) return Status::OK();
    return run_.CommitBatch(last, *read, written, *read - written, {});
  }

  // A batch of a transform in SQL that PostgreSQL refused for a value (a
  // CHECK, a unique index, a cast or a division by zero in a set
  // expression: SQLSTATE class 22 or 23), again in a new transaction: its
  // rows are updated in halves, each under a savepoint, until the refused
  // rows stand alone, and those are rejected with PostgreSQL's message.
  // Only batches with refused rows pay for it.
  Status SqlBatchInParts(int64_t* read) {
    const std::string after = KeyAfter(cols_, key_idx_, run_.checkpoint().last_key);
    int64_t written = 0;
    std::vector<Reject> rejects;
    std::vector<std::string> last;
    PLANRUN_RETURN_IF_ERROR(
        sql_writer_->WriteInParts(TransformBatchSql(spec_, after, spec_.settings.batch_size), read,
                                  &written, &rejects, &last));
    if (*read == 0) return Status::OK();
    const int64_t refused = static_cast<int64_t>(rejects.size());
    return run_.CommitBatch(last, *read, written, *read - refused - written, rejects);
  }

  // --retry-rejects without a hook: the rejected rows' new values again,
  // from the set expressions as they are now.
  Status RetrySqlRejects() {
    const std::string key = QuoteIdentList(spec_.key);
    return run_.ForEachRejectChunk([&](const std::vector<Reject>& chunk) -> Status {
      std::vector<int64_t> ids;
      std::vector<std::string> tuples;
      RejectKeys(chunk, &ids, &tuples);
      std::vector<Reject> rejects;
      PLANRUN_RETURN_IF_ERROR(run_.InTransaction([&]() -> Status {
        int64_t found = 0, written = 0;
        std::vector<std::string> last;
        PLANRUN_RETURN_IF_ERROR(sql_writer_->WriteInParts(
            "SELECT " + key + " FROM " + spec_.table.Quoted() + " WHERE " +
                (spec_.where.empty() ? "" : "(" + spec_.where + ") AND ") + "(" + key + ") IN (" +
                Join(tuples, ", ") + ") FOR UPDATE",
            &found, &written, &rejects, &last));
        PLANRUN_RETURN_IF_ERROR(run_.store().ResolveRejects(ids));
        run_.checkpoint().rows_rejected -= static_cast<int64_t>(ids.size());
        const int64_t refused = static_cast<int64_t>(rejects.size());
        return run_.CommitBatch(std::nullopt, 0, written, found - refused - written, rejects);
      }));
      ctx_.out->Info("transform " + ctx_.env.decl->id + ": retried " + std::to_string(ids.size()) +
                     " rejected rows, " + std::to_string(rejects.size()) + " still rejected");
      return Status::OK();
    });
  }

  const TransformSpec& spec_;
  StepContext& ctx_;
  DataRun run_;
  std::string prev_, stage_;
  std::vector<std::string> shared_;  // the two unlogged stages of the read-ahead
  std::vector<ColumnSpec> cols_, set_cols_;
  std::vector<size_t> key_idx_;
  std::vector<std::string> in_names_;
  std::unique_ptr<HookPool> pool_;
  std::unique_ptr<TransformWriter> writer_;
  std::unique_ptr<TransformSqlWriter> sql_writer_;
};

}  // namespace

Status RunTransform(const TransformSpec& spec, StepContext& ctx) {
  TransformRunner runner(spec, ctx);
  return runner.Run();
}

Status RevertTransform(const TransformSpec& spec, StepContext& ctx) {
  TransformRunner runner(spec, ctx);
  int64_t restored = 0;
  PLANRUN_RETURN_IF_ERROR(runner.Restore(&restored));
  CheckpointStore store(ctx.db, ctx.env.names.tracking, ctx.env.plan->version.text,
                        ctx.data ? ctx.data->attempt : 1, ctx.env.decl->id);
  PLANRUN_RETURN_IF_ERROR(store.Reset());
  ctx.counters["rows"] = restored;
  ctx.out->Info("transform " + ctx.env.decl->id + ": restored " + std::to_string(restored) +
                " rows of " + spec.table.Display() + " to their previous values");
  return Status::OK();
}

}  // namespace planrun
