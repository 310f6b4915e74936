#include "run/scheduler.h"

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

namespace planrun {

Status RunGraphSerially(const Graph& graph, const std::set<int>& done, pg::Session& session,
                        const NodeRunner& run) {
  for (int i : graph.Order()) {
    if (done.count(i)) continue;
    PLANRUN_RETURN_IF_ERROR(run(i, session));
  }
  return Status::OK();
}

Status RunGraph(const Graph& graph, const std::set<int>& done, int jobs,
                const pg::SessionFactory& sessions, const std::string& app_name,
                const NodeRunner& run) {
  const int n = static_cast<int>(graph.nodes.size());
  std::vector<int> waiting(n, 0);
  std::set<int> ready;
  int remaining = 0;
  for (int i = 0; i < n; ++i) {
    if (done.count(i)) continue;
    ++remaining;
    for (int p : graph.preds[i]) {
      if (!done.count(p)) ++waiting[i];
    }
    if (waiting[i] == 0) ready.insert(i);
  }
  if (remaining == 0) return Status::OK();
  if (jobs <= 1) {
    std::unique_ptr<pg::Session> session;
    PLANRUN_RETURN_IF_ERROR(sessions(app_name, &session));
    return RunGraphSerially(graph, done, *session, run);
  }

  std::mutex mu;
  std::condition_variable cv;
  Status first_error;
  auto worker = [&]() {
    std::unique_ptr<pg::Session> session;
    Status opened = sessions(app_name, &session);
    std::unique_lock<std::mutex> lock(mu);
    if (!opened.ok()) {
      if (first_error.ok()) first_error = opened;
      cv.notify_all();
      return;
    }
    for (;;) {
      cv.wait(lock, [&] { return !first_error.ok() || remaining == 0 || !ready.empty(); });
      if (!first_error.ok() || remaining == 0) return;
      int node = *ready.begin();
      ready.erase(ready.begin());
      lock.unlock();
      Status st = run(node, *session);
      lock.lock();
      --remaining;
      if (!st.ok()) {
        if (first_error.ok()) first_error = st;
      } else {
        for (int s : graph.succs[node]) {
          if (--waiting[s] == 0) ready.insert(s);
        }
      }
      cv.notify_all();
    }
  };
  std::vector<std::thread> threads;
  const int workers = std::min(jobs, remaining);
  for (int i = 0; i < workers; ++i) threads.emplace_back(worker);
  for (auto& t : threads) t.join();
  return first_error;
}

Graph ReverseGraph(const Graph& graph) {
  const int n = static_cast<int>(graph.nodes.size());
  auto flip = [n](int i) { return n - 1 - i; };
  Graph out;
  out.nodes.assign(graph.nodes.rbegin(), graph.nodes.rend());
  out.preds.assign(n, {});
  out.succs.assign(n, {});
  for (const Edge& e : graph.edges) {
    Edge r{flip(e.to), flip(e.from), e.reason};
    out.edges.push_back(r);
    out.preds[r.to].push_back(r.from);
    out.succs[r.from].push_back(r.to);
  }
  for (int i = 0; i < n; ++i) {
    std::sort(out.preds[i].begin(), out.preds[i].end());
    std::sort(out.succs[i].begin(), out.succs[i].end());
  }
  std::sort(out.edges.begin(), out.edges.end(), [](const Edge& a, const Edge& b) {
    return a.to != b.to ? a.to < b.to : a.from < b.from;
  });
  return out;
}

}  // namespace planrun
