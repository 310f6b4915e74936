// What every command that changes the database shares: how to open sessions,
// where output goes, the schema names and who is running.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "pg/session.h"
#include "report/reporter.h"
#include "steps/step.h"
#include "track/tracker.h"

namespace planrun {

/// The outside world of a run, injected so tests can replace any part.
struct RunEnv {
  pg::SessionFactory sessions;  // one session per worker, plus one for lock and tracking
  /// Opens a session to another database (a plan's `connections:` entry).
  std::function<Status(const std::string& conninfo, const std::string& application_name,
                       std::unique_ptr<pg::Session>* out)>
      connect;
  Reporter* out = nullptr;
  SchemaNames names;
  Actor actor;
  std::string command = "apply";  // for application_name: "planrun apply (root@host pid 12)"
  /// Checks, through the given session, that this run still holds the
  /// migration lock; called before a step commits. Empty: no check.
  std::function<Status(pg::Session&)> check_lock;

  /// The application_name planrun's sessions show in pg_stat_activity.
  std::string AppName() const;
};

}  // namespace planrun
