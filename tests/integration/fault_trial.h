// What the fault tests share about a database under test: copying it from a
// template, waiting for a killed run's server sessions to end, the step
// windows of a run read from its stderr, and where a fault landed.
// Header-only (integration tests link only their own file and support.cc).
#pragma once

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "fault_process.h"
#include "support.h"

namespace planrun {
namespace testing {

/// planrun's own schemas, left out of every comparison.
inline const std::vector<std::string> kOwnSchemas = {"planrun", "planrun_backup"};

/// kOwnSchemas and the temporary schemas of `conn`: a session's temporary
/// tables are not part of the database, and a server crash leaves them behind
/// until their schema is reused.
inline std::vector<std::string> SkippedSchemas(const std::string& conn) {
  std::vector<std::string> skip = kOwnSchemas;
  auto s = Connect(conn);
  pg::Result r;
  REQUIRE(s->Exec("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'pg\\_temp\\_%' OR "
                  "nspname LIKE 'pg\\_toast\\_temp\\_%' ORDER BY 1",
                  &r)
              .ok());
  for (size_t i = 0; i < r.rows.size(); ++i) skip.push_back(r.get(i, 0));
  return skip;
}

/// The integer in environment variable `name`, or `fallback` when unset.
inline int64_t EnvInt(const char* name, int64_t fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::strtoll(v, nullptr, 10) : fallback;
}

/// Recreates database `name` as a copy of `template_db` (which must have no sessions).
inline void CloneDatabase(const std::string& name, const std::string& template_db) {
  auto admin = Connect("dbname=postgres");
  Status st = admin->Exec("DROP DATABASE IF EXISTS \"" + name + "\" WITH (FORCE)");
  INFO(st.message());
  REQUIRE(st.ok());
  st = admin->Exec("CREATE DATABASE \"" + name + "\" TEMPLATE \"" + template_db +
                   "\" STRATEGY FILE_COPY");
  INFO(st.message());
  REQUIRE(st.ok());
}

/// Every row of `sql` on `conninfo`, NULL as "<null>".
inline std::vector<std::vector<std::string>> Rows(const std::string& conninfo,
                                                  const std::string& sql) {
  auto s = Connect(conninfo);
  pg::Result r;
  Status st = s->Exec(sql, &r);
  INFO(sql << ": " << st.message());
  REQUIRE(st.ok());
  std::vector<std::vector<std::string>> out;
  for (size_t i = 0; i < r.rows.size(); ++i) {
    out.emplace_back();
    for (size_t c = 0; c < r.rows[i].size(); ++c) out.back().push_back(r.get(i, c, "<null>"));
  }
  return out;
}

/// Waits until no session is connected to database `db` (a killed run's
/// backends first finish the statement they are in); returns the wait in ms.
inline int64_t WaitForSessionsToEnd(const std::string& db) {
  auto s = Connect("dbname=postgres");
  const auto start = std::chrono::steady_clock::now();
  for (;;) {
    pg::Result r;
    REQUIRE(s->Query("SELECT count(*) FROM pg_stat_activity WHERE datname = $1", {db}, &r).ok());
    const int64_t ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::steady_clock::now() - start)
                           .count();
    if (r.get(0, 0) == "0") return ms;
    INFO("sessions still connected to " << db << " after " << ms << "ms");
    REQUIRE(ms < 120000);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

/// The sum of the row counts in TableChecksums() output.
inline int64_t RowsIn(const std::string& checksums) {
  int64_t rows = 0;
  size_t pos = 0;
  while (pos < checksums.size()) {
    size_t end = checksums.find('\n', pos);
    const std::string line = checksums.substr(pos, end - pos);
    const size_t a = line.find(' ');
    if (a != std::string::npos) rows += std::strtoll(line.c_str() + a + 1, nullptr, 10);
    pos = end == std::string::npos ? checksums.size() : end + 1;
  }
  return rows;
}

/// When a step ran, in ms after its process started.
struct StepWindow {
  int64_t start_ms = -1;
  int64_t end_ms = -1;
};

/// The steps a run logged with -v: "debug applying step ID (kind)" ...
/// "info  applied step ID in ..." (or reverting/reverted for rollback), and
/// the arrival of each "hook ...: batch N" line of the first worker.
struct Timeline {
  std::map<std::string, StepWindow> steps;
  std::vector<int64_t> batch_ms;  // [n-1]: when batch n was first logged
  int64_t total_ms = 0;

  /// How long step `id` ran, 0 when it did not finish.
  int64_t Duration(const std::string& id) const {
    auto it = steps.find(id);
    return it == steps.end() || it->second.end_ms < 0 ? 0 : it->second.end_ms - it->second.start_ms;
  }
};

/// The id in "<prefix>ID ..." of `line`, or "" when the line is not one.
inline std::string StepIdAfter(const std::string& line, const std::string& prefix) {
  const size_t at = line.find(prefix);
  if (at == std::string::npos) return "";
  const size_t from = at + prefix.size();
  return line.substr(from, line.find(' ', from) - from);
}

/// Reads a finished run's stderr into a Timeline; `verb` is "apply" or "revert".
inline Timeline ReadTimeline(const std::vector<TimedLine>& lines, const std::string& verb,
                             const std::string& hook_step, int64_t total_ms) {
  const std::string starting = verb == "apply" ? "applying step " : "reverting step ";
  const std::string done = verb == "apply" ? "applied step " : "reverted step ";
  Timeline t;
  t.total_ms = total_ms;
  for (const TimedLine& l : lines) {
    if (std::string id = StepIdAfter(l.text, starting); !id.empty()) t.steps[id].start_ms = l.ms;
    if (std::string id = StepIdAfter(l.text, done); !id.empty()) t.steps[id].end_ms = l.ms;
    const std::string batch = "hook " + hook_step + ": batch ";
    if (size_t at = l.text.find(batch); at != std::string::npos) {
      const size_t n = std::strtoull(l.text.c_str() + at + batch.size(), nullptr, 10);
      if (n > t.batch_ms.size()) t.batch_ms.resize(n, l.ms);
    }
  }
  return t;
}

/// Where a kill landed, from the lines a run of `steps_total` steps wrote
/// before it died: "before the first step", "between steps", "after the last
/// step", or the phases of the steps in progress ("copy", "index
/// build+transform"...).
inline std::string LandedPhase(const std::vector<TimedLine>& lines, const std::string& verb,
                               const std::map<std::string, std::string>& phase_of_step,
                               size_t steps_total) {
  const std::string starting = verb == "apply" ? "applying step " : "reverting step ";
  const std::string done = verb == "apply" ? "applied step " : "reverted step ";
  std::set<std::string> running, finished;
  for (const TimedLine& l : lines) {
    if (std::string id = StepIdAfter(l.text, starting); !id.empty()) running.insert(id);
    if (std::string id = StepIdAfter(l.text, done); !id.empty()) {
      running.erase(id);
      finished.insert(id);
    }
  }
  if (finished.size() >= steps_total) return "after the last step";
  if (running.empty()) return finished.empty() ? "before the first step" : "between steps";
  std::set<std::string> phases;
  for (const std::string& id : running) {
    auto it = phase_of_step.find(id);
    phases.insert(it == phase_of_step.end() ? id : it->second);
  }
  std::string out;
  for (const std::string& p : phases) out += (out.empty() ? "" : "+") + p;
  return out;
}

}  // namespace testing
}  // namespace planrun
