// StepExec: runs one step (or one step's inverse) on one session, with the
// transaction, timeouts, lock-timeout retries and the step_runs row:
//
//   StepRunning (autocommit)
//   BEGIN; SET LOCAL lock_timeout/statement_timeout; <effect>; StepDone; COMMIT
//
// so a step's effect and its tracking row commit together. Steps that cannot
// run in a transaction run in autocommit and are recorded right after. Inside
// a dry run the caller's transaction is used and nothing commits.
#pragma once

#include <functional>
#include <string>

#include "plan/plan.h"
#include "run/run_env.h"

namespace planrun {

/// One unit of work for ExecuteStep.
struct StepJob {
  const Plan* plan = nullptr;
  const StepDecl* decl = nullptr;
  int attempt = 1;
  std::string phase = "up";  // "up" applies, "down" reverts
  bool transactional = true;
  bool dry_run = false;         // the session is inside the caller's transaction
  DataRuntime* data = nullptr;  // what data steps need; may be null for others
  /// The effect; by default decl->step->Apply (up) or Revert (down).
  std::function<Status(StepContext&)> effect;
};

/// Runs `job` on `session`; on failure records it and returns an error that
/// names the step and the plan.
Status ExecuteStep(pg::Session& session, const RunEnv& env, const StepJob& job);

}  // namespace planrun
