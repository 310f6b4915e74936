// Apply: brings the database up to the plans in a directory. Takes the
// migration lock, creates or upgrades the tracking tables, checks drift, order
// and `requires`, then runs each pending plan's graph; a failed or interrupted
// plan resumes at its first unfinished step.
#pragma once

#include <memory>
#include <optional>
#include <vector>

#include "plan/plan.h"
#include "run/run_env.h"

namespace planrun {

/// Options of `planrun apply`.
struct ApplyOptions {
  std::optional<Version> to;      // apply plans up to and including this version
  bool dry_run = false;           // run in one transaction, then roll it back
  int jobs = 4;                   // concurrent steps (separate connections); 1: file order
  int64_t lock_timeout_ms = 10000;  // wait this long for another planrun's lock
  bool allow_drift = false;       // go on past applied plans whose files changed
  bool allow_out_of_order = false;  // apply plans older than the newest applied one
};

/// Applies `plans` (sorted by version, as LoadPlans returns them).
Status Apply(const std::vector<std::unique_ptr<Plan>>& plans, const ApplyOptions& options,
             RunEnv& env);

}  // namespace planrun
