// Rollback: undoes applied plans, newest first. For each plan it runs the
// explicit `rollback:` section when the plan has one, else the inverse of
// every step its current attempt applied, in reverse dependency order; a
// `sql` step without `down` is undone by restoring the tables it writes from
// the plan's backup step. An interrupted rollback resumes where it stopped.
#pragma once

#include <memory>
#include <optional>
#include <vector>

#include "plan/plan.h"
#include "run/run_env.h"

namespace planrun {

/// Options of `planrun rollback`.
struct RollbackOptions {
  std::optional<Version> to;     // roll back every plan newer than this; default: the newest one
  bool restore_backups = false;  // also restore every backed-up table wholesale
  int jobs = 4;
  int64_t lock_timeout_ms = 10000;
  int retries = 0;  // reconnect and resume this many times after losing the server
};

/// Rolls back plans recorded in the database; `plans` are the files.
Status Rollback(const std::vector<std::unique_ptr<Plan>>& plans, const RollbackOptions& options,
                RunEnv& env);

/// Within apply, holding the lock on `control`: rolls back `plan`, whose
/// apply just failed with `failure`, and records that failure on the
/// rolled-back plan. Returns the rollback's own error when it fails.
Status RollbackAfterFailure(const Plan& plan, const std::vector<DeclaredFk>& fks, int jobs,
                            const Status& failure, RunEnv& env, pg::Session& control);

}  // namespace planrun
