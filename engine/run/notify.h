// Notifications: after `planrun apply` or `planrun rollback`, each plan the
// run moved (its schema_migrations row changed) and that declares `notify:`
// webhooks gets a JSON POST per matching webhook:
//
//   {"command": "apply", "plan": "images", "version": "1", "state": "applied",
//    "outcome": "success", "duration_ms": 812, "error": "",
//    "steps": [{"id": "copy", "state": "applied", "counters": {"rows": 5}}]}
//
// Sent through net::Client with retries. A webhook that fails is logged as a
// warning and never changes the outcome of the run. Not thread-safe.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "plan/plan.h"
#include "run/run_env.h"
#include "track/tracker.h"

namespace planrun {

/// The schema_migrations rows before a run, to see which plans it moved.
struct RunSnapshot {
  std::map<std::string, MigrationRecord> migrations;
};

/// Reads the tracking tables when a plan in `plans` has webhooks (empty when
/// none has, or the tables do not exist or cannot be read).
RunSnapshot TakeRunSnapshot(const std::vector<std::unique_ptr<Plan>>& plans, RunEnv& env);

/// The JSON body for one plan's record and its steps' runs.
std::string NotificationBody(const std::string& command, const MigrationRecord& record,
                             const std::vector<StepRunRecord>& steps);

/// Posts to the webhooks of every plan in `plans` whose record changed since
/// `before`. Failures are logged, never returned.
void NotifyAfterRun(const std::vector<std::unique_ptr<Plan>>& plans, const RunSnapshot& before,
                    const std::string& command, RunEnv& env);

}  // namespace planrun
