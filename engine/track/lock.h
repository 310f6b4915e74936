// MigrationLock: at most one planrun changes a database's migrations at a
// time. The lock is a PostgreSQL session-level advisory lock whose 64-bit key
// is derived from the tracking schema name, so runs against different
// tracking schemas (or different databases) do not exclude each other.
//
// Contract: the caller owns the pg::Session and gives one that outlives the
// lock; open it with an application_name that says who is running
// ("planrun apply (root@host pid 123)"): a run that times out names the
// holder by it. The lock lives exactly as long as that connection, so a
// killed or disconnected holder never leaves a stale lock; other statements
// may share the session (advisory locks ignore COMMIT and ROLLBACK). Not
// thread-safe.
#pragma once

#include <cstdint>
#include <string>

#include "util/status.h"

namespace planrun {

namespace pg {
class Session;
}

/// The migration lock for one tracking schema, held through one session.
class MigrationLock {
 public:
  /// REQUIRES: `session` outlives this object.
  MigrationLock(pg::Session* session, std::string schema);
  /// Releases the lock if it is still held (best effort).
  ~MigrationLock();
  MigrationLock(const MigrationLock&) = delete;
  MigrationLock& operator=(const MigrationLock&) = delete;

  /// Takes the lock, polling until `timeout_ms` has passed; then
  /// Status::LockTimeout naming the holder. OK at once when already held.
  Status Acquire(int64_t timeout_ms);

  /// Gives the lock back. OK when it was not held.
  Status Release();

  /// True between a successful Acquire and Release.
  bool held() const { return held_; }

  /// The advisory lock key for `schema`: FNV-1a (64-bit) of "planrun:" + schema.
  static int64_t KeyFor(const std::string& schema);

  /// Sets *holder to "<application_name> (server pid N, <client address or
  /// local>, connected since <UTC time>+00)" of the session holding the lock
  /// for `schema` in `session`'s database, or to "" when it is free. Does not
  /// take the lock.
  static Status FindHolder(pg::Session& session, const std::string& schema, std::string* holder);

  /// Checks through `session` (any session to the same database) that the
  /// lock for `schema` is still held by server process `holder_pid`; else
  /// Status::Failed with SQLSTATE 08006 (the lock's connection is gone).
  static Status CheckHeld(pg::Session& session, const std::string& schema, int holder_pid);

 private:
  /// Sets *got to whether pg_try_advisory_lock succeeded.
  Status TryLock(bool* got);

  pg::Session* session_;
  std::string schema_;
  int64_t key_;
  bool held_ = false;
};

}  // namespace planrun
