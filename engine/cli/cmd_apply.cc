#include "cli/commands.h"
#include "cli/context.h"
#include "run/apply.h"

namespace planrun {

Status CmdApply(const Invocation& inv, Reporter& out) {
  std::vector<std::unique_ptr<Plan>> plans;
  PLANRUN_RETURN_IF_ERROR(LoadAllPlans(inv, &plans));
  RunEnv env = MakeRunEnv(inv, out, "apply");
  return Apply(plans, inv.apply, env);
}

}  // namespace planrun
