#include "cli/commands.h"
#include "cli/context.h"
#include "graph/format.h"
#include "graph/graph.h"

namespace planrun {

Status CmdPlan(const Invocation& inv, Reporter& out) {
  std::vector<std::unique_ptr<Plan>> plans;
  PLANRUN_RETURN_IF_ERROR(LoadAllPlans(inv, &plans));
  SchemaNames names;
  names.tracking = inv.global.schema;
  names.backup = inv.global.schema + "_backup";
  std::vector<std::string> blocks;
  for (const auto& p : plans) {
    if (!inv.plan_version.empty() && p->version.text != inv.plan_version) continue;
    Graph graph, rollback;
    PLANRUN_RETURN_IF_ERROR(BuildGraph(*p, p->steps, {}, &graph));
    if (p->has_rollback) PLANRUN_RETURN_IF_ERROR(BuildGraph(*p, p->rollback, {}, &rollback));
    blocks.push_back(
        FormatPlan(*p, graph, p->has_rollback ? &rollback : nullptr, names, inv.plan_format));
  }
  if (blocks.empty()) {
    return Status::Invalid(inv.plan_version.empty() ? "no plans in " + inv.global.plans_dir
                                                    : "no plan has version " + inv.plan_version +
                                                          " in " + inv.global.plans_dir);
  }
  if (inv.plan_format == PlanFormat::kJson && inv.plan_version.empty()) {
    // Several JSON documents: print one array so the output stays one document.
    std::string joined = "[\n";
    for (size_t i = 0; i < blocks.size(); ++i) {
      std::string b = blocks[i];
      while (!b.empty() && b.back() == '\n') b.pop_back();
      joined += b + (i + 1 < blocks.size() ? ",\n" : "\n");
    }
    out.Out(joined + "]");
    return Status::OK();
  }
  for (size_t i = 0; i < blocks.size(); ++i) {
    std::string b = blocks[i];
    if (!b.empty() && b.back() == '\n') b.pop_back();
    out.Out(i + 1 < blocks.size() && inv.plan_format == PlanFormat::kText ? b + "\n" : b);
  }
  return Status::OK();
}

}  // namespace planrun
