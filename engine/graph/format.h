// What `planrun plan` prints: one plan with its steps, the exact SQL each runs
// and undoes, the edges between steps with their reasons, and the rollback
// section. The output depends only on its inputs (no time, no database), so it
// reads well in a code-review diff. Pure functions; safe on any thread.
#pragma once

#include <string>

#include "graph/graph.h"
#include "plan/plan.h"

namespace planrun {

/// The output formats of `planrun plan --format`.
enum class PlanFormat { kText, kJson, kDot, kMermaid };

/// Renders one plan: header, steps with their exact SQL (Step::DescribeUp and
/// DescribeDown with `names`), edges with reasons, and the rollback section.
/// `rollback_graph` is the graph of plan.rollback, or nullptr when the plan
/// has no `rollback:` section. Text ends with a newline; so does JSON.
std::string FormatPlan(const Plan& plan, const Graph& steps_graph, const Graph* rollback_graph,
                       const SchemaNames& names, PlanFormat format);

}  // namespace planrun
