#include "cli/commands.h"
#include "cli/context.h"
#include "run/notify.h"
#include "run/rollback.h"

namespace planrun {

Status CmdRollback(const Invocation& inv, Reporter& out) {
  std::vector<std::unique_ptr<Plan>> plans;
  PLANRUN_RETURN_IF_ERROR(LoadAllPlans(inv, &plans));
  RunEnv env = MakeRunEnv(inv, out, "rollback");
  const RunSnapshot before = TakeRunSnapshot(plans, env);
  Status st = Rollback(plans, inv.rollback, env);
  NotifyAfterRun(plans, before, "rollback", env);
  return st;
}

}  // namespace planrun
