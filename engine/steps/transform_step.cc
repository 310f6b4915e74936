// Running a `transform` step. Without a hook each batch is three statements
// in the server (SqlBatch). With a hook, batches overlap like copy's: batch
// k+1 is read on a second session (no row locks) while batch k goes through
// the hook and batch k-1 is written on the step's session, in one
// transaction with its checkpoint:
//
//   BEGIN
//   COPY <stage> FROM STDIN      -- key, new values, the values read
//   INSERT INTO <prev> SELECT <key>, <values read of the set columns> FROM <stage>
//   UPDATE <table> SET <set> = <new> FROM <stage>
//     WHERE <key matches> AND <every column read is unchanged since the read>
//   <rejects>; <checkpoint>; <progress>
//   COMMIT
//
// The UPDATE compares under the row lock, so the saved previous values are
// the values it replaced. When a row changed between the read and the write
// (or was deleted), fewer rows are updated than staged: the batch's writes
// are undone and the batch runs again under SELECT ... FOR UPDATE (the
// locked path, which also serves the dry run and --retry-rejects).
#include "steps/transform_step.h"

#include <algorithm>
#include <future>

#include "plan/plan.h"
#include "report/reporter.h"
#include "steps/backup_names.h"
#include "steps/data_run.h"
#include "steps/hook_pool.h"
#include "steps/parse_helpers.h"
#include "steps/table_info.h"
#include "util/sha256.h"
#include "util/sql.h"
#include "util/strings.h"

namespace planrun {

namespace {

/// A parsed `transform` step.
struct TransformSpec {
  TableName table;
  std::vector<std::string> key;
  std::string where;
  std::vector<std::string> columns;                      // read for the hook
  std::vector<TableName> reads;                          // other tables the SQL or hook reads
  std::vector<std::string> set;                          // written
  std::vector<std::pair<std::string, std::string>> sql;  // no hook: column -> SQL expression
  HookSpec hook;
  DataSettings settings;
};

std::string PrevTable(const TransformSpec& spec, const StepEnv& env) {
  return QuoteIdent(env.names.backup) + "." +
         QuoteIdent(BackupTableName(env.plan->version.text, env.decl->id, spec.table, "__prev"));
}

std::string Match(const std::vector<std::string>& key, const std::string& a, const std::string& b) {
  std::vector<std::string> parts;
  for (const auto& k : key)
    parts.push_back(a + "." + QuoteIdent(k) + " = " + b + "." + QuoteIdent(k));
  return Join(parts, " AND ");
}

std::string Prefixed(const std::vector<std::string>& cols, const std::string& alias) {
  std::vector<std::string> out;
  for (const auto& c : cols) out.push_back(alias + "." + QuoteIdent(c));
  return Join(out, ", ");
}

// The rows of one batch: key, then (with a hook) the columns the hook reads.
std::string BatchSql(const TransformSpec& spec, const std::string& after, int64_t limit) {
  std::vector<std::string> cols = spec.key;
  for (const auto& c : spec.columns) {
    if (std::find(cols.begin(), cols.end(), c) == cols.end()) cols.push_back(c);
  }
  return "SELECT " + QuoteIdentList(spec.hook.present ? cols : spec.key) + " FROM " +
         spec.table.Quoted() + " WHERE " + (spec.where.empty() ? "" : "(" + spec.where + ") AND ") +
         after + " ORDER BY " + QuoteIdentList(spec.key) + " LIMIT " + std::to_string(limit) +
         " FOR UPDATE";
}

// The key, then the columns the hook reads (each once).
std::vector<std::string> HookColumns(const TransformSpec& spec) {
  std::vector<std::string> cols = spec.key;
  for (const auto& c : spec.columns) {
    if (std::find(cols.begin(), cols.end(), c) == cols.end()) cols.push_back(c);
  }
  return cols;
}

// The rows of one batch of the hook path: HookColumns, then the current
// values of the set columns. `limit` < 0: no LIMIT.
std::string ReadSql(const TransformSpec& spec, const std::string& cond, int64_t limit, bool lock) {
  return "SELECT " + QuoteIdentList(HookColumns(spec)) + ", " + QuoteIdentList(spec.set) +
         " FROM " + spec.table.Quoted() + " WHERE " +
         (spec.where.empty() ? "" : "(" + spec.where + ") AND ") + cond + " ORDER BY " +
         QuoteIdentList(spec.key) + (limit >= 0 ? " LIMIT " + std::to_string(limit) : "") +
         (lock ? " FOR UPDATE" : "");
}

// The stage's columns: planrun_k<i> (key), planrun_n<i> (new values of the
// set columns), planrun_o<i> (their values as read), planrun_i<i> (the
// other columns the hook read, as read).
std::vector<std::string> StageNames(const std::string& kind, size_t n) {
  std::vector<std::string> out;
  for (size_t i = 1; i <= n; ++i) out.push_back("planrun_" + kind + std::to_string(i));
  return out;
}

// A batch of the hook path: its rows as read (ReadSql's columns) and what
// the hook made of them. Buffers are reused from batch to batch.
struct HookedBatch {
  int64_t number = 0;                             // ctx.batch of the hook
  std::optional<std::vector<std::string>> after;  // the key before the batch
  std::vector<std::vector<RawField>> rows;
  std::vector<std::vector<Value>> values;  // the hook's input per row
  std::vector<std::string> first, last;    // keys of the first and last rows
  std::string text;                        // the stage's COPY text
  std::vector<size_t> staged;              // the row of each line of `text`
  int64_t skipped = 0;
  std::vector<Reject> rejects;
};

/// Runs one transform step.
class TransformRunner {
 public:
  TransformRunner(const TransformSpec& spec, StepContext& ctx)
      : spec_(spec),
        ctx_(ctx),
        run_(ctx, spec.settings, "transform",
             Sha256Hex(ctx.env.decl->checksum + "\n" + spec.hook.source.code + spec.hook.modules)),
        prev_(PrevTable(spec, ctx.env)) {}

  Status Run() {
    stage_ = QuoteIdent(
        ShortIdentifier("planrun_stage_v" + ctx_.env.plan->version.text + "_" + ctx_.env.decl->id));
    PLANRUN_RETURN_IF_ERROR(CheckKeyUnique(*ctx_.db, spec_.table, spec_.key, "transform"));
    PLANRUN_RETURN_IF_ERROR(DescribeSelect(*ctx_.db, BatchSql(spec_, "true", 0), &cols_));
    for (size_t i = 0; i < spec_.key.size(); ++i) key_idx_.push_back(i);
    for (const auto& c : cols_) in_names_.push_back(c.name);
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
    if (ctx_.data && ctx_.data->retry_rejects && spec_.hook.present) {
      PLANRUN_RETURN_IF_ERROR(RetryRejects());
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
        PLANRUN_RETURN_IF_ERROR(run_.InTransaction([&] { return Batch(&read); }));
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

  /// Puts the saved previous values back and drops the saved copy.
  Status Restore(int64_t* restored) {
    pg::Result r;
    PLANRUN_RETURN_IF_ERROR(ctx_.db->Query("SELECT to_regclass($1) IS NOT NULL", {prev_}, &r));
    if (r.get(0, 0) != "t") return Status::OK();
    pg::Result u;
    PLANRUN_RETURN_IF_ERROR(ctx_.db->Exec("UPDATE " + spec_.table.Quoted() + " AS t SET (" +
                                              QuoteIdentList(spec_.set) + ") = ROW(" +
                                              Prefixed(spec_.set, "p") + ") FROM " + prev_ +
                                              " AS p WHERE " + Match(spec_.key, "t", "p"),
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
    if (spec_.hook.present) {
      // Typed as the table's columns, so the stage's values compare by
      // their binary images (UnlockedWriteSql).
      const size_t nk = spec_.key.size(), ns = spec_.set.size();
      std::vector<std::string> cols;
      const auto add = [&](const std::string& col, const std::string& name) {
        cols.push_back(QuoteIdent(col) + " AS " + name);
      };
      for (size_t i = 0; i < nk; ++i) add(spec_.key[i], StageNames("k", nk)[i]);
      for (size_t i = 0; i < ns; ++i) add(spec_.set[i], StageNames("n", ns)[i]);
      for (size_t i = 0; i < ns; ++i) add(spec_.set[i], StageNames("o", ns)[i]);
      for (size_t c = nk; c < cols_.size(); ++c)
        add(cols_[c].name, StageNames("i", cols_.size() - nk)[c - nk]);
      sql += "CREATE TEMP TABLE IF NOT EXISTS " + stage_ + " AS SELECT " + Join(cols, ", ") +
             " FROM " + spec_.table.Quoted() + " WITH NO DATA;";
    }
    return ctx_.db->Exec(sql);
  }

  // Dry run with --sample: the new values of the first N rows, nothing written.
  Status Sample() {
    const int64_t n = ctx_.data->sample_rows;
    int64_t rows_read = 0, changed = 0, skipped = 0, rejected = 0;
    std::vector<std::string> lines;
    if (spec_.hook.present) {
      std::vector<std::vector<RawField>> rows;
      PLANRUN_RETURN_IF_ERROR(ReadRows(*ctx_.db, BatchSql(spec_, "true", n), &rows));
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
      PLANRUN_RETURN_IF_ERROR(
          ctx_.db->Exec("SELECT " + Prefixed(spec_.key, "t") + ", " + Join(exprs, ", ") + " FROM " +
                            spec_.table.Quoted() + " AS t WHERE " +
                            (spec_.where.empty() ? "true" : "(" + spec_.where + ")") +
                            " ORDER BY " + Prefixed(spec_.key, "t") + " LIMIT " + std::to_string(n),
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
      return ReadRows(
          reader,
          ReadSql(spec_, KeyAfter(cols_, key_idx_, after), spec_.settings.batch_size, false),
          &b->rows);
    };
    bool relock = false;
    std::future<Status> write_done;
    auto write = [&](HookedBatch* b) {
      return run_.InTransaction([&, b]() -> Status {
        int64_t written = 0;
        PLANRUN_RETURN_IF_ERROR(WriteUnlocked(*b, &written, &relock));
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
      PLANRUN_RETURN_IF_ERROR(wait_write());
      PLANRUN_RETURN_IF_ERROR(processed);
      std::swap(writing, cur);
      write_done = std::async(std::launch::async, write, writing);
      if (!full) break;
      if (!read_next.ok()) {
        PLANRUN_RETURN_IF_ERROR(wait_write());
        return read_next;
      }
      std::swap(cur, next);
    }
    return wait_write();
  }

  // The hook path under row locks, in the caller's transaction: reads the
  // rows after b->after (up to and including *upto when given, else one
  // batch) with FOR UPDATE on the step's session, runs them through the
  // hook, writes them and commits the checkpoint (to *upto when given).
  Status LockedBatch(const std::vector<std::string>* upto, HookedBatch* b, int64_t* read) {
    std::string cond = KeyAfter(cols_, key_idx_, b->after);
    if (upto) cond += " AND " + KeyCompare("", "<=", *upto);
    PLANRUN_RETURN_IF_ERROR(ReadRows(
        *ctx_.db, ReadSql(spec_, cond, upto ? -1 : spec_.settings.batch_size, true), &b->rows));
    *read = static_cast<int64_t>(b->rows.size());
    if (b->rows.empty()) {
      return upto ? run_.CommitBatch(*upto, 0, 0, 0, {}) : Status::OK();
    }
    PLANRUN_RETURN_IF_ERROR(KeyOf(b->rows.back(), key_idx_, &b->last));
    PLANRUN_RETURN_IF_ERROR(Process(b));
    int64_t written = 0;
    const size_t hooked = b->rejects.size();
    PLANRUN_RETURN_IF_ERROR(WriteLocked(*b, &written));
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

  // Writes a batch read without row locks, in the caller's transaction.
  // Sets *relock (and keeps nothing) when PostgreSQL refused a value or a
  // row changed since the read: the batch then runs again under locks.
  Status WriteUnlocked(const HookedBatch& b, int64_t* written, bool* relock) {
    *relock = false;
    if (b.staged.empty()) return Status::OK();
    PLANRUN_RETURN_IF_ERROR(ctx_.db->Exec("SAVEPOINT planrun_transform_batch"));
    int64_t updated = 0;
    Status st = WriteStaged(b.text, UnlockedWriteSql(b.first, b.last), &updated);
    if (st.ok() && updated == static_cast<int64_t>(b.staged.size())) {
      *written = updated;
      return ctx_.db->Exec("RELEASE SAVEPOINT planrun_transform_batch");
    }
    if (!st.ok() && !IsRowRefused(st)) return st;
    PLANRUN_RETURN_IF_ERROR(ctx_.db->Exec("ROLLBACK TO SAVEPOINT planrun_transform_batch"));
    PLANRUN_RETURN_IF_ERROR(ctx_.db->Exec("RELEASE SAVEPOINT planrun_transform_batch"));
    *relock = true;
    return Status::OK();
  }

  // Writes a batch whose rows this transaction holds locked. A batch
  // PostgreSQL refuses as a whole is bisected (Bisect).
  Status WriteLocked(HookedBatch& b, int64_t* written) {
    if (b.staged.empty()) return Status::OK();
    const std::vector<std::string> update = {LockedUpdateSql(b.first, b.last)};
    PLANRUN_RETURN_IF_ERROR(ctx_.db->Exec("SAVEPOINT planrun_transform_batch"));
    int64_t updated = 0;
    Status st = WriteStaged(b.text, update, &updated);
    if (st.ok()) {
      *written += updated;
      return ctx_.db->Exec("RELEASE SAVEPOINT planrun_transform_batch");
    }
    if (!IsRowRefused(st)) return st;
    PLANRUN_RETURN_IF_ERROR(ctx_.db->Exec("ROLLBACK TO SAVEPOINT planrun_transform_batch"));
    PLANRUN_RETURN_IF_ERROR(ctx_.db->Exec("RELEASE SAVEPOINT planrun_transform_batch"));
    std::vector<std::string> lines = Split(b.text, '\n');
    lines.pop_back();  // after the last newline
    return Bisect(b, lines, 0, lines.size(), update, written);
  }

  // "s.planrun_k1 = t.k1 AND ..." for the stage `s` and the table's alias.
  std::string MatchStage(const std::string& alias) const {
    const std::vector<std::string> names = StageNames("k", spec_.key.size());
    std::vector<std::string> parts;
    for (size_t i = 0; i < spec_.key.size(); ++i)
      parts.push_back(alias + "." + QuoteIdent(spec_.key[i]) + " = s." + names[i]);
    return Join(parts, " AND ");
  }

  // The unlocked path's statements: the previous values as read go to
  // prev, and the UPDATE writes only rows whose columns the hook read and
  // whose set columns are still as read (`*=` compares the values' binary
  // images, so it works for every type, json included, and NULL equals
  // NULL). Under READ COMMITTED the comparison is made again on a row that
  // changed while the UPDATE waited for its lock.
  std::vector<std::string> UnlockedWriteSql(const std::vector<std::string>& first,
                                            const std::vector<std::string>& last) const {
    const size_t nk = spec_.key.size();
    std::vector<std::string> read_cols = spec_.set, stage_cols = StageNames("o", spec_.set.size());
    const std::vector<std::string> inputs = StageNames("i", cols_.size() - nk);
    for (size_t c = nk; c < cols_.size(); ++c) {
      read_cols.push_back(cols_[c].name);
      stage_cols.push_back(inputs[c - nk]);
    }
    return {"INSERT INTO " + prev_ + " SELECT " + Join(StageNames("k", nk), ", ") + ", " +
                Join(StageNames("o", spec_.set.size()), ", ") + " FROM " + stage_,
            "UPDATE " + spec_.table.Quoted() + " AS t SET (" + QuoteIdentList(spec_.set) +
                ") = ROW(" + Prefixed(StageNames("n", spec_.set.size()), "s") + ") FROM " + stage_ +
                " AS s WHERE " + MatchStage("t") + " AND " + KeyCompare("t", ">=", first) +
                " AND " + KeyCompare("t", "<=", last) + " AND ROW(" + Prefixed(read_cols, "t") +
                ")::record *= ROW(" + Prefixed(stage_cols, "s") + ")::record"};
  }

  // The locked path's statement: `o` is the row before the update (the
  // batch holds its lock), saved into prev; a row a trigger kept from
  // updating is not saved. The key range lets both scans of the table use
  // its key index from the batch's first key, not from the table's start.
  std::string LockedUpdateSql(const std::vector<std::string>& first,
                              const std::vector<std::string>& last) const {
    const std::string range_o =
        KeyCompare("o", ">=", first) + " AND " + KeyCompare("o", "<=", last);
    const std::string range_t =
        KeyCompare("t", ">=", first) + " AND " + KeyCompare("t", "<=", last);
    return "WITH upd AS (UPDATE " + spec_.table.Quoted() + " AS t SET (" +
           QuoteIdentList(spec_.set) + ") = ROW(" +
           Prefixed(StageNames("n", spec_.set.size()), "s") + ") FROM " + stage_ + " AS s JOIN " +
           spec_.table.Quoted() + " AS o ON " + MatchStage("o") + " AND " + range_o + " WHERE " +
           MatchStage("t") + " AND " + range_t + " RETURNING " + Prefixed(spec_.key, "o") + ", " +
           Prefixed(spec_.set, "o") + ") INSERT INTO " + prev_ + " SELECT * FROM upd";
  }

  // Stages `text` and runs `statements`; *updated is what the last one
  // affected.
  Status WriteStaged(const std::string& text, const std::vector<std::string>& statements,
                     int64_t* updated) {
    PLANRUN_RETURN_IF_ERROR(ctx_.db->Exec("TRUNCATE " + stage_));
    bool sent = false;
    PLANRUN_RETURN_IF_ERROR(
        ctx_.db->CopyIn("COPY " + stage_ + " FROM STDIN", [&](std::string* chunk, bool* done) {
          if (!sent) chunk->append(text);
          sent = *done = true;
          return Status::OK();
        }));
    pg::Result r;
    for (const std::string& sql : statements) PLANRUN_RETURN_IF_ERROR(ctx_.db->Exec(sql, &r));
    *updated = r.affected;
    return Status::OK();
  }

  // Writes lines [begin, end) of a locked batch PostgreSQL refused as a
  // whole: each half under its own savepoint, halving again where it is
  // refused, until the refused rows stand alone; those are rejected with
  // PostgreSQL's message. A batch with k refused rows of n takes about
  // 2k log2(n) tries.
  Status Bisect(HookedBatch& b, const std::vector<std::string>& lines, size_t begin, size_t end,
                const std::vector<std::string>& update, int64_t* written) {
    if (begin == end) return Status::OK();
    std::string text;
    for (size_t l = begin; l < end; ++l) text.append(lines[l]).push_back('\n');
    PLANRUN_RETURN_IF_ERROR(ctx_.db->Exec("SAVEPOINT planrun_transform_part"));
    int64_t updated = 0;
    Status st = WriteStaged(text, update, &updated);
    if (st.ok()) {
      *written += updated;
      return ctx_.db->Exec("RELEASE SAVEPOINT planrun_transform_part");
    }
    if (!IsRowRefused(st)) return st;
    PLANRUN_RETURN_IF_ERROR(ctx_.db->Exec("ROLLBACK TO SAVEPOINT planrun_transform_part"));
    PLANRUN_RETURN_IF_ERROR(ctx_.db->Exec("RELEASE SAVEPOINT planrun_transform_part"));
    if (end - begin == 1) {
      const size_t i = b.staged[begin];
      std::vector<std::string> k;
      PLANRUN_RETURN_IF_ERROR(KeyOf(b.rows[i], key_idx_, &k));
      b.rejects.push_back({0, "", KeyJson(k), RowJson(cols_, b.values[i]),
                           "PostgreSQL refused the new values: " + st.message(), ""});
      return Status::OK();
    }
    const size_t mid = begin + (end - begin) / 2;
    PLANRUN_RETURN_IF_ERROR(Bisect(b, lines, begin, mid, update, written));
    return Bisect(b, lines, mid, end, update, written);
  }

  // "(a.k1, a.k2) <op> ('v1'::t1, 'v2'::t2)", typed literals; no alias:
  // the bare column names.
  std::string KeyCompare(const std::string& alias, const std::string& op,
                         const std::vector<std::string>& key) const {
    std::vector<std::string> vals;
    for (size_t i = 0; i < key_idx_.size(); ++i)
      vals.push_back(QuoteLiteral(key[i]) + "::" + cols_[key_idx_[i]].type_name);
    const std::string keys =
        "(" + (alias.empty() ? QuoteIdentList(spec_.key) : Prefixed(spec_.key, alias)) + ")";
    return keys + " " + op + " (" + Join(vals, ", ") + ")";
  }

  // --retry-rejects: the rejected rows again, through the current hook.
  Status RetryRejects() {
    return run_.ForEachRejectChunk([&](const std::vector<Reject>& chunk) -> Status {
      std::vector<int64_t> ids;
      std::vector<std::string> tuples;
      for (const Reject& r : chunk) {
        ids.push_back(r.id);
        tuples.push_back(KeyTuple(cols_, key_idx_, r.row_key));
      }
      HookedBatch b;
      b.number = run_.checkpoint().batches + 1;
      PLANRUN_RETURN_IF_ERROR(run_.InTransaction([&]() -> Status {
        PLANRUN_RETURN_IF_ERROR(ReadRows(
            *ctx_.db,
            ReadSql(spec_, "(" + QuoteIdentList(spec_.key) + ") IN (" + Join(tuples, ", ") + ")",
                    -1, true),
            &b.rows));
        int64_t written = 0, not_updated = 0;
        if (!b.rows.empty()) {
          PLANRUN_RETURN_IF_ERROR(KeyOf(b.rows.back(), key_idx_, &b.last));
          PLANRUN_RETURN_IF_ERROR(Process(&b));
          const size_t hooked = b.rejects.size();
          PLANRUN_RETURN_IF_ERROR(WriteLocked(b, &written));
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
    const std::string key = QuoteIdentList(spec_.key);
    const std::string batch = QuoteIdent(ShortIdentifier("planrun_batch_" + ctx_.env.decl->id));
    std::vector<std::string> sets;
    for (const auto& [col, expr] : spec_.sql) sets.push_back(QuoteIdent(col) + " = (" + expr + ")");
    PLANRUN_RETURN_IF_ERROR(ctx_.db->Exec(
        "DROP TABLE IF EXISTS pg_temp." + batch + "; CREATE TEMP TABLE " + batch + " AS " +
        BatchSql(spec_, after, spec_.settings.batch_size) + "; INSERT INTO " + prev_ + " SELECT " +
        Prefixed(spec_.key, "t") + ", " + Prefixed(spec_.set, "t") + " FROM " +
        spec_.table.Quoted() + " AS t JOIN " + batch + " AS b ON " + Match(spec_.key, "t", "b")));
    pg::Result u;
    // No FROM: the set expressions see only the table's own columns, so
    // they may name them unqualified.
    PLANRUN_RETURN_IF_ERROR(ctx_.db->Exec(
        "UPDATE " + spec_.table.Quoted() + " AS t SET " + Join(sets, ", ") + " WHERE (" +
            Prefixed(spec_.key, "t") + ") IN (SELECT " + key + " FROM " + batch + ")",
        &u));
    // The batch's last key: every key column descending (a composite key
    // sorted "k1, k2 DESC" would give the wrong row and repeat rows).
    std::vector<std::string> desc;
    for (const auto& k : spec_.key) desc.push_back(QuoteIdent(k) + " DESC");
    std::vector<std::vector<RawField>> rows;
    PLANRUN_RETURN_IF_ERROR(ReadRows(
        *ctx_.db, "SELECT " + key + " FROM " + batch + " ORDER BY " + Join(desc, ", ") + " LIMIT 1",
        &rows));
    pg::Result count;
    PLANRUN_RETURN_IF_ERROR(ctx_.db->Exec("SELECT count(*) FROM " + batch, &count));
    *read = std::stoll(count.get(0, 0, "0"));
    if (rows.empty()) return Status::OK();
    std::vector<std::string> k;
    PLANRUN_RETURN_IF_ERROR(KeyOf(rows[0], key_idx_, &k));
    return run_.CommitBatch(k, *read, u.affected, *read - u.affected, {});
  }

  const TransformSpec& spec_;
  StepContext& ctx_;
  DataRun run_;
  std::string prev_, stage_;
  std::vector<ColumnSpec> cols_, set_cols_;
  std::vector<size_t> key_idx_;
  std::vector<std::string> in_names_;
  std::unique_ptr<HookPool> pool_;
};

class TransformStep : public Step {
 public:
  explicit TransformStep(TransformSpec spec) : spec_(std::move(spec)) {}
  std::vector<TableName> Reads() const override {
    std::vector<TableName> out = spec_.reads;
    out.push_back(spec_.table);
    return out;
  }
  std::vector<TableName> Writes() const override { return {spec_.table}; }
  bool OwnsTransactions() const override { return true; }
  Reversibility reversibility() const override { return Reversibility::kReversible; }

  std::vector<std::string> DescribeUp(const StepEnv& env) const override {
    // What TransformRunner::PipelinedBatches and SqlBatch run, per batch.
    const std::string batch = BatchSql(spec_, "(<key>) > (<last key>)", spec_.settings.batch_size);
    const std::string prev = PrevTable(spec_, env);
    const std::string per =
        "-- per batch of " + std::to_string(spec_.settings.batch_size) + " rows";
    if (spec_.hook.present) {
      return {per + ", through the hook " + spec_.hook.source.chunk_name +
                  " (the next batch is read while this one is written):",
              "COPY (" +
                  ReadSql(spec_, "(<key>) > (<last key>)", spec_.settings.batch_size, false) +
                  ") TO STDOUT -- on a second session",
              "COPY <stage table> FROM STDIN -- each row's key, the hook's new values and the "
              "values read",
              "INSERT INTO " + prev + " SELECT <key>, <values read of " +
                  QuoteIdentList(spec_.set) + "> FROM <stage table>",
              "UPDATE " + spec_.table.Quoted() + " AS t SET (" + QuoteIdentList(spec_.set) +
                  ") = <stage values> FROM <stage table> WHERE <key matches> AND <the columns "
                  "read are unchanged>",
              "-- where a row changed since it was read: the batch again, read with FOR UPDATE"};
    }
    std::vector<std::string> sets;
    for (const auto& [c, e] : spec_.sql) sets.push_back(QuoteIdent(c) + " = (" + e + ")");
    return {per + ":", "CREATE TEMP TABLE <batch> AS " + batch,
            "INSERT INTO " + prev + " <previous values of " + QuoteIdentList(spec_.set) +
                "> FROM " + spec_.table.Quoted() + " JOIN <batch>",
            "UPDATE " + spec_.table.Quoted() + " AS t SET " + Join(sets, ", ") +
                " WHERE <key in batch>"};
  }
  std::vector<std::string> DescribeDown(const StepEnv& env) const override {
    return {"UPDATE " + spec_.table.Quoted() + " SET (" + QuoteIdentList(spec_.set) +
                ") = <previous values> FROM " + PrevTable(spec_, env),
            "DROP TABLE " + PrevTable(spec_, env)};
  }

  Status Apply(StepContext& ctx) const override {
    TransformRunner runner(spec_, ctx);
    return runner.Run();
  }
  Status Revert(StepContext& ctx) const override {
    TransformRunner runner(spec_, ctx);
    int64_t restored = 0;
    PLANRUN_RETURN_IF_ERROR(runner.Restore(&restored));
    CheckpointStore store(ctx.db, ctx.env.names.tracking, ctx.env.plan->version.text,
                          ctx.data ? ctx.data->attempt : 1, ctx.env.decl->id);
    PLANRUN_RETURN_IF_ERROR(store.Reset());
    ctx.counters["rows"] = restored;
    ctx.out->Info("transform " + ctx.env.decl->id + ": restored " + std::to_string(restored) +
                  " rows of " + spec_.table.Display() + " to their previous values");
    return Status::OK();
  }

 private:
  TransformSpec spec_;
};

}  // namespace

Status ParseTransformStep(const Node& body, const StepParseContext& ctx,
                          std::unique_ptr<Step>* out) {
  MapReader r(ctx.file, body, "transform step");
  PLANRUN_RETURN_IF_ERROR(
      CheckKeys(r, {"table", "key", "where", "columns", "set", "reads", "transform", "lua",
                    "batch_size", "workers", "max_rejects"}));
  TransformSpec spec;
  PLANRUN_RETURN_IF_ERROR(r.Table("table", &spec.table, true));
  PLANRUN_RETURN_IF_ERROR(r.IdentifierList("key", &spec.key, true));
  PLANRUN_RETURN_IF_ERROR(ReadSql(r, "where", &spec.where, false));
  PLANRUN_RETURN_IF_ERROR(r.IdentifierList("columns", &spec.columns));
  PLANRUN_RETURN_IF_ERROR(r.TableList("reads", &spec.reads));
  PLANRUN_RETURN_IF_ERROR(ReadHook(r, ctx, "transform", &spec.hook));
  PLANRUN_RETURN_IF_ERROR(ReadDataSettings(r, ctx, &spec.settings));
  const Node* set = r.Raw("set");
  if (!set) return r.Error(body.loc, "transform step needs 'set', the columns it writes");
  if (spec.hook.present) {
    PLANRUN_RETURN_IF_ERROR(r.IdentifierList("set", &spec.set, true));
    if (spec.columns.empty()) {
      return r.Error(body.loc,
                     "transform step with a hook needs 'columns', the columns the hook reads");
    }
  } else {
    if (!set->IsMap()) {
      return r.Error(
          set->loc,
          "'set' must map each column to a SQL expression (set: {slug: \"lower(name)\"}), "
          "or the step needs a hook ('transform:' or 'lua:') to compute a list of columns");
    }
    for (const auto& [k, v] : set->map) {
      PLANRUN_RETURN_IF_ERROR(CheckIdentifier(ctx.file, k, "set"));
      if (!v.IsScalar() || Trim(v.scalar).empty()) {
        return r.Error(v.loc, "'set' entry '" + k.scalar + "' must be a SQL expression");
      }
      spec.set.push_back(k.scalar);
      spec.sql.emplace_back(k.scalar, v.scalar);
    }
  }
  for (const auto& s : spec.set) {
    if (std::find(spec.key.begin(), spec.key.end(), s) != spec.key.end()) {
      return r.Error(set->loc, "'set' cannot write the key column '" + s + "'");
    }
  }
  *out = std::make_unique<TransformStep>(std::move(spec));
  return Status::OK();
}

}  // namespace planrun
