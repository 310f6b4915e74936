#include "run/rollback.h"

#include <algorithm>
#include <map>
#include <set>

#include "graph/graph.h"
#include "run/apply.h"
#include "run/catalog.h"
#include "run/control.h"
#include "run/reconnect.h"
#include "run/scheduler.h"
#include "run/step_exec.h"
#include "steps/backup_step.h"
#include "util/strings.h"

namespace planrun {

namespace {

std::string PlanLabel(const Plan& p) { return "plan " + p.version.text + " " + p.name; }

bool CanRollBack(const std::string& state) {
  return state == "applied" || state == "failed" || state == "running" || state == "rolling_back";
}

// The backup step that saves `table` and runs before step `node`, or null.
const StepDecl* CoveringBackup(const Graph& g, int node, const TableName& table) {
  std::vector<int> stack = g.preds[node];
  std::set<int> seen;
  const StepDecl* found = nullptr;
  while (!stack.empty()) {
    int i = stack.back();
    stack.pop_back();
    if (!seen.insert(i).second) continue;
    for (const TableName& t : g.nodes[i]->step->BackedUpTables()) {
      if (t == table && (!found || g.nodes[i]->loc.line < found->loc.line)) found = g.nodes[i];
    }
    stack.insert(stack.end(), g.preds[i].begin(), g.preds[i].end());
  }
  return found;
}

Status RollbackPlan(const Plan& plan, const MigrationRecord& record,
                    const std::vector<DeclaredFk>& fks, const RollbackOptions& options, RunEnv& env,
                    pg::Session& control) {
  Tracker tracker(&control, env.names.tracking);
  std::vector<StepRunRecord> runs;
  PLANRUN_RETURN_IF_ERROR(tracker.LoadStepRuns(record.version, record.attempt, &runs));
  // Steps to undo: those applied, and those that failed or were interrupted
  // after committing part of their work (data steps commit per batch; steps
  // outside a transaction may have run). Their inverses tolerate partial work.
  std::set<std::string> applied, reverted, partial;
  for (const auto& r : runs) {
    if (r.phase == "up") {
      (r.state == "applied" ? applied : partial).insert(r.step_id);
    } else if (r.state == "applied") {
      reverted.insert(r.step_id);
    }
  }
  for (const StepDecl& d : plan.steps) {
    if (partial.count(d.id) && (d.step->OwnsTransactions() || !d.step->Transactional())) {
      applied.insert(d.id);
    }
  }

  const std::vector<StepDecl>& section = plan.has_rollback ? plan.rollback : plan.steps;
  Graph forward;
  PLANRUN_RETURN_IF_ERROR(BuildGraph(plan, section, fks, &forward));
  Graph graph = plan.has_rollback ? forward : ReverseGraph(forward);
  std::set<int> done;
  std::map<int, std::function<Status(StepContext&)>> effects;
  bool has_backup = false;
  for (const StepDecl& d : plan.steps) has_backup = has_backup || !d.step->BackedUpTables().empty();
  for (size_t i = 0; i < graph.nodes.size(); ++i) {
    const StepDecl* d = graph.nodes[i];
    const bool skip = reverted.count(d->id) || (!plan.has_rollback && !applied.count(d->id));
    if (skip) {
      done.insert(static_cast<int>(i));
      continue;
    }
    if (plan.has_rollback) {
      effects[i] = [d](StepContext& ctx) { return d->step->Apply(ctx); };
      continue;
    }
    const int fwd = static_cast<int>(graph.nodes.size() - 1 - i);
    Reversibility rev = d->step->reversibility();
    if (rev == Reversibility::kNeedsBackup) {
      std::vector<std::pair<const StepDecl*, TableName>> restores;
      for (const TableName& t : d->step->Writes()) {
        const StepDecl* b = CoveringBackup(forward, fwd, t);
        if (!b) {
          return Status::Refused(PlanLabel(plan) + " cannot be rolled back: step '" + d->id +
                                 "' has no 'down' and no earlier backup step saves " + t.Display() +
                                 "; add a 'down' or a backup step");
        }
        restores.emplace_back(b, t);
      }
      effects[i] = [restores](StepContext& ctx) {
        for (const auto& [b, t] : restores) {
          PLANRUN_RETURN_IF_ERROR(RestoreTableFromBackup(ctx, *b, t));
          ctx.counters["tables_restored"]++;
        }
        return Status::OK();
      };
    } else if (rev == Reversibility::kIrreversible) {
      if (!options.restore_backups || !has_backup) {
        return Status::Refused(PlanLabel(plan) + " cannot be rolled back: step '" + d->id +
                               "' has no inverse (a sql step without 'down' or 'writes'); add "
                               "'down', or back up its tables and use --restore-backups");
      }
      env.out->Warn("step " + d->id + " has no inverse; relying on --restore-backups");
      effects[i] = [](StepContext&) { return Status::OK(); };
    } else if (options.restore_backups && !d->step->BackedUpTables().empty()) {
      effects[i] = [d](StepContext& ctx) {
        for (const TableName& t : d->step->BackedUpTables()) {
          PLANRUN_RETURN_IF_ERROR(RestoreTableFromBackup(ctx, *d, t));
          ctx.counters["tables_restored"]++;
        }
        return d->step->Revert(ctx);
      };
    } else {
      effects[i] = [d](StepContext& ctx) { return d->step->Revert(ctx); };
    }
  }

  PLANRUN_RETURN_IF_ERROR(tracker.SetPlanState(plan.version.text, "rolling_back"));
  env.out->Info("rolling back " + PlanLabel(plan) +
                (plan.has_rollback ? " with its rollback section" : ""));
  NodeRunner run = [&](int i, pg::Session& session) {
    StepJob job;
    job.plan = &plan;
    job.decl = graph.nodes[i];
    job.attempt = record.attempt;
    job.phase = "down";
    job.transactional =
        plan.has_rollback ? job.decl->step->Transactional() : job.decl->step->RevertTransactional();
    job.effect = effects[i];
    DataRuntime data = MakeDataRuntime(plan, env, record.attempt, ApplyOptions(), job.decl->id);
    job.data = &data;
    return ExecuteStep(session, env, job);
  };
  Status st = RunGraph(graph, done, options.jobs, env.sessions, env.AppName(), run);
  if (!st.ok()) {
    tracker.SetPlanState(plan.version.text, "rolling_back", st.message());
    return st.WithContext("rollback of " + PlanLabel(plan) +
                          " stopped; fix the cause and run planrun rollback again to finish it");
  }
  return tracker.SetPlanState(plan.version.text, "rolled_back");
}

}  // namespace

Status RollbackAfterFailure(const Plan& plan, const std::vector<DeclaredFk>& fks, int jobs,
                            const Status& failure, RunEnv& env, pg::Session& control) {
  Tracker tracker(&control, env.names.tracking);
  std::map<std::string, MigrationRecord> records;
  PLANRUN_RETURN_IF_ERROR(tracker.LoadMigrations(&records));
  auto it = records.find(plan.version.text);
  if (it == records.end()) return Status::Internal(PlanLabel(plan) + " is not recorded");
  RollbackOptions options;
  options.jobs = jobs;
  PLANRUN_RETURN_IF_ERROR(RollbackPlan(plan, it->second, fks, options, env, control));
  return tracker.SetPlanState(
      plan.version.text, "rolled_back",
      "apply failed and the plan was rolled back (on_failure: rollback): " + failure.message());
}

namespace {

// One rollback on new connections.
Status RollbackOnce(const std::vector<std::unique_ptr<Plan>>& plans, const RollbackOptions& options,
                    RunEnv& env) {
  ControlSession locked;
  PLANRUN_RETURN_IF_ERROR(locked.Open(&env, options.lock_timeout_ms));
  pg::Session* control = &locked.session();
  Tracker tracker(control, env.names.tracking);
  bool exists = false;
  PLANRUN_RETURN_IF_ERROR(tracker.Exists(&exists));
  if (!exists) return Status::Refused("nothing to roll back: no plan was ever applied here");
  PLANRUN_RETURN_IF_ERROR(tracker.Ensure());
  std::map<std::string, MigrationRecord> records;
  PLANRUN_RETURN_IF_ERROR(tracker.LoadMigrations(&records));

  // Recorded plans that can be rolled back, newest first.
  std::vector<std::pair<Version, const MigrationRecord*>> recorded;
  for (const auto& [text, record] : records) {
    Version v;
    if (CanRollBack(record.state) && Version::Parse(text, &v)) recorded.emplace_back(v, &record);
  }
  std::sort(recorded.begin(), recorded.end(),
            [](const auto& a, const auto& b) { return b.first < a.first; });
  std::vector<std::pair<const Plan*, const MigrationRecord*>> targets;
  for (const auto& [version, record] : recorded) {
    if (options.to && !(*options.to < version)) break;
    const Plan* plan = nullptr;
    for (const auto& p : plans) {
      if (p->version == version) plan = p.get();
    }
    if (!plan) {
      return Status::Refused("plan " + record->version + " " + record->name +
                             " is applied but its file " + record->plan_file +
                             " is missing; restore the file to roll it back");
    }
    targets.emplace_back(plan, record);
    if (!options.to) break;
  }
  if (targets.empty()) {
    return Status::Refused(options.to ? "nothing to roll back: no applied plan is newer than " +
                                            options.to->text
                                      : "nothing to roll back: no plan is applied");
  }
  std::vector<DeclaredFk> fks;
  PLANRUN_RETURN_IF_ERROR(LoadCatalogForeignKeys(*control, &fks));
  for (const auto& [plan, record] : targets) {
    PLANRUN_RETURN_IF_ERROR(RollbackPlan(*plan, *record, fks, options, env, *control));
  }
  env.out->Info("rolled back " + std::to_string(targets.size()) +
                (targets.size() == 1 ? " plan" : " plans"));
  return Status::OK();
}

}  // namespace

Status Rollback(const std::vector<std::unique_ptr<Plan>>& plans, const RollbackOptions& options,
                RunEnv& env) {
  return RunWithReconnect(options.retries, *env.out, "rollback",
                          [&]() { return RollbackOnce(plans, options, env); });
}

}  // namespace planrun
