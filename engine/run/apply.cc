#include "run/apply.h"

#include <algorithm>
#include <cstdlib>
#include <map>
#include <set>
#include <thread>

#include "graph/graph.h"
#include "run/catalog.h"
#include "run/control.h"
#include "run/reconnect.h"
#include "run/rollback.h"
#include "run/scheduler.h"
#include "run/step_exec.h"
#include "util/sql.h"
#include "util/strings.h"

namespace planrun {

namespace {

bool IsDone(const MigrationRecord* m) { return m && m->state == "applied"; }

// Versions with unresolved rejects in their current attempt.
Status VersionsWithRejects(pg::Session& db, const std::string& schema, std::set<std::string>* out) {
  pg::Result r;
  PLANRUN_RETURN_IF_ERROR(
      db.Exec("SELECT DISTINCT r.version FROM " + QuoteIdent(schema) + ".rejects r JOIN " +
                  QuoteIdent(schema) +
                  ".schema_migrations m ON m.version = r.version AND m.attempt = r.attempt WHERE "
                  "r.resolved_at IS NULL",
              &r));
  for (size_t i = 0; i < r.rows.size(); ++i) out->insert(r.get(i, 0));
  return Status::OK();
}

// Resolves a connection's URL: "env:VAR" reads the variable.
Status ResolveConnection(const Plan& plan, const std::string& name, std::string* conninfo) {
  auto it = plan.connections.find(name);
  if (it == plan.connections.end()) {
    return Status::Invalid("plan " + plan.version.text + " has no connection '" + name + "'");
  }
  const std::string& url = it->second;
  if (StartsWith(url, "env:")) {
    const char* value = std::getenv(url.substr(4).c_str());
    if (value == nullptr || *value == '\0') {
      return Status::Failed("connection '" + name + "' of plan " + plan.version.text +
                            " reads the environment variable " + url.substr(4) +
                            ", which is not set; set it to the database URL");
    }
    *conninfo = value;
  } else {
    *conninfo = url;
  }
  return Status::OK();
}

std::string PlanLabel(const Plan& p) { return "plan " + p.version.text + " " + p.name; }

// Refusals that need no database change: drift, order, requires, state.
// `retrying`: plans whose rejects --retry-rejects runs again; their hooks are
// expected to have changed, so their drift is accepted.
Status CheckPlans(const std::vector<std::unique_ptr<Plan>>& plans,
                  const std::map<std::string, MigrationRecord>& applied,
                  const std::vector<const Plan*>& pending, const std::set<std::string>& retrying,
                  const ApplyOptions& options) {
  const Version* newest_applied = nullptr;
  for (const auto& p : plans) {
    auto it = applied.find(p->version.text);
    const MigrationRecord* m = it == applied.end() ? nullptr : &it->second;
    if (IsDone(m)) {
      newest_applied = &p->version;
      if (m->checksum != p->checksum && !options.allow_drift && !retrying.count(p->version.text)) {
        return Status::Refused(PlanLabel(*p) + " (" + p->source.path +
                               ") changed since it was applied at " + m->finished_at +
                               " (checksum " + m->checksum.substr(0, 12) + ", now " +
                               p->checksum.substr(0, 12) +
                               "); restore the file, or pass --allow-drift to go on anyway");
      }
    }
    if (m && m->state == "rolling_back") {
      return Status::Refused(PlanLabel(*p) +
                             " is half rolled back (a rollback was interrupted); run planrun "
                             "rollback to finish it before applying");
    }
  }
  std::set<std::string> will_apply;
  for (const Plan* p : pending) {
    auto it = applied.find(p->version.text);
    const bool resuming =
        it != applied.end() && (it->second.state == "failed" || it->second.state == "running");
    if (!resuming && newest_applied && p->version < *newest_applied &&
        !options.allow_out_of_order) {
      return Status::Refused(PlanLabel(*p) + " (" + p->source.path +
                             ") is older than the newest applied plan " + newest_applied->text +
                             "; pass --allow-out-of-order to apply it anyway");
    }
    for (const auto& [req, loc] : p->requires_versions) {
      auto r = applied.find(req.text);
      if ((r == applied.end() || r->second.state != "applied") && !will_apply.count(req.text)) {
        return Status::Refused(PlanLabel(*p) + " requires plan " + req.text +
                               ", which is not applied and not part of this apply; apply it "
                               "first");
      }
    }
    will_apply.insert(p->version.text);
  }
  return Status::OK();
}

// Runs one plan's steps, resuming after the steps its current attempt finished.
Status ApplyPlan(const Plan& plan, const std::vector<DeclaredFk>& fks, const ApplyOptions& options,
                 RunEnv& env, pg::Session& control) {
  Graph graph;
  PLANRUN_RETURN_IF_ERROR(BuildGraph(plan, plan.steps, fks, &graph));
  Tracker tracker(&control, env.names.tracking);
  int attempt = 0;
  PLANRUN_RETURN_IF_ERROR(tracker.StartPlan(plan, env.actor, &attempt));
  std::vector<StepRunRecord> runs;
  PLANRUN_RETURN_IF_ERROR(tracker.LoadStepRuns(plan.version.text, attempt, &runs));
  std::map<std::string, const StepRunRecord*> finished;
  for (const auto& r : runs) {
    if (r.phase == "up" && r.state == "applied") finished[r.step_id] = &r;
  }
  std::set<std::string> with_rejects;
  if (options.retry_rejects) {
    pg::Result r;
    PLANRUN_RETURN_IF_ERROR(
        control.Query("SELECT DISTINCT step_id FROM " + QuoteIdent(env.names.tracking) +
                          ".rejects WHERE version = $1 AND attempt = $2 AND resolved_at IS NULL",
                      {plan.version.text, std::to_string(attempt)}, &r));
    for (size_t i = 0; i < r.rows.size(); ++i) with_rejects.insert(r.get(i, 0));
  }
  std::set<int> done;
  for (size_t i = 0; i < graph.nodes.size(); ++i) {
    auto it = finished.find(graph.nodes[i]->id);
    if (it == finished.end() || with_rejects.count(graph.nodes[i]->id)) continue;
    // Rows that go through on a retry change what the plan's checks saw.
    if (!with_rejects.empty() && graph.nodes[i]->kind == "verify") continue;
    if (it->second->step_checksum != graph.nodes[i]->checksum && !options.allow_drift) {
      tracker.SetPlanState(plan.version.text, "failed", "refused: a finished step changed");
      return Status::Refused("step '" + graph.nodes[i]->id + "' of " + PlanLabel(plan) +
                             " already ran, but its definition changed since; restore it, or "
                             "pass --allow-drift to keep its earlier result");
    }
    done.insert(static_cast<int>(i));
  }
  if (!done.empty()) {
    env.out->Info("resuming " + PlanLabel(plan) + ": " + std::to_string(done.size()) + " of " +
                  std::to_string(graph.nodes.size()) + " steps already applied");
  } else {
    env.out->Info("applying " + PlanLabel(plan) + " (" + plan.source.path + ")");
  }
  NodeRunner run = [&](int i, pg::Session& session) {
    StepJob job;
    job.plan = &plan;
    job.decl = graph.nodes[i];
    job.attempt = attempt;
    job.phase = "up";
    job.transactional = job.decl->step->Transactional() && !job.decl->step->OwnsTransactions();
    job.dry_run = options.dry_run;
    DataRuntime data = MakeDataRuntime(plan, env, attempt, options, job.decl->id);
    job.data = &data;
    if (options.sample_rows > 0 && job.decl->kind == "verify") {
      env.out->Info("verify step " + job.decl->id +
                    " not checked: a dry run with --sample writes no rows to check");
      return Status::OK();
    }
    return ExecuteStep(session, env, job);
  };
  Status st = options.dry_run || options.jobs <= 1
                  ? (options.dry_run ? RunGraphSerially(graph, done, control, run)
                                     : RunGraph(graph, done, 1, env.sessions, env.AppName(), run))
                  : RunGraph(graph, done, options.jobs, env.sessions, env.AppName(), run);
  if (!st.ok()) {
    if (options.dry_run) return st;
    tracker.SetPlanState(plan.version.text, "failed", st.message());
    if (!plan.rollback_on_failure && !options.rollback_on_failure) return st;
    // Without the server or the lock there is nothing safe to undo with:
    // the failure stands and a later apply or rollback takes over.
    if (IsConnectionLoss(st)) {
      return st.WithMessage(st.message() + "\n" + PlanLabel(plan) +
                            " was not rolled back (on_failure: rollback): the connection or the "
                            "lock was lost; run planrun rollback once the server is back");
    }
    env.out->Warn(PlanLabel(plan) + " failed; on_failure: rollback: undoing it");
    Status rb = RollbackAfterFailure(plan, fks, options.jobs, st, env, control);
    if (!rb.ok()) {
      return st.WithMessage(st.message() + "\nthe automatic rollback of " + PlanLabel(plan) +
                            " failed too: " + rb.message());
    }
    return st.WithMessage(st.message() + "\n" + PlanLabel(plan) +
                          " was rolled back (on_failure: rollback): every step it applied is "
                          "undone. Fix the cause and run planrun apply again");
  }
  return tracker.SetPlanState(plan.version.text, "applied");
}

}  // namespace

DataRuntime MakeDataRuntime(const Plan& plan, const RunEnv& env, int attempt,
                            const ApplyOptions& options, const std::string& step_id) {
  DataRuntime data;
  data.open = [&plan, &env](const std::string& connection,
                            std::unique_ptr<pg::Session>* out) -> Status {
    if (connection.empty()) return env.sessions(env.AppName(), out);
    std::string conninfo;
    PLANRUN_RETURN_IF_ERROR(ResolveConnection(plan, connection, &conninfo));
    return env.connect(conninfo, env.AppName(), out).WithContext("connection '" + connection + "'");
  };
  data.attempt = attempt;
  data.retry_rejects = options.retry_rejects;
  data.restart = options.restart_steps.count(step_id) > 0;
  data.sample_rows = options.sample_rows;
  data.default_workers = std::max(1u, std::thread::hardware_concurrency());
  return data;
}

namespace {

// One apply on new connections.
Status ApplyOnce(const std::vector<std::unique_ptr<Plan>>& plans, const ApplyOptions& options,
                 RunEnv& env) {
  if (options.to) {
    bool found = false;
    for (const auto& p : plans) found = found || p->version == *options.to;
    if (!found) return Status::Invalid("--to " + options.to->text + ": no plan has that version");
  }
  // A plan whose steps cannot be ordered (a cycle, a `needs` against the
  // order reads and writes imply) fails before the database is touched.
  for (const auto& p : plans) {
    Graph graph;
    PLANRUN_RETURN_IF_ERROR(BuildGraph(*p, p->steps, {}, &graph));
  }
  ControlSession locked;
  PLANRUN_RETURN_IF_ERROR(locked.Open(&env, options.lock_timeout_ms));
  pg::Session* control = &locked.session();

  Tracker tracker(control, env.names.tracking);
  if (options.dry_run) PLANRUN_RETURN_IF_ERROR(control->Exec("BEGIN"));
  Status st = [&]() -> Status {
    PLANRUN_RETURN_IF_ERROR(tracker.Ensure(options.dry_run));
    std::map<std::string, MigrationRecord> applied;
    PLANRUN_RETURN_IF_ERROR(tracker.LoadMigrations(&applied));
    std::vector<const Plan*> pending, retry;
    for (const auto& p : plans) {
      if (options.to && *options.to < p->version) break;
      auto it = applied.find(p->version.text);
      if (it == applied.end() || it->second.state != "applied") {
        pending.push_back(p.get());
      } else if (options.retry_rejects) {
        retry.push_back(p.get());
      }
    }
    std::set<std::string> versions;
    if (options.retry_rejects) {
      PLANRUN_RETURN_IF_ERROR(VersionsWithRejects(*control, env.names.tracking, &versions));
    }
    PLANRUN_RETURN_IF_ERROR(CheckPlans(plans, applied, pending, versions, options));
    if (options.retry_rejects) {
      std::vector<const Plan*> keep;
      for (const Plan* p : retry) {
        if (versions.count(p->version.text)) keep.push_back(p);
      }
      pending.insert(pending.begin(), keep.begin(), keep.end());
      std::stable_sort(pending.begin(), pending.end(),
                       [](const Plan* a, const Plan* b) { return a->version < b->version; });
    }
    if (pending.empty()) {
      env.out->Info("nothing to apply: every plan is applied");
      return Status::OK();
    }
    std::vector<DeclaredFk> fks;
    PLANRUN_RETURN_IF_ERROR(LoadCatalogForeignKeys(*control, &fks));
    for (const Plan* p : pending)
      PLANRUN_RETURN_IF_ERROR(ApplyPlan(*p, fks, options, env, *control));
    env.out->Info(std::string(options.dry_run ? "dry run: would apply " : "applied ") +
                  std::to_string(pending.size()) + (pending.size() == 1 ? " plan" : " plans"));
    return Status::OK();
  }();
  if (options.dry_run) {
    Status rb = control->Exec("ROLLBACK");
    if (st.ok() && rb.ok()) env.out->Info("dry run: rolled back, nothing was changed");
    if (st.ok()) st = rb;
  }
  return st;
}

}  // namespace

Status Apply(const std::vector<std::unique_ptr<Plan>>& plans, const ApplyOptions& options,
             RunEnv& env) {
  return RunWithReconnect(options.retries, *env.out, "apply",
                          [&]() { return ApplyOnce(plans, options, env); });
}

}  // namespace planrun
