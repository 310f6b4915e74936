// What several commands share: loading the plans directory and building the
// RunEnv (sessions, schema names, actor) from the global options.
#pragma once

#include <memory>
#include <vector>

#include "cli/invocation.h"
#include "plan/plan.h"
#include "run/run_env.h"

namespace planrun {

/// Loads every plan under inv.global.plans_dir with the built-in step kinds.
Status LoadAllPlans(const Invocation& inv, std::vector<std::unique_ptr<Plan>>* out);

/// The RunEnv for `command` ("apply", "rollback", "status").
RunEnv MakeRunEnv(const Invocation& inv, Reporter& out, const std::string& command);

}  // namespace planrun
