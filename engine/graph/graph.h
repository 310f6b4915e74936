// Graph: a plan's steps as a DAG. Edges come from explicit `needs:` and are
// inferred from what steps read and write, in file order:
//   - a step that reads or writes T waits for earlier steps that write T;
//   - a step that writes T waits for earlier steps that read T (so a backup
//     of T finishes before T changes);
//   - a step that writes T, where T has a foreign key to U, waits for earlier
//     steps that write U (foreign keys from the plan and, when connected,
//     from the database catalog);
//   - a barrier step (sql without reads/writes, verify without reads) waits
//     for every earlier step, and every later step waits for it.
// Every edge keeps its reason, shown by `planrun plan`. Built once, then
// read-only.
#pragma once

#include <string>
#include <vector>

#include "plan/plan.h"

namespace planrun {

/// `from` must finish before `to` starts; indexes into Graph::nodes.
struct Edge {
  int from = 0;
  int to = 0;
  std::string reason;  // e.g. "new_columns writes packages after backup reads it"
};

/// The steps of one plan section and their edges.
struct Graph {
  std::vector<const StepDecl*> nodes;  // in file order
  std::vector<Edge> edges;  // sorted by (to, from); one per pair, reasons merged with "; "
  std::vector<std::vector<int>> preds;  // preds[i]: nodes i waits for
  std::vector<std::vector<int>> succs;  // succs[i]: nodes waiting for i

  /// A topological order that prefers file order (what --jobs 1 runs).
  std::vector<int> Order() const;
};

/// Builds the graph of `steps` (a plan's `steps:` or `rollback:`).
/// `catalog_fks` are foreign keys known from the database (may be empty).
/// Errors: a `needs` naming no step in `steps`, a step needing itself, and
/// cycles: "dependency cycle: a -> b -> a" located at the first step's
/// `needs` entry.
Status BuildGraph(const Plan& plan, const std::vector<StepDecl>& steps,
                  const std::vector<DeclaredFk>& catalog_fks, Graph* out);

/// Why rollback could not undo `plan` (empty when it can), one line per step:
/// "step 'fill': sql without an inverse writes packages, which no earlier
/// backup step saves". A plan with a `rollback:` section is always reversible;
/// otherwise a kIrreversible step makes it irreversible, and a kNeedsBackup
/// step needs every table it writes saved by a backup step among its
/// ancestors in `steps_graph` (the graph of plan.steps).
std::vector<std::string> IrreversibleReasons(const Plan& plan, const Graph& steps_graph);

}  // namespace planrun
