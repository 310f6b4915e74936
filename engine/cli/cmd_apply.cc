#include "cli/commands.h"
#include "cli/context.h"
#include "run/apply.h"
#include "run/notify.h"

namespace planrun {

Status CmdApply(const Invocation& inv, Reporter& out) {
  std::vector<std::unique_ptr<Plan>> plans;
  PLANRUN_RETURN_IF_ERROR(LoadAllPlans(inv, &plans));
  RunEnv env = MakeRunEnv(inv, out, "apply");
  const RunSnapshot before = TakeRunSnapshot(plans, env);
  Status st = Apply(plans, inv.apply, env);
  NotifyAfterRun(plans, before, "apply", env);
  return st;
}

}  // namespace planrun
