#include "graph/graph.h"

#include <algorithm>
#include <functional>
#include <map>
#include <queue>
#include <set>
#include <utility>

#include "util/strings.h"

namespace planrun {

namespace {

/// The tables one step touches, each once, as the step names them.
struct Touches {
  std::vector<TableName> reads;
  std::vector<TableName> writes;
  std::set<std::string> read_keys;
  std::set<std::string> write_keys;
};

void AddTable(const TableName& t, std::vector<TableName>* tables, std::set<std::string>* keys) {
  if (keys->insert(t.Key()).second) tables->push_back(t);
}

Touches TouchesOf(const Step& step) {
  Touches out;
  for (const TableName& t : step.Reads()) AddTable(t, &out.reads, &out.read_keys);
  for (const TableName& t : step.Writes()) AddTable(t, &out.writes, &out.write_keys);
  return out;
}

/// Tables each table references, keyed by TableName::Key() of the holder.
using FkMap = std::map<std::string, std::vector<TableName>>;

FkMap CollectForeignKeys(const std::vector<StepDecl>& steps,
                         const std::vector<DeclaredFk>& catalog_fks) {
  std::vector<DeclaredFk> all;
  for (const StepDecl& decl : steps) {
    std::vector<DeclaredFk> fks = decl.step->ForeignKeys();
    all.insert(all.end(), fks.begin(), fks.end());
  }
  all.insert(all.end(), catalog_fks.begin(), catalog_fks.end());
  FkMap out;
  for (const DeclaredFk& fk : all) {
    if (fk.from == fk.to) continue;  // ordered already by write-after-write
    std::vector<TableName>& refs = out[fk.from.Key()];
    if (std::find(refs.begin(), refs.end(), fk.to) == refs.end()) refs.push_back(fk.to);
  }
  return out;
}

/// Reasons per (to, from) pair, kept in the order the rules add them.
using ReasonMap = std::map<std::pair<int, int>, std::vector<std::string>>;

void AddReason(ReasonMap* reasons, int from, int to, std::string reason) {
  std::vector<std::string>& list = (*reasons)[{to, from}];
  if (std::find(list.begin(), list.end(), reason) == list.end()) list.push_back(std::move(reason));
}

/// Adds every edge into step `i`, rule by rule (see graph.h).
void AddEdgesInto(const std::vector<StepDecl>& steps, const std::map<std::string, int>& index,
                  const std::vector<Touches>& touches, const FkMap& fks,
                  const std::vector<int>& prev_barrier, int i, ReasonMap* reasons) {
  const std::string& id = steps[i].id;
  for (const auto& need : steps[i].needs) {
    AddReason(reasons, index.at(need.first), i, id + " needs " + need.first);
  }
  const Touches& mine = touches[i];
  for (int j = 0; j < i; ++j) {
    const Touches& theirs = touches[j];
    const std::string& other = steps[j].id;
    for (const TableName& t : mine.reads) {
      if (theirs.write_keys.count(t.Key())) {
        AddReason(reasons, j, i, id + " reads " + t.Display() + " written by " + other);
      }
    }
    for (const TableName& t : mine.writes) {
      if (theirs.write_keys.count(t.Key())) {
        AddReason(reasons, j, i, id + " writes " + t.Display() + " also written by " + other);
      }
    }
    for (const TableName& t : mine.writes) {
      if (theirs.read_keys.count(t.Key())) {
        AddReason(reasons, j, i, id + " writes " + t.Display() + " after " + other + " reads it");
      }
    }
    for (const TableName& t : mine.writes) {
      auto refs = fks.find(t.Key());
      if (refs == fks.end()) continue;
      for (const TableName& ref : refs->second) {
        if (!theirs.write_keys.count(ref.Key())) continue;
        AddReason(reasons, j, i,
                  id + " writes " + t.Display() + ", which references " + ref.Display() +
                      ", written by " + other);
      }
    }
  }
  // Steps before the previous barrier are ordered through it, so a barrier
  // waits for that barrier and what follows it, and a step waits only for
  // the barrier right before it.
  int prev = prev_barrier[i];
  if (steps[i].step->IsBarrier()) {
    for (int j = std::max(prev, 0); j < i; ++j) {
      AddReason(reasons, j, i, id + " is a barrier (runs after every earlier step)");
    }
  } else if (prev >= 0) {
    AddReason(reasons, prev, i, steps[prev].id + " is a barrier (runs before every later step)");
  }
}

/// Depth-first search over "waits for" links, in file order, that stops at
/// the first cycle.
class CycleFinder {
 public:
  explicit CycleFinder(const std::vector<std::vector<int>>& preds)
      : preds_(preds), state_(preds.size(), kNew) {}

  /// The first cycle, each step waiting for the next, starting at its
  /// earliest step; empty when there is none.
  std::vector<int> Find() {
    for (int v = 0; v < static_cast<int>(preds_.size()); ++v) {
      if (state_[v] == kNew && Visit(v)) break;
    }
    if (!cycle_.empty()) {
      std::rotate(cycle_.begin(), std::min_element(cycle_.begin(), cycle_.end()), cycle_.end());
    }
    return cycle_;
  }

 private:
  enum State { kNew, kOnPath, kDone };

  bool Visit(int v) {
    state_[v] = kOnPath;
    path_.push_back(v);
    for (int u : preds_[v]) {
      if (state_[u] == kOnPath) {
        cycle_.assign(std::find(path_.begin(), path_.end(), u), path_.end());
        return true;
      }
      if (state_[u] == kNew && Visit(u)) return true;
    }
    path_.pop_back();
    state_[v] = kDone;
    return false;
  }

  const std::vector<std::vector<int>>& preds_;
  std::vector<State> state_;
  std::vector<int> path_;
  std::vector<int> cycle_;
};

Status CycleError(const Plan& plan, const std::vector<StepDecl>& steps, const Graph& graph,
                  const std::vector<int>& cycle) {
  const StepDecl& first = steps[cycle[0]];
  const std::string& next = steps[cycle.size() > 1 ? cycle[1] : cycle[0]].id;
  // The earliest step of a cycle waits for a later one, which only `needs`
  // can ask for, so this entry exists.
  Loc loc = first.loc;
  for (const auto& need : first.needs) {
    if (need.first == next) {
      loc = need.second;
      break;
    }
  }
  std::vector<std::string> names;
  for (int v : cycle) names.push_back(steps[v].id);
  names.push_back(first.id);
  // A link the plan did not write as `needs` surprises; say where it comes from.
  std::vector<std::string> inferred;
  for (size_t k = 0; k < cycle.size(); ++k) {
    const int waiting = cycle[k], waited = cycle[(k + 1) % cycle.size()];
    for (const Edge& e : graph.edges) {
      if (e.to != waiting || e.from != waited) continue;
      if (!StartsWith(e.reason, steps[waiting].id + " needs ")) inferred.push_back(e.reason);
    }
  }
  std::string message = "dependency cycle: " + Join(names, " -> ");
  if (!inferred.empty()) {
    message += " (inferred: " + Join(inferred, "; ") +
               "); remove a 'needs' entry, or move the steps so the file order matches";
  }
  return PlanError(plan.source, loc, message);
}

/// "a", "a and b", "a, b and c".
std::string JoinAnd(const std::vector<std::string>& items) {
  if (items.size() < 2) return Join(items, "");
  std::vector<std::string> head(items.begin(), items.end() - 1);
  return Join(head, ", ") + " and " + items.back();
}

/// Keys of the tables saved by backup steps among the ancestors of `v`.
std::set<std::string> BackedUpBefore(const Graph& graph, int v) {
  std::set<std::string> keys;
  std::vector<bool> seen(graph.nodes.size(), false);
  std::vector<int> todo(graph.preds[v]);
  while (!todo.empty()) {
    int u = todo.back();
    todo.pop_back();
    if (seen[u]) continue;
    seen[u] = true;
    for (const TableName& t : graph.nodes[u]->step->BackedUpTables()) keys.insert(t.Key());
    todo.insert(todo.end(), graph.preds[u].begin(), graph.preds[u].end());
  }
  return keys;
}

}  // namespace

std::vector<int> Graph::Order() const {
  std::vector<size_t> waiting(nodes.size());
  std::priority_queue<int, std::vector<int>, std::greater<int>> ready;
  for (size_t i = 0; i < nodes.size(); ++i) {
    waiting[i] = preds[i].size();
    if (waiting[i] == 0) ready.push(static_cast<int>(i));
  }
  std::vector<int> order;
  while (!ready.empty()) {
    int v = ready.top();
    ready.pop();
    order.push_back(v);
    for (int s : succs[v]) {
      if (--waiting[s] == 0) ready.push(s);
    }
  }
  return order;
}

Status BuildGraph(const Plan& plan, const std::vector<StepDecl>& steps,
                  const std::vector<DeclaredFk>& catalog_fks, Graph* out) {
  std::map<std::string, int> index;
  for (size_t i = 0; i < steps.size(); ++i) index.emplace(steps[i].id, static_cast<int>(i));
  for (const StepDecl& decl : steps) {
    for (const auto& need : decl.needs) {
      if (!index.count(need.first)) {
        return PlanError(plan.source, need.second,
                         "step '" + decl.id + "' needs '" + need.first +
                             "', which is not a step of this section");
      }
    }
  }

  int n = static_cast<int>(steps.size());
  std::vector<Touches> touches;
  std::vector<int> prev_barrier(n, -1);
  for (int i = 0; i < n; ++i) {
    touches.push_back(TouchesOf(*steps[i].step));
    if (i > 0) prev_barrier[i] = steps[i - 1].step->IsBarrier() ? i - 1 : prev_barrier[i - 1];
  }
  FkMap fks = CollectForeignKeys(steps, catalog_fks);
  ReasonMap reasons;
  for (int i = 0; i < n; ++i) AddEdgesInto(steps, index, touches, fks, prev_barrier, i, &reasons);

  Graph graph;
  graph.preds.resize(n);
  graph.succs.resize(n);
  for (const StepDecl& decl : steps) graph.nodes.push_back(&decl);
  for (const auto& entry : reasons) {
    int to = entry.first.first;
    int from = entry.first.second;
    graph.edges.push_back(Edge{from, to, Join(entry.second, "; ")});
    graph.preds[to].push_back(from);
    graph.succs[from].push_back(to);
  }
  for (std::vector<int>& s : graph.succs) std::sort(s.begin(), s.end());

  std::vector<int> cycle = CycleFinder(graph.preds).Find();
  if (!cycle.empty()) return CycleError(plan, steps, graph, cycle);
  *out = std::move(graph);
  return Status::OK();
}

std::vector<std::string> IrreversibleReasons(const Plan& plan, const Graph& steps_graph) {
  std::vector<std::string> out;
  if (plan.has_rollback) return out;
  for (size_t i = 0; i < steps_graph.nodes.size(); ++i) {
    const StepDecl& decl = *steps_graph.nodes[i];
    std::string prefix = "step '" + decl.id + "': " + decl.kind;
    switch (decl.step->reversibility()) {
      case Reversibility::kReversible:
        break;
      case Reversibility::kIrreversible:
        out.push_back(prefix + " cannot be undone");
        break;
      case Reversibility::kNeedsBackup: {
        std::vector<TableName> writes = decl.step->Writes();
        if (writes.empty()) {
          out.push_back(prefix +
                        " without an inverse does not name the tables it writes, so no backup "
                        "can restore them");
          break;
        }
        std::set<std::string> saved = BackedUpBefore(steps_graph, static_cast<int>(i));
        std::vector<std::string> missing;
        for (const TableName& t : writes) {
          // Inserting marks the table as reported, so a repeated one shows once.
          if (saved.insert(t.Key()).second) missing.push_back(t.Display());
        }
        if (!missing.empty()) {
          out.push_back(prefix + " without an inverse writes " + JoinAnd(missing) +
                        ", which no earlier backup step saves");
        }
        break;
      }
    }
  }
  return out;
}

}  // namespace planrun
