#include "cli/commands.h"
#include "cli/context.h"
#include "run/rollback.h"

namespace planrun {

Status CmdRollback(const Invocation& inv, Reporter& out) {
  std::vector<std::unique_ptr<Plan>> plans;
  PLANRUN_RETURN_IF_ERROR(LoadAllPlans(inv, &plans));
  RunEnv env = MakeRunEnv(inv, out, "rollback");
  return Rollback(plans, inv.rollback, env);
}

}  // namespace planrun
