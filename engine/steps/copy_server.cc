// Running a copy without a hook inside one database (see copy_server.h):
//
//   BEGIN
//   INSERT INTO <target> SELECT ... FROM <the batch's source rows>    -- ServerBatch
//     (RETURNING the keys into <keys>, or their range into <ranges>)
//   <checkpoint>; <progress>
//   COMMIT
//
// Where batches are key ranges (RangeBatches), the next range's bounds are
// read on a second session while this one is inserted. A batch PostgreSQL
// refuses for a value is rolled back; with max_rejects above 0 it runs again
// in a new transaction, in halves (InsertServerParts), and the refused rows
// are rejected.
#include "steps/copy_server.h"

#include <future>

#include "report/reporter.h"
#include "steps/backup_names.h"
#include "steps/copy_write.h"
#include "util/sql.h"

namespace planrun {

namespace {

// The temporary table InsertServerParts numbers a refused batch's rows in.
std::string ServerPartsTable(const StepContext& ctx) {
  return QuoteIdent(
      ShortIdentifier("planrun_parts_v" + ctx.env.plan->version.text + "_" + ctx.env.decl->id));
}

// A batch of a copy in the server whose statement PostgreSQL refused for a
// value (SQLSTATE class 22 or 23), again in a new transaction and in the
// server (InsertServerParts: in halves, each refused row rejected),
// committed with the checkpoint at `last` (the last row's key when empty).
// A value the source query itself cannot compute (a `map` expression)
// fails the step as before. Only batches with refused rows pay for it.
Status RefusedServerBatch(const CopySpec& spec, DataRun& run, const CopyTarget& target,
                          size_t nkeys, const std::string& source_sql,
                          std::vector<std::string> last, int64_t* read) {
  StepContext& ctx = run.ctx();
  const std::string parts = ServerPartsTable(ctx);
  PLANRUN_RETURN_IF_ERROR(run.InTransaction([&]() -> Status {
    int64_t written = 0;
    std::vector<Reject> rejects;
    std::vector<std::string> last_read;
    PLANRUN_RETURN_IF_ERROR(InsertServerParts(spec, *ctx.db, target, nkeys, source_sql, parts, read,
                                              &written, &rejects, &last_read));
    if (*read == 0) return Status::OK();
    const int64_t refused = static_cast<int64_t>(rejects.size());
    return run.CommitBatch(last.empty() ? last_read : last, *read, written,
                           *read - refused - written, rejects);
  }));
  return run.CheckRejectLimit(false);
}

// A copy in the server cut by key ranges: the next batch's bounds are read
// from the key index on a second session while this batch's INSERT runs.
Status ServerRangeBatches(const CopySpec& spec, DataRun& run, const CopyTarget& target,
                          const std::vector<ColumnSpec>& key_cols,
                          const std::optional<int64_t>& total) {
  StepContext& ctx = run.ctx();
  std::unique_ptr<pg::Session> bounds_session;
  PLANRUN_RETURN_IF_ERROR(ctx.data->open("", &bounds_session));
  ServerBounds bounds, next;
  PLANRUN_RETURN_IF_ERROR(
      ReadServerBounds(spec, *bounds_session, key_cols, run.checkpoint().last_key, &bounds));
  while (bounds.rows > 0) {
    const bool full = bounds.rows >= spec.settings.batch_size;
    std::future<Status> ahead;
    if (full) {
      ahead = std::async(std::launch::async, [&, last = bounds.last] {
        return ReadServerBounds(spec, *bounds_session, key_cols, std::vector<std::string>{last},
                                &next);
      });
    }
    const std::optional<std::vector<std::string>> after = run.checkpoint().last_key;
    Status st = run.InTransaction([&]() -> Status {
      int64_t read = 0, written = 0;
      PLANRUN_RETURN_IF_ERROR(
          InsertServerRange(spec, *ctx.db, target, key_cols, after, bounds, &read, &written));
      return run.CommitBatch(std::vector<std::string>{bounds.last}, read, written, read - written,
                             {});
    });
    if (!st.ok() && IsRowRefused(st) && !spec.settings.max_rejects.None()) {
      int64_t read = 0;
      st = RefusedServerBatch(spec, run, target, key_cols.size(),
                              ServerRangeSourceSql(spec, key_cols, after, bounds), {bounds.last},
                              &read);
    }
    const Status read_ahead = ahead.valid() ? ahead.get() : Status::OK();
    PLANRUN_RETURN_IF_ERROR(st);
    run.Progress(total);
    if (!full) break;
    PLANRUN_RETURN_IF_ERROR(read_ahead);
    bounds = next;
  }
  return run.Finish();
}

}  // namespace

Status RetryServerRejects(const CopySpec& spec, DataRun& run, const CopyTarget& target,
                          size_t nkeys, const std::string& source_sql,
                          const std::vector<int64_t>& ids) {
  std::vector<Reject> rejects;
  PLANRUN_RETURN_IF_ERROR(run.InTransaction([&]() -> Status {
    int64_t read = 0, written = 0;
    std::vector<std::string> last;
    PLANRUN_RETURN_IF_ERROR(InsertServerParts(spec, *run.ctx().db, target, nkeys, source_sql,
                                              ServerPartsTable(run.ctx()), &read, &written,
                                              &rejects, &last));
    PLANRUN_RETURN_IF_ERROR(run.store().ResolveRejects(ids));
    run.checkpoint().rows_rejected -= static_cast<int64_t>(ids.size());
    const int64_t refused = static_cast<int64_t>(rejects.size());
    return run.CommitBatch(std::nullopt, 0, written, read - refused - written, rejects);
  }));
  run.ctx().out->Info("copy " + run.ctx().env.decl->id + ": retried " + std::to_string(ids.size()) +
                      " rejected rows, " + std::to_string(rejects.size()) + " still rejected");
  return Status::OK();
}

Status RunServerCopy(const CopySpec& spec, DataRun& run, const CopyTarget& target,
                     const std::vector<ColumnSpec>& key_cols, const std::optional<int64_t>& total) {
  StepContext& ctx = run.ctx();
  if (RangeBatches(spec, key_cols) && !ctx.dry_run && ctx.data && !run.checkpoint().done) {
    return ServerRangeBatches(spec, run, target, key_cols, total);
  }
  std::vector<size_t> key_pos;
  for (size_t i = 0; i < key_cols.size(); ++i) key_pos.push_back(i);
  while (!run.checkpoint().done) {
    int64_t read = 0, written = 0;
    std::vector<std::string> last;
    const std::optional<std::vector<std::string>> after = run.checkpoint().last_key;
    Status st = run.InTransaction([&]() -> Status {
      PLANRUN_RETURN_IF_ERROR(
          ServerBatch(spec, *ctx.db, target, key_cols, after, &read, &written, &last));
      if (read == 0) return Status::OK();
      return run.CommitBatch(last, read, written, read - written, {});
    });
    if (!st.ok() && IsRowRefused(st) && !ctx.dry_run && !spec.settings.max_rejects.None()) {
      st = RefusedServerBatch(
          spec, run, target, key_cols.size(),
          CopySourceSql(spec, KeyAfter(key_cols, key_pos, after), spec.settings.batch_size), {},
          &read);
    }
    PLANRUN_RETURN_IF_ERROR(st);
    run.Progress(total);
    if (read < spec.settings.batch_size) break;
  }
  return run.Finish();
}

}  // namespace planrun
