// Scheduler: runs the nodes of a Graph, each once, after all its
// predecessors, on up to `jobs` worker threads that each own one database
// session. With jobs == 1 (or a single given session) nodes run one at a time
// in Graph::Order(). After the first failure no new node starts; running ones
// finish, and the first error is returned.
#pragma once

#include <functional>
#include <set>

#include "graph/graph.h"
#include "pg/session.h"

namespace planrun {

/// Runs node `index` on `session`.
using NodeRunner = std::function<Status(int index, pg::Session& session)>;

/// Runs every node of `graph` not in `done`, respecting edges. `sessions`
/// opens one session per worker (named `app_name`); `jobs` >= 1.
Status RunGraph(const Graph& graph, const std::set<int>& done, int jobs,
                const pg::SessionFactory& sessions, const std::string& app_name,
                const NodeRunner& run);

/// Runs every node of `graph` not in `done` in Graph::Order() on `session`.
Status RunGraphSerially(const Graph& graph, const std::set<int>& done, pg::Session& session,
                        const NodeRunner& run);

/// `graph` with every edge turned around and node order reversed, so that
/// Order() yields reverse file order (for rollback). Node i of the result is
/// node (n-1-i) of `graph`.
Graph ReverseGraph(const Graph& graph);

}  // namespace planrun
