#include "steps/transform_step.h"

#include <algorithm>

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
    while (!run_.checkpoint().done) {
      int64_t read = 0;
      PLANRUN_RETURN_IF_ERROR(run_.InTransaction([&] { return Batch(&read); }));
      PLANRUN_RETURN_IF_ERROR(run_.CheckRejectLimit(false));
      run_.Progress(total);
      if (read < spec_.settings.batch_size) break;
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
      sql += "CREATE TEMP TABLE IF NOT EXISTS " + stage_ + " AS SELECT " + keys_and_set + " FROM " +
             spec_.table.Quoted() + " WITH NO DATA;";
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

  Status Batch(int64_t* read) {
    const std::string after = KeyAfter(cols_, key_idx_, run_.checkpoint().last_key);
    if (!spec_.hook.present) return SqlBatch(after, read);
    std::vector<std::vector<RawField>> rows;
    PLANRUN_RETURN_IF_ERROR(
        ReadRows(*ctx_.db, BatchSql(spec_, after, spec_.settings.batch_size), &rows));
    *read = static_cast<int64_t>(rows.size());
    if (rows.empty()) return Status::OK();
    int64_t written = 0, skipped = 0;
    std::vector<Reject> rejects;
    PLANRUN_RETURN_IF_ERROR(HookAndWrite(rows, &written, &skipped, &rejects));
    std::vector<std::string> last;
    PLANRUN_RETURN_IF_ERROR(KeyOf(rows.back(), key_idx_, &last));
    return run_.CommitBatch(last, *read, written, skipped, rejects);
  }

  // Runs `rows` through the hook and writes the new values, saving the old.
  Status HookAndWrite(const std::vector<std::vector<RawField>>& rows, int64_t* written,
                      int64_t* skipped, std::vector<Reject>* rejects) {
    std::vector<std::vector<Value>> values(rows.size());
    for (size_t i = 0; i < rows.size(); ++i) {
      values[i].resize(cols_.size());
      for (size_t c = 0; c < cols_.size(); ++c) {
        PLANRUN_RETURN_IF_ERROR(DecodeField(cols_[c], rows[i][c], &values[i][c]));
      }
    }
    std::vector<RowResult> results;
    PLANRUN_RETURN_IF_ERROR(
        pool_->Run(run_.checkpoint().batches + 1, in_names_, values, spec_.set, &results));
    std::string text;
    std::vector<size_t> staged;  // the row of each line of `text`
    std::vector<RawField> out(spec_.key.size() + spec_.set.size());
    for (size_t i = 0; i < rows.size(); ++i) {
      const RowResult& r = results[i];
      if (r.outcome == lua::RowOutcome::kSkip) {
        ++*skipped;
        continue;
      }
      Status encoded;
      for (size_t k = 0; k < spec_.key.size(); ++k) out[k] = rows[i][k];
      if (r.outcome == lua::RowOutcome::kRow) {
        for (size_t c = 0; c < spec_.set.size() && encoded.ok(); ++c) {
          encoded = EncodeField(set_cols_[c], r.out[c], &out[spec_.key.size() + c]);
        }
      }
      if (r.outcome == lua::RowOutcome::kReject || !encoded.ok()) {
        std::vector<std::string> k;
        PLANRUN_RETURN_IF_ERROR(KeyOf(rows[i], key_idx_, &k));
        rejects->push_back({0, "", KeyJson(k), RowJson(cols_, values[i]),
                            encoded.ok() ? r.reason : encoded.message(), ""});
        continue;
      }
      AppendCopyRow(&text, out);
      staged.push_back(i);
    }
    if (staged.empty()) return Status::OK();
    std::vector<std::string> first, last;
    PLANRUN_RETURN_IF_ERROR(KeyOf(rows.front(), key_idx_, &first));
    PLANRUN_RETURN_IF_ERROR(KeyOf(rows.back(), key_idx_, &last));
    const std::string update = UpdateSql(first, last);
    PLANRUN_RETURN_IF_ERROR(ctx_.db->Exec("SAVEPOINT planrun_transform_batch"));
    Status st = WriteStaged(text, update);
    if (st.ok()) {
      *written += static_cast<int64_t>(staged.size());
      return ctx_.db->Exec("RELEASE SAVEPOINT planrun_transform_batch");
    }
    if (!IsRowRefused(st)) return st;
    PLANRUN_RETURN_IF_ERROR(ctx_.db->Exec("ROLLBACK TO SAVEPOINT planrun_transform_batch"));
    PLANRUN_RETURN_IF_ERROR(ctx_.db->Exec("RELEASE SAVEPOINT planrun_transform_batch"));
    std::vector<std::string> lines = Split(text, '\n');
    lines.pop_back();  // after the last newline
    return Bisect(rows, values, lines, staged, 0, lines.size(), update, written, rejects);
  }

  // One statement: `o` is the row before the update (the batch holds its
  // lock), saved into prev. The key range lets both scans of the table use
  // its key index from the batch's first key, not from the table's start.
  std::string UpdateSql(const std::vector<std::string>& first,
                        const std::vector<std::string>& last) const {
    return "WITH upd AS (UPDATE " + spec_.table.Quoted() + " AS t SET (" +
           QuoteIdentList(spec_.set) + ") = ROW(" + Prefixed(spec_.set, "s") + ") FROM " + stage_ +
           " AS s JOIN " + spec_.table.Quoted() + " AS o ON " + Match(spec_.key, "o", "s") +
           " AND " + KeyRange("o", first, last) + " WHERE " + Match(spec_.key, "t", "s") + " AND " +
           KeyRange("t", first, last) + " RETURNING " + Prefixed(spec_.key, "o") + ", " +
           Prefixed(spec_.set, "o") + ") INSERT INTO " + prev_ + " SELECT * FROM upd";
  }

  // Stages `text` (COPY text of key and new values) and runs `update`.
  Status WriteStaged(const std::string& text, const std::string& update) {
    PLANRUN_RETURN_IF_ERROR(ctx_.db->Exec("TRUNCATE " + stage_));
    bool sent = false;
    PLANRUN_RETURN_IF_ERROR(
        ctx_.db->CopyIn("COPY " + stage_ + " FROM STDIN", [&](std::string* chunk, bool* done) {
          if (!sent) chunk->append(text);
          sent = *done = true;
          return Status::OK();
        }));
    return ctx_.db->Exec(update);
  }

  // Writes lines [begin, end) of a batch PostgreSQL refused as a whole: each
  // half under its own savepoint, halving again where it is refused, until
  // the refused rows stand alone; those are rejected with PostgreSQL's
  // message. A batch with k refused rows of n takes about 2k log2(n) tries.
  Status Bisect(const std::vector<std::vector<RawField>>& rows,
                const std::vector<std::vector<Value>>& values,
                const std::vector<std::string>& lines, const std::vector<size_t>& staged,
                size_t begin, size_t end, const std::string& update, int64_t* written,
                std::vector<Reject>* rejects) {
    if (begin == end) return Status::OK();
    std::string text;
    for (size_t l = begin; l < end; ++l) text.append(lines[l]).push_back('\n');
    PLANRUN_RETURN_IF_ERROR(ctx_.db->Exec("SAVEPOINT planrun_transform_part"));
    Status st = WriteStaged(text, update);
    if (st.ok()) {
      *written += static_cast<int64_t>(end - begin);
      return ctx_.db->Exec("RELEASE SAVEPOINT planrun_transform_part");
    }
    if (!IsRowRefused(st)) return st;
    PLANRUN_RETURN_IF_ERROR(ctx_.db->Exec("ROLLBACK TO SAVEPOINT planrun_transform_part"));
    PLANRUN_RETURN_IF_ERROR(ctx_.db->Exec("RELEASE SAVEPOINT planrun_transform_part"));
    if (end - begin == 1) {
      const size_t i = staged[begin];
      std::vector<std::string> k;
      PLANRUN_RETURN_IF_ERROR(KeyOf(rows[i], key_idx_, &k));
      rejects->push_back({0, "", KeyJson(k), RowJson(cols_, values[i]),
                          "PostgreSQL refused the new values: " + st.message(), ""});
      return Status::OK();
    }
    const size_t mid = begin + (end - begin) / 2;
    PLANRUN_RETURN_IF_ERROR(
        Bisect(rows, values, lines, staged, begin, mid, update, written, rejects));
    return Bisect(rows, values, lines, staged, mid, end, update, written, rejects);
  }

  // "(a.k1, a.k2) >= (first) AND (a.k1, a.k2) <= (last)", typed literals.
  std::string KeyRange(const std::string& alias, const std::vector<std::string>& first,
                       const std::vector<std::string>& last) const {
    std::vector<std::string> lo, hi;
    for (size_t i = 0; i < key_idx_.size(); ++i) {
      const std::string type = "::" + cols_[key_idx_[i]].type_name;
      lo.push_back(QuoteLiteral(first[i]) + type);
      hi.push_back(QuoteLiteral(last[i]) + type);
    }
    const std::string keys = "(" + Prefixed(spec_.key, alias) + ")";
    return keys + " >= (" + Join(lo, ", ") + ") AND " + keys + " <= (" + Join(hi, ", ") + ")";
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
      int64_t written = 0, skipped = 0;
      std::vector<Reject> rejects;
      PLANRUN_RETURN_IF_ERROR(run_.InTransaction([&]() -> Status {
        std::vector<std::vector<RawField>> rows;
        PLANRUN_RETURN_IF_ERROR(ReadRows(
            *ctx_.db,
            BatchSql(spec_, "(" + QuoteIdentList(spec_.key) + ") IN (" + Join(tuples, ", ") + ")",
                     static_cast<int64_t>(ids.size())),
            &rows));
        PLANRUN_RETURN_IF_ERROR(HookAndWrite(rows, &written, &skipped, &rejects));
        PLANRUN_RETURN_IF_ERROR(run_.store().ResolveRejects(ids));
        run_.checkpoint().rows_rejected -= static_cast<int64_t>(ids.size());
        return run_.CommitBatch(std::nullopt, 0, written, skipped, rejects);
      }));
      ctx_.out->Info("transform " + ctx_.env.decl->id + ": retried " + std::to_string(ids.size()) +
                     " rejected rows, " + std::to_string(rejects.size()) + " still rejected");
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
    // What TransformRunner::HookAndWrite and SqlBatch run, per batch.
    const std::string batch = BatchSql(spec_, "(<key>) > (<last key>)", spec_.settings.batch_size);
    const std::string prev = PrevTable(spec_, env);
    const std::string per =
        "-- per batch of " + std::to_string(spec_.settings.batch_size) + " rows";
    if (spec_.hook.present) {
      return {per + ", through the hook " + spec_.hook.source.chunk_name + ":",
              "COPY (" + batch + ") TO STDOUT",
              "COPY <stage table> FROM STDIN -- each row's key and the hook's new values",
              "WITH upd AS (UPDATE " + spec_.table.Quoted() + " AS t SET (" +
                  QuoteIdentList(spec_.set) + ") = <stage values> FROM <stage table> JOIN " +
                  spec_.table.Quoted() + " AS o ON <key> WHERE <key in batch> RETURNING <key>, " +
                  "<previous values of " + QuoteIdentList(spec_.set) + ">) INSERT INTO " + prev +
                  " SELECT * FROM upd"};
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
