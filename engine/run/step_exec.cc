#include "run/step_exec.h"

#include <unistd.h>

#include <chrono>
#include <thread>

#include "util/strings.h"

namespace planrun {

namespace {

constexpr char kLockNotAvailable[] = "55P03";
// A deadlock: PostgreSQL cancelled this statement to break a lock cycle with
// another session (often a killed run's statement still finishing).
constexpr char kDeadlockDetected[] = "40P01";

// Two steps running at once that both CREATE ... IF NOT EXISTS the same
// schema or table (the backup schema, most often) can both miss it, and the
// slower one fails on the catalog's unique index; run again, it finds it.
bool IsCatalogRace(const Status& st) {
  return st.sqlstate() == "23505" &&
         (st.message().find("pg_namespace_nspname_index") != std::string::npos ||
          st.message().find("pg_type_typname_nsp_index") != std::string::npos ||
          st.message().find("pg_class_relname_nsp_index") != std::string::npos);
}

std::string TimeoutSettings(const Defaults& d, bool local) {
  const std::string set = local ? "SET LOCAL " : "SET ";
  std::string sql;
  if (d.lock_timeout_ms > 0)
    sql += set + "lock_timeout = '" + PgDuration(d.lock_timeout_ms) + "'; ";
  if (d.statement_timeout_ms > 0) {
    sql += set + "statement_timeout = '" + PgDuration(d.statement_timeout_ms) + "'; ";
  }
  return sql;
}

std::string Verb(const StepJob& job) { return job.phase == "up" ? "apply" : "revert"; }

using Effect = std::function<Status(StepContext&)>;

// One try of the effect and its tracking row.
Status TryOnce(pg::Session& session, const RunEnv& env, const StepJob& job, const Effect& effect,
               StepContext& ctx) {
  Tracker tracker(&session, env.names.tracking);
  const std::string& version = job.plan->version.text;
  const std::string& id = job.decl->id;
  if (job.dry_run) {
    std::string settings = TimeoutSettings(job.decl->settings, true);
    if (!settings.empty()) PLANRUN_RETURN_IF_ERROR(session.Exec(settings));
    PLANRUN_RETURN_IF_ERROR(effect(ctx));
    return tracker.StepDone(version, job.attempt, job.phase, id, ctx.counters);
  }
  if (!job.transactional) {
    std::string settings = TimeoutSettings(job.decl->settings, false);
    if (!settings.empty()) PLANRUN_RETURN_IF_ERROR(session.Exec(settings));
    Status st = effect(ctx);
    if (!settings.empty()) session.Exec("RESET lock_timeout; RESET statement_timeout");
    PLANRUN_RETURN_IF_ERROR(st);
    if (env.check_lock) PLANRUN_RETURN_IF_ERROR(env.check_lock(session));
    return tracker.StepDone(version, job.attempt, job.phase, id, ctx.counters);
  }
  PLANRUN_RETURN_IF_ERROR(session.Exec("BEGIN; " + TimeoutSettings(job.decl->settings, true)));
  Status st = effect(ctx);
  if (st.ok() && env.check_lock) st = env.check_lock(session);
  if (st.ok()) st = tracker.StepDone(version, job.attempt, job.phase, id, ctx.counters);
  if (st.ok()) st = session.Exec("COMMIT");
  if (!st.ok()) session.Exec("ROLLBACK");
  return st;
}

std::string CountersText(const std::map<std::string, int64_t>& counters) {
  std::vector<std::string> parts;
  for (const auto& [k, v] : counters) parts.push_back(k + "=" + std::to_string(v));
  return parts.empty() ? "" : " (" + Join(parts, ", ") + ")";
}

}  // namespace

Status ExecuteStep(pg::Session& session, const RunEnv& env, const StepJob& job) {
  Tracker tracker(&session, env.names.tracking);
  const std::string& version = job.plan->version.text;
  const std::string& id = job.decl->id;
  PLANRUN_RETURN_IF_ERROR(
      tracker.StepRunning(version, job.attempt, job.phase, id, job.decl->checksum));
  env.out->Debug(std::string(job.phase == "up" ? "applying" : "reverting") + " step " + id + " (" +
                 job.decl->kind + ")");
  const Effect effect = job.effect ? job.effect : [&job](StepContext& c) {
    return job.phase == "up" ? job.decl->step->Apply(c) : job.decl->step->Revert(c);
  };
  const auto start = std::chrono::steady_clock::now();
  Status st;
  StepContext ctx;
  for (int64_t try_no = 0;; ++try_no) {
    ctx = StepContext();
    ctx.db = &session;
    ctx.out = env.out;
    ctx.env = StepEnv{job.plan, job.decl, env.names};
    ctx.dry_run = job.dry_run;
    ctx.data = job.data;
    st = TryOnce(session, env, job, effect, ctx);
    const bool retry = !st.ok() &&
                       (st.sqlstate() == kLockNotAvailable || st.sqlstate() == kDeadlockDetected ||
                        IsCatalogRace(st)) &&
                       !job.dry_run && try_no < job.decl->settings.lock_retries;
    if (!retry) break;
    const int64_t backoff_ms = std::min<int64_t>(5000, 200LL << try_no);
    const std::string why = st.sqlstate() == kDeadlockDetected ? " was chosen to break a deadlock"
                            : IsCatalogRace(st)
                                ? " created a schema or table at the same time as another step"
                                : " could not get a lock within lock_timeout";
    env.out->Warn("step " + id + why + "; retry " + std::to_string(try_no + 1) + " of " +
                  std::to_string(job.decl->settings.lock_retries) + " in " +
                  HumanDuration(backoff_ms));
    std::this_thread::sleep_for(std::chrono::milliseconds(backoff_ms));
  }
  const int64_t ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::steady_clock::now() - start)
                         .count();
  if (!st.ok()) {
    if (!job.dry_run) tracker.StepFailed(version, job.attempt, job.phase, id, st.message());
    Status failed = st.code() == StatusCode::kDatabase || st.code() == StatusCode::kIo
                        ? Status::Failed(st.message(), st.sqlstate())
                        : st;
    return failed.WithContext("step '" + id + "' of plan " + version + " " + job.plan->name +
                              " failed to " + Verb(job));
  }
  env.out->Info(std::string(job.phase == "up" ? "applied" : "reverted") + " step " + id + " in " +
                HumanDuration(ms) + CountersText(ctx.counters));
  return Status::OK();
}

std::string RunEnv::AppName() const {
  return "planrun " + command + " (" + actor.os_user + "@" + actor.host + " pid " +
         std::to_string(getpid()) + ")";
}

}  // namespace planrun
