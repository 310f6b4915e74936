// Status: what every plan in the directory and in the database looks like
// now. Read-only: takes no lock and creates nothing.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "plan/plan.h"
#include "run/run_env.h"

namespace planrun {

/// One step of a plan as status shows it.
struct StepState {
  std::string id;
  std::string kind;
  std::string state;  // pending, running, applied, failed
  int64_t duration_ms = 0;
  int64_t rows_done = 0;
  std::string error;
};

/// One plan as status shows it.
struct PlanState {
  std::string version;
  std::string name;
  std::string file;   // empty when the plan is only in the database
  std::string state;  // pending, running, interrupted, applied, failed, rolling_back, rolled_back
  std::string applied_at;  // finished_at of the last apply
  int64_t duration_ms = 0;
  int attempt = 0;
  std::string applied_by;  // "role (os_user@host)"
  std::string error;
  bool drift = false;  // applied, but the file's checksum changed
  bool file_missing = false;
  bool out_of_order = false;  // pending and older than the newest applied plan
  int steps_total = 0;
  int steps_done = 0;
  std::vector<StepState> steps;
  std::vector<std::string> notes;  // what the user should know or do
};

/// The state of every plan in `plans` and in the database, sorted by version.
Status CollectStatus(const std::vector<std::unique_ptr<Plan>>& plans, RunEnv& env,
                     std::vector<PlanState>* out);

}  // namespace planrun
