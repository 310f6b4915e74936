#include "run/apply.h"

#include <map>
#include <set>

#include "graph/graph.h"
#include "run/catalog.h"
#include "run/scheduler.h"
#include "run/step_exec.h"
#include "track/lock.h"
#include "util/strings.h"

namespace planrun {

namespace {

bool IsDone(const MigrationRecord* m) { return m && m->state == "applied"; }

std::string PlanLabel(const Plan& p) { return "plan " + p.version.text + " " + p.name; }

// Refusals that need no database change: drift, order, requires, state.
Status CheckPlans(const std::vector<std::unique_ptr<Plan>>& plans,
                  const std::map<std::string, MigrationRecord>& applied,
                  const std::vector<const Plan*>& pending, const ApplyOptions& options) {
  const Version* newest_applied = nullptr;
  for (const auto& p : plans) {
    auto it = applied.find(p->version.text);
    const MigrationRecord* m = it == applied.end() ? nullptr : &it->second;
    if (IsDone(m)) {
      newest_applied = &p->version;
      if (m->checksum != p->checksum && !options.allow_drift) {
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
    const bool resuming = it != applied.end() &&
                          (it->second.state == "failed" || it->second.state == "running");
    if (!resuming && newest_applied && p->version < *newest_applied &&
        !options.allow_out_of_order) {
      return Status::Refused(PlanLabel(*p) + " (" + p->source.path +
                             ") is older than the newest applied plan " +
                             newest_applied->text +
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
  std::set<int> done;
  for (size_t i = 0; i < graph.nodes.size(); ++i) {
    auto it = finished.find(graph.nodes[i]->id);
    if (it == finished.end()) continue;
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
    job.transactional = job.decl->step->Transactional();
    job.dry_run = options.dry_run;
    return ExecuteStep(session, env, job);
  };
  Status st = options.dry_run || options.jobs <= 1
                  ? (options.dry_run ? RunGraphSerially(graph, done, control, run)
                                     : RunGraph(graph, done, 1, env.sessions, env.AppName(), run))
                  : RunGraph(graph, done, options.jobs, env.sessions, env.AppName(), run);
  if (!st.ok()) {
    if (!options.dry_run) tracker.SetPlanState(plan.version.text, "failed", st.message());
    return st;
  }
  return tracker.SetPlanState(plan.version.text, "applied");
}

}  // namespace

Status Apply(const std::vector<std::unique_ptr<Plan>>& plans, const ApplyOptions& options,
             RunEnv& env) {
  if (options.to) {
    bool found = false;
    for (const auto& p : plans) found = found || p->version == *options.to;
    if (!found) return Status::Invalid("--to " + options.to->text + ": no plan has that version");
  }
  std::unique_ptr<pg::Session> control;
  PLANRUN_RETURN_IF_ERROR(env.sessions(env.AppName(), &control));
  MigrationLock lock(control.get(), env.names.tracking);
  PLANRUN_RETURN_IF_ERROR(lock.Acquire(options.lock_timeout_ms));

  Tracker tracker(control.get(), env.names.tracking);
  if (options.dry_run) PLANRUN_RETURN_IF_ERROR(control->Exec("BEGIN"));
  Status st = [&]() -> Status {
    PLANRUN_RETURN_IF_ERROR(tracker.Ensure(options.dry_run));
    std::map<std::string, MigrationRecord> applied;
    PLANRUN_RETURN_IF_ERROR(tracker.LoadMigrations(&applied));
    std::vector<const Plan*> pending;
    for (const auto& p : plans) {
      if (options.to && *options.to < p->version) break;
      auto it = applied.find(p->version.text);
      if (it == applied.end() || it->second.state != "applied") pending.push_back(p.get());
    }
    PLANRUN_RETURN_IF_ERROR(CheckPlans(plans, applied, pending, options));
    if (pending.empty()) {
      env.out->Info("nothing to apply: every plan is applied");
      return Status::OK();
    }
    std::vector<DeclaredFk> fks;
    PLANRUN_RETURN_IF_ERROR(LoadCatalogForeignKeys(*control, &fks));
    for (const Plan* p : pending) PLANRUN_RETURN_IF_ERROR(ApplyPlan(*p, fks, options, env, *control));
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

}  // namespace planrun
