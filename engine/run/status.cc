#include "run/status.h"

#include <algorithm>
#include <map>

#include "track/lock.h"

namespace planrun {

namespace {

// A step's state: its up run's, or, once a rollback reverted or began to
// revert it, "reverted", "reverting" or "revert failed".
std::string StepStateOf(const StepRunRecord& up, const StepRunRecord* down) {
  if (down == nullptr) return up.state;
  if (down->state == "applied") return "reverted";
  if (down->state == "running") return "reverting";
  return "revert " + down->state;
}

void AddSteps(const Plan* plan, const std::vector<StepRunRecord>& runs, PlanState* ps) {
  std::map<std::string, const StepRunRecord*> up, down;
  for (const auto& r : runs) {
    if (r.phase == "up") up[r.step_id] = &r;
    if (r.phase == "down") down[r.step_id] = &r;
  }
  auto down_of = [&down](const std::string& id) -> const StepRunRecord* {
    auto it = down.find(id);
    return it == down.end() ? nullptr : it->second;
  };
  if (!plan) {
    for (const auto& [id, r] : up) {
      const StepRunRecord* d = down_of(id);
      ps->steps.push_back({id, "", StepStateOf(*r, d), r->duration_ms, r->rows_done,
                           d && !d->error.empty() ? d->error : r->error});
    }
  } else {
    for (const StepDecl& d : plan->steps) {
      StepState s{d.id, d.kind, "pending", 0, 0, ""};
      auto it = up.find(d.id);
      if (it != up.end()) {
        const StepRunRecord* rev = down_of(d.id);
        s.state = StepStateOf(*it->second, rev);
        s.duration_ms = it->second->duration_ms;
        s.rows_done = it->second->rows_done;
        s.error = rev && !rev->error.empty() ? rev->error : it->second->error;
      }
      ps->steps.push_back(s);
    }
  }
  ps->steps_total = static_cast<int>(ps->steps.size());
  ps->steps_done = static_cast<int>(std::count_if(
      ps->steps.begin(), ps->steps.end(), [](const StepState& s) { return s.state == "applied"; }));
}

}  // namespace

Status CollectStatus(const std::vector<std::unique_ptr<Plan>>& plans, RunEnv& env,
                     std::vector<PlanState>* out) {
  std::unique_ptr<pg::Session> session;
  PLANRUN_RETURN_IF_ERROR(env.sessions(env.AppName(), &session));
  Tracker tracker(session.get(), env.names.tracking);
  bool exists = false;
  PLANRUN_RETURN_IF_ERROR(tracker.Exists(&exists));
  std::map<std::string, MigrationRecord> records;
  if (exists) PLANRUN_RETURN_IF_ERROR(tracker.LoadMigrations(&records));
  std::string holder;
  if (exists)
    PLANRUN_RETURN_IF_ERROR(MigrationLock::FindHolder(*session, env.names.tracking, &holder));
  const bool lock_held = !holder.empty();

  std::vector<std::pair<Version, PlanState>> all;
  std::map<std::string, bool> seen;
  for (const auto& p : plans) {
    PlanState ps;
    ps.version = p->version.text;
    ps.name = p->name;
    ps.file = p->source.path;
    ps.state = "pending";
    auto it = records.find(p->version.text);
    std::vector<StepRunRecord> runs;
    if (it != records.end()) {
      const MigrationRecord& m = it->second;
      seen[m.version] = true;
      ps.state = m.state;
      ps.attempt = m.attempt;
      ps.applied_at = m.finished_at;
      ps.duration_ms = m.duration_ms;
      ps.applied_by = m.applied_by_role + " (" + m.applied_by_user + "@" + m.applied_by_host + ")";
      ps.error = m.error;
      ps.drift = m.state == "applied" && m.checksum != p->checksum;
      if (m.state != "rolled_back") {
        PLANRUN_RETURN_IF_ERROR(tracker.LoadStepRuns(m.version, m.attempt, &runs));
      }
    }
    AddSteps(p.get(), runs, &ps);
    all.emplace_back(p->version, ps);
  }
  for (const auto& [version, m] : records) {
    if (seen.count(version)) continue;
    PlanState ps;
    ps.version = m.version;
    ps.name = m.name;
    ps.state = m.state;
    ps.attempt = m.attempt;
    ps.applied_at = m.finished_at;
    ps.duration_ms = m.duration_ms;
    ps.applied_by = m.applied_by_role + " (" + m.applied_by_user + "@" + m.applied_by_host + ")";
    ps.error = m.error;
    ps.file_missing = true;
    std::vector<StepRunRecord> runs;
    PLANRUN_RETURN_IF_ERROR(tracker.LoadStepRuns(m.version, m.attempt, &runs));
    AddSteps(nullptr, runs, &ps);
    Version v;
    Version::Parse(m.version, &v);
    all.emplace_back(v, ps);
  }
  std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.first < b.first; });

  const Version* newest_applied = nullptr;
  for (const auto& [v, ps] : all) {
    if (ps.state == "applied") newest_applied = &v;
  }
  out->clear();
  for (auto& [v, ps] : all) {
    if ((ps.state == "running" || ps.state == "rolling_back") && !lock_held) {
      if (ps.state == "running") ps.state = "interrupted";
      ps.notes.push_back(ps.state == "interrupted"
                             ? "interrupted: the run applying it ended without recording how "
                               "(killed, or it lost its connection); run planrun apply to "
                               "resume it after its last commit"
                             : "rollback interrupted: the run rolling it back ended without "
                               "recording how; run planrun rollback to finish it");
    }
    if (ps.state == "failed")
      ps.notes.push_back("failed: fix the cause, then run planrun apply to resume");
    if (ps.state == "rolled_back" && !ps.error.empty()) {
      // on_failure: rollback undid it; the first line names the step and why.
      ps.notes.push_back(ps.error.substr(0, ps.error.find('\n')));
    }
    if (ps.drift) ps.notes.push_back("file changed since it was applied (drift)");
    if (ps.file_missing) ps.notes.push_back("no plan file for this version in the plans directory");
    if ((ps.state == "pending" || ps.state == "rolled_back") && newest_applied &&
        v < *newest_applied) {
      ps.out_of_order = true;
      ps.notes.push_back("older than the newest applied plan (apply needs --allow-out-of-order)");
    }
    out->push_back(std::move(ps));
  }
  return Status::OK();
}

}  // namespace planrun
