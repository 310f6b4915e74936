#include "cli/commands.h"
#include "cli/context.h"
#include "graph/graph.h"

namespace planrun {

Status CmdValidate(const Invocation& inv, Reporter& out) {
  std::vector<std::unique_ptr<Plan>> plans;
  PLANRUN_RETURN_IF_ERROR(LoadAllPlans(inv, &plans));
  size_t steps = 0;
  for (const auto& p : plans) {
    Graph graph;
    PLANRUN_RETURN_IF_ERROR(BuildGraph(*p, p->steps, {}, &graph));
    if (p->has_rollback) {
      Graph rollback;
      PLANRUN_RETURN_IF_ERROR(BuildGraph(*p, p->rollback, {}, &rollback));
    } else {
      for (const std::string& reason : IrreversibleReasons(*p, graph)) {
        out.Warn("plan " + p->version.text + " " + p->name + " (" + p->source.path +
                 ") cannot be rolled back: " + reason);
      }
    }
    steps += p->steps.size();
  }
  out.Out("ok: " + std::to_string(plans.size()) + (plans.size() == 1 ? " plan, " : " plans, ") +
          std::to_string(steps) + (steps == 1 ? " step" : " steps") + " in " +
          inv.global.plans_dir);
  return Status::OK();
}

}  // namespace planrun
