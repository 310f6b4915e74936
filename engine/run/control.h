// The control session of apply and rollback: it holds the migration lock for
// the whole run and does the tracking, and every step checks before it
// commits that this session still holds the lock (RunEnv::check_lock).
#pragma once

#include <cstdint>
#include <memory>

#include "run/run_env.h"
#include "track/lock.h"

namespace planrun {

/// A session that holds the migration lock. Not thread-safe.
class ControlSession {
 public:
  ControlSession() = default;
  ControlSession(const ControlSession&) = delete;
  ControlSession& operator=(const ControlSession&) = delete;

  /// Opens the session, takes the lock (waiting up to `lock_timeout_ms`) and
  /// sets env->check_lock to check that this session still holds it.
  Status Open(RunEnv* env, int64_t lock_timeout_ms);

  /// REQUIRES: Open succeeded.
  pg::Session& session() { return *session_; }

 private:
  std::unique_ptr<pg::Session> session_;  // declared first: outlives the lock
  std::unique_ptr<MigrationLock> lock_;
};

}  // namespace planrun
