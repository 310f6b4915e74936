// Apply: brings the database up to the plans in a directory. Takes the
// migration lock, creates or upgrades the tracking tables, checks drift, order
// and `requires`, then runs each pending plan's graph; a failed or interrupted
// plan resumes at its first unfinished step.
#pragma once

#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "plan/plan.h"
#include "run/run_env.h"

namespace planrun {

/// Options of `planrun apply`.
struct ApplyOptions {
  std::optional<Version> to;        // apply plans up to and including this version
  bool dry_run = false;             // run in one transaction, then roll it back
  int jobs = 4;                     // concurrent steps (separate connections); 1: file order
  int64_t lock_timeout_ms = 10000;  // wait this long for another planrun's lock
  bool allow_drift = false;         // go on past applied plans whose files changed
  bool allow_out_of_order = false;  // apply plans older than the newest applied one
  bool retry_rejects = false;       // run rows in planrun.rejects through the (fixed) hooks again
  std::set<std::string> restart_steps;  // data steps to undo and start over (changed since)
  int64_t sample_rows = 0;           // with dry_run: hooks over the first N rows, nothing written
  int retries = 0;                   // reconnect and resume this many times after losing the server
  bool rollback_on_failure = false;  // every plan as if it said `on_failure: rollback`
};

/// A DataRuntime for steps of `plan`: sessions to the target and to the
/// plan's connections (resolving "env:VAR" URLs), and the run's flags.
DataRuntime MakeDataRuntime(const Plan& plan, const RunEnv& env, int attempt,
                            const ApplyOptions& options, const std::string& step_id);

/// Applies `plans` (sorted by version, as LoadPlans returns them).
Status Apply(const std::vector<std::unique_ptr<Plan>>& plans, const ApplyOptions& options,
             RunEnv& env);

}  // namespace planrun
