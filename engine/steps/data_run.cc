#include "steps/data_run.h"

#include <algorithm>
#include <cstdio>

#include "plan/plan.h"
#include "report/reporter.h"
#include "util/strings.h"

namespace planrun {

DataRun::DataRun(StepContext& ctx, const DataSettings& settings, std::string verb,
                 std::string fingerprint)
    : ctx_(ctx),
      settings_(settings),
      verb_(std::move(verb)),
      fingerprint_(std::move(fingerprint)),
      store_(ctx.db, ctx.env.names.tracking, ctx.env.plan->version.text,
             ctx.data ? ctx.data->attempt : 1, ctx.env.decl->id) {}

int DataRun::workers() const {
  if (settings_.workers > 0) return settings_.workers;
  return ctx_.data && ctx_.data->default_workers > 0 ? ctx_.data->default_workers : 1;
}

Status DataRun::Begin(bool* restart) {
  *restart = false;
  bool found = false;
  PLANRUN_RETURN_IF_ERROR(store_.Load(&cp_, &found));
  const bool asked = ctx_.data && ctx_.data->restart;
  const bool changed = found && cp_.fingerprint != fingerprint_;
  if (changed && !asked && ctx_.data && ctx_.data->retry_rejects) {
    ctx_.out->Info(verb_ + " " + ctx_.env.decl->id +
                   ": the step changed since its checkpoint; --retry-rejects keeps the " +
                   std::to_string(cp_.rows_written) +
                   " rows done so far and runs the rejected and remaining rows through the new "
                   "version");
    cp_.fingerprint = fingerprint_;
  } else if (found && (asked || changed)) {
    if (!asked) {
      return Status::Refused(
          "step '" + ctx_.env.decl->id + "' changed since its checkpoint (" +
          std::to_string(cp_.batches) + " batches, " + std::to_string(cp_.rows_read) +
          " rows done); resuming would mix two versions of it. Restore the step, or run "
          "planrun apply --restart-step " +
          ctx_.env.decl->id + " to undo its rows so far and start it over");
    }
    *restart = true;
  }
  if (!found || *restart) {
    cp_ = Checkpoint();
    cp_.fingerprint = fingerprint_;
  } else if (cp_.batches > 0 && !cp_.done) {
    ctx_.out->Info(verb_ + " " + ctx_.env.decl->id + ": resuming after batch " +
                   std::to_string(cp_.batches) + " (" + std::to_string(cp_.rows_read) +
                   " rows done)");
  }
  rows_at_start_ = cp_.rows_read;
  // A resumed step reports the totals of every run, not just this one's.
  ctx_.counters["read"] = cp_.rows_read;
  ctx_.counters["rows"] = cp_.rows_written;
  ctx_.counters["skipped"] = cp_.rows_skipped;
  ctx_.counters["rejected"] = cp_.rows_rejected;
  return Status::OK();
}

Status DataRun::ResetForRestart() {
  std::vector<Reject> stale;
  PLANRUN_RETURN_IF_ERROR(store_.LoadRejects(&stale));
  std::vector<int64_t> ids;
  for (const Reject& r : stale) ids.push_back(r.id);
  PLANRUN_RETURN_IF_ERROR(store_.ResolveRejects(ids));
  return store_.Reset();
}

Status DataRun::BeginOrRestart(const std::function<Status(int64_t* rows)>& undo,
                               const std::function<std::string(int64_t rows)>& done) {
  bool restart = false;
  PLANRUN_RETURN_IF_ERROR(Begin(&restart));
  if (!restart) return Status::OK();
  int64_t rows = 0;
  PLANRUN_RETURN_IF_ERROR(InTransaction([&]() -> Status {
    PLANRUN_RETURN_IF_ERROR(undo(&rows));
    return ResetForRestart();
  }));
  ctx_.out->Info(verb_ + " " + ctx_.env.decl->id + ": restarting; " + done(rows));
  return Status::OK();
}

Status DataRun::InTransaction(const std::function<Status()>& fn) {
  if (ctx_.dry_run) return fn();
  PLANRUN_RETURN_IF_ERROR(ctx_.db->Exec("BEGIN"));
  Status st = fn();
  if (st.ok()) st = ctx_.db->Exec("COMMIT");
  if (!st.ok()) ctx_.db->Exec("ROLLBACK");
  return st;
}

Status DataRun::CommitBatch(const std::optional<std::vector<std::string>>& last_key, int64_t read,
                            int64_t written, int64_t skipped, const std::vector<Reject>& rejects) {
  Checkpoint next = cp_;
  if (last_key) next.last_key = last_key;
  next.batches += 1;
  next.rows_read += read;
  next.rows_written += written;
  next.rows_skipped += skipped;
  next.rows_rejected += static_cast<int64_t>(rejects.size());
  PLANRUN_RETURN_IF_ERROR(store_.AddRejects(rejects));
  PLANRUN_RETURN_IF_ERROR(store_.Save(next));
  if (first_reject_.empty() && !rejects.empty()) {
    // Its first line: PostgreSQL's DETAIL stays in planrun rejects.
    const std::string& reason = rejects[0].reason;
    first_reject_ = "key " + rejects[0].row_key + ": " + reason.substr(0, reason.find('\n'));
  }
  PLANRUN_RETURN_IF_ERROR(store_.SaveProgress(next.rows_read, std::nullopt));
  cp_ = next;
  ctx_.counters["read"] = cp_.rows_read;
  ctx_.counters["rows"] = cp_.rows_written;
  ctx_.counters["skipped"] = cp_.rows_skipped;
  ctx_.counters["rejected"] = cp_.rows_rejected;
  return Status::OK();
}

Status DataRun::CheckRejectLimit(bool at_end) const {
  if (!settings_.max_rejects.Exceeded(cp_.rows_rejected, cp_.rows_read, at_end)) {
    return Status::OK();
  }
  return Status::Failed(
      std::to_string(cp_.rows_rejected) + " of " + std::to_string(cp_.rows_read) +
      " rows rejected, more than max_rejects (" + settings_.max_rejects.Describe() + ")" +
      (first_reject_.empty() ? "" : "; the first: " + first_reject_) +
      "; see them with planrun rejects " + ctx_.env.plan->version.text + " --step " +
      ctx_.env.decl->id + ", fix the hook or the data, then run planrun apply --retry-rejects");
}

Status DataRun::Finish() {
  PLANRUN_RETURN_IF_ERROR(CheckRejectLimit(true));
  cp_.done = true;
  PLANRUN_RETURN_IF_ERROR(InTransaction([&] { return store_.Save(cp_); }));
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const int64_t done_now = cp_.rows_read - rows_at_start_;
  char rate[64] = "";
  if (secs > 0 && done_now > 0) {
    std::snprintf(rate, sizeof rate, ", %.0f rows/s", static_cast<double>(done_now) / secs);
  }
  ctx_.out->Info(verb_ + " " + ctx_.env.decl->id + ": " + std::to_string(cp_.rows_read) +
                 " read, " + std::to_string(cp_.rows_written) + " written, " +
                 std::to_string(cp_.rows_skipped) + " skipped, " +
                 std::to_string(cp_.rows_rejected) + " rejected" + rate);
  return Status::OK();
}

Status DataRun::ForEachRejectChunk(
    const std::function<Status(const std::vector<Reject>& chunk)>& fn) {
  std::vector<Reject> all;
  PLANRUN_RETURN_IF_ERROR(store_.LoadRejects(&all));
  const size_t size = static_cast<size_t>(std::max<int64_t>(1, settings_.batch_size));
  for (size_t start = 0; start < all.size(); start += size) {
    const size_t end = std::min(all.size(), start + size);
    PLANRUN_RETURN_IF_ERROR(fn(std::vector<Reject>(all.begin() + start, all.begin() + end)));
  }
  return Status::OK();
}

void DataRun::Progress(std::optional<int64_t> total) {
  const auto now = std::chrono::steady_clock::now();
  if (now - last_progress_ < std::chrono::milliseconds(500)) return;
  last_progress_ = now;
  const double secs = std::chrono::duration<double>(now - start_).count();
  const double rate = secs > 0 ? static_cast<double>(cp_.rows_read - rows_at_start_) / secs : 0;
  std::string line = verb_ + " " + ctx_.env.decl->id + ": " + std::to_string(cp_.rows_read);
  if (total && *total > 0) {
    const int64_t left = std::max<int64_t>(0, *total - cp_.rows_read);
    line += "/~" + std::to_string(*total) + " rows (" +
            std::to_string(std::min<int64_t>(100, cp_.rows_read * 100 / *total)) + "%)";
    if (rate > 0) {
      line += ", ETA " + HumanDuration(static_cast<int64_t>(left / rate * 1000));
    }
  } else {
    line += " rows";
  }
  char r[48];
  std::snprintf(r, sizeof r, ", %.0f rows/s", rate);
  ctx_.out->Progress(line + r);
}

}  // namespace planrun
