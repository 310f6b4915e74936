#include "track/lock.h"

#include <algorithm>
#include <chrono>
#include <thread>

#include "pg/session.h"
#include "util/strings.h"

namespace planrun {

namespace {

constexpr int64_t kPollMs = 100;

/// The session holding advisory lock (classid, objid, objsubid 1) in this
/// database, with what pg_stat_activity knows about it.
constexpr char kHolderSql[] =
    "SELECT a.application_name, a.pid, coalesce(host(a.client_addr), 'local'), "
    "to_char(a.backend_start AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') || '+00' "
    "FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
    "WHERE l.locktype = 'advisory' AND l.classid = $1::oid AND l.objid = $2::oid "
    "AND l.objsubid = 1 AND l.granted "
    "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
    "LIMIT 1";

/// Whether server process $3 holds advisory lock ($1, $2, 1) in this database.
constexpr char kHeldBySql[] =
    "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND classid = $1::oid "
    "AND objid = $2::oid AND objsubid = 1 AND granted AND pid = $3::int "
    "AND database = (SELECT oid FROM pg_database WHERE datname = current_database()))";

}  // namespace

MigrationLock::MigrationLock(pg::Session* session, std::string schema)
    : session_(session), schema_(std::move(schema)), key_(KeyFor(schema_)) {}

MigrationLock::~MigrationLock() {
  if (held_ && session_->IsOpen()) Release();
}

int64_t MigrationLock::KeyFor(const std::string& schema) {
  uint64_t hash = 14695981039346656037ull;
  for (unsigned char c : "planrun:" + schema) {
    hash ^= c;
    hash *= 1099511628211ull;
  }
  return static_cast<int64_t>(hash);
}

Status MigrationLock::Acquire(int64_t timeout_ms) {
  if (held_) return Status::OK();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  bool got = false;
  for (;;) {
    PLANRUN_RETURN_IF_ERROR(TryLock(&got));
    if (got) return Status::OK();
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    deadline - std::chrono::steady_clock::now())
                    .count();
    if (left <= 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(std::min(left, kPollMs)));
  }
  std::string holder;
  PLANRUN_RETURN_IF_ERROR(FindHolder(*session_, schema_, &holder));
  if (holder.empty()) {
    // The holder finished between the last try and the look-up.
    PLANRUN_RETURN_IF_ERROR(TryLock(&got));
    if (got) return Status::OK();
    holder = "a session that could not be identified";
  }
  return Status::LockTimeout("another planrun holds the migration lock for schema " + schema_ +
                             ": " + holder + "; waited " + HumanDuration(timeout_ms) +
                             ". Try again when it finishes, or raise --lock-timeout.");
}

Status MigrationLock::Release() {
  if (!held_) return Status::OK();
  held_ = false;
  pg::Result r;
  PLANRUN_RETURN_IF_ERROR(
      session_->Query("SELECT pg_advisory_unlock($1::bigint)", {std::to_string(key_)}, &r));
  if (r.get(0, 0) != "t") {
    return Status::Internal("the migration lock for schema " + schema_ +
                            " was not held by this session");
  }
  return Status::OK();
}

Status MigrationLock::TryLock(bool* got) {
  pg::Result r;
  PLANRUN_RETURN_IF_ERROR(
      session_->Query("SELECT pg_try_advisory_lock($1::bigint)", {std::to_string(key_)}, &r));
  *got = held_ = r.get(0, 0) == "t";
  return Status::OK();
}

Status MigrationLock::FindHolder(pg::Session& session, const std::string& schema,
                                 std::string* holder) {
  uint64_t key = static_cast<uint64_t>(KeyFor(schema));
  pg::Result r;
  PLANRUN_RETURN_IF_ERROR(session.Query(
      kHolderSql, {std::to_string(key >> 32), std::to_string(key & 0xffffffffu)}, &r));
  holder->clear();
  if (r.rows.empty()) return Status::OK();
  std::string name = r.get(0, 0);
  *holder = (name.empty() ? "an unnamed session" : name) + " (server pid " + r.get(0, 1) + ", " +
            r.get(0, 2);
  if (r.at(0, 3)) *holder += ", connected since " + *r.at(0, 3);
  *holder += ")";
  return Status::OK();
}

Status MigrationLock::CheckHeld(pg::Session& session, const std::string& schema, int holder_pid) {
  uint64_t key = static_cast<uint64_t>(KeyFor(schema));
  pg::Result r;
  PLANRUN_RETURN_IF_ERROR(session.Query(
      kHeldBySql,
      {std::to_string(key >> 32), std::to_string(key & 0xffffffffu), std::to_string(holder_pid)},
      &r));
  if (r.get(0, 0) == "t") return Status::OK();
  return Status::Failed(
      "the migration lock for schema " + schema + " was lost: the session holding it (server pid " +
          std::to_string(holder_pid) +
          ") ended, so another planrun could start; stopped before committing. Run planrun "
          "status, then run the same command again to resume",
      "08006");
}

}  // namespace planrun
