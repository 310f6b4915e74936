// Lock faults: a step blocked by another session's lock hits lock_timeout,
// retries lock_retries times with backoff, then fails cleanly and resumes
// once the lock is gone; statement_timeout fails at once; data steps keep
// their committed batches and finish exactly once. Two planruns at once:
// exactly one works, the other exits 3 naming the holder; a SIGKILLed holder
// never blocks the next run, and neither does a lost lock session.
#include <catch2/catch.hpp>
#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "fault_process.h"
#include "fault_trial.h"
#include "support.h"

namespace planrun {
namespace testing {
namespace {

const char kItems[] =
    "CREATE TABLE items (id bigint PRIMARY KEY, v integer NOT NULL);"
    "INSERT INTO items SELECT i, i % 7 FROM generate_series(1, 1000) i;";

/// A session holding a lock until it is destroyed (or Release()d).
class Blocker {
 public:
  /// Opens a transaction on `conn` and runs `lock_sql` in it.
  Blocker(const std::string& conn, const std::string& lock_sql) : s_(Connect(conn)) {
    Status st = s_->Exec("BEGIN; " + lock_sql);
    INFO(st.message());
    REQUIRE(st.ok());
  }
  ~Blocker() {
    if (s_) s_->Exec("ROLLBACK");
  }
  /// Ends the transaction, and the lock with it.
  void Release() {
    REQUIRE(s_->Exec("ROLLBACK").ok());
    s_.reset();
  }

 private:
  std::unique_ptr<pg::Session> s_;
};

/// A plans directory holding `plan` as 001.yaml.
std::string PlanDir(const std::string& name, const std::string& plan) {
  const std::string dir = TempDir(name);
  WriteFile(dir + "/001.yaml", plan);
  return dir;
}

/// The one plan of `planrun status --json`.
nlohmann::json PlanStatus(const std::string& db, const std::string& dir) {
  CommandResult st = Planrun(db, {"--plans", dir, "status", "--json"});
  INFO(st.err);
  REQUIRE(st.exit_code == 0);
  return nlohmann::json::parse(st.out)["plans"][0];
}

/// Milliseconds `fn` took.
template <typename Fn>
int64_t TimeMs(Fn fn) {
  const auto start = std::chrono::steady_clock::now();
  fn();
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                               start)
      .count();
}

const char kDdlPlan[] = R"(version: 1
name: locky
defaults: {lock_timeout: 200ms, lock_retries: 2}
steps:
  - id: first
    sql: {up: CREATE TABLE side (id int), down: DROP TABLE side, writes: [side]}
  - id: widen
    add_columns: {table: items, columns: [{name: note, type: text}]}
)";

TEST_CASE("a step blocked by a table lock retries lock_retries times, fails cleanly, resumes") {
  const std::string db = "fault_lock_ddl";
  const std::string conn = FreshDatabase(db);
  ExecSql(conn, kItems);
  const std::string dir = PlanDir("planrun-fault-lock-ddl", kDdlPlan);
  Blocker blocker(conn, "LOCK TABLE items IN ACCESS EXCLUSIVE MODE");
  CommandResult failed;
  // Three tries of 200ms each, with 200ms and 400ms of backoff between.
  const int64_t took = TimeMs([&] { failed = Planrun(db, {"--plans", dir, "apply"}); });
  INFO(failed.err);
  CHECK(failed.exit_code == 1);
  CHECK(took >= 1200);
  CHECK(took < 10000);
  const std::string tail =
      "warn  step widen could not get a lock within lock_timeout; retry 1 of 2 in 200ms\n"
      "warn  step widen could not get a lock within lock_timeout; retry 2 of 2 in 400ms\n"
      "error: step 'widen' of plan 1 locky failed to apply: canceling statement due to lock "
      "timeout\n";
  REQUIRE(failed.err.size() > tail.size());
  CHECK(failed.err.substr(failed.err.size() - tail.size()) == tail);
  CHECK(failed.err.find("info  applied step first in ") != std::string::npos);
  nlohmann::json plan = PlanStatus(db, dir);
  CHECK(plan["state"] == "failed");
  CHECK(plan["steps_done"] == 1);
  CHECK(plan["steps"][0]["state"] == "applied");
  CHECK(plan["steps"][1]["state"] == "failed");
  CHECK(plan["steps"][1]["error"] == "canceling statement due to lock timeout");
  CHECK(plan["notes"] ==
        nlohmann::json::array({"failed: fix the cause, then run planrun apply to resume"}));
  CHECK(QueryValue(conn,
                   "SELECT count(*) FROM pg_attribute WHERE attrelid = 'items'::regclass "
                   "AND attname = 'note'") == "0");

  blocker.Release();
  CommandResult resumed = Planrun(db, {"--plans", dir, "apply"});
  INFO(resumed.err);
  CHECK(resumed.exit_code == 0);
  CHECK(resumed.err.find("info  resuming plan 1 locky: 1 of 2 steps already applied\n") == 0);
  CHECK(PlanStatus(db, dir)["state"] == "applied");
  CHECK(QueryValue(conn,
                   "SELECT count(*) FROM pg_attribute WHERE attrelid = 'items'::regclass "
                   "AND attname = 'note'") == "1");
}

TEST_CASE("statement_timeout fails a blocked step at once, without lock retries") {
  const std::string db = "fault_stmt_ddl";
  const std::string conn = FreshDatabase(db);
  ExecSql(conn, kItems);
  std::string plan = kDdlPlan;
  const std::string defaults = "{lock_timeout: 200ms, lock_retries: 2}";
  plan.replace(plan.find(defaults), defaults.size(), "{statement_timeout: 300ms, lock_retries: 2}");
  const std::string dir = PlanDir("planrun-fault-stmt-ddl", plan);
  Blocker blocker(conn, "LOCK TABLE items IN ACCESS EXCLUSIVE MODE");
  CommandResult failed;
  const int64_t took = TimeMs([&] { failed = Planrun(db, {"--plans", dir, "apply"}); });
  INFO(failed.err);
  CHECK(failed.exit_code == 1);
  CHECK(took >= 300);
  CHECK(failed.err.find("could not get a lock") == std::string::npos);  // no retries
  CHECK(failed.err.find("error: step 'widen' of plan 1 locky failed to apply: canceling "
                        "statement due to statement timeout\n") != std::string::npos);
  CHECK(PlanStatus(db, dir)["state"] == "failed");
  blocker.Release();
  CommandResult resumed = Planrun(db, {"--plans", dir, "apply"});
  INFO(resumed.err);
  CHECK(resumed.exit_code == 0);
  CHECK(PlanStatus(db, dir)["state"] == "applied");
}

/// A transform over items in batches of 100 with `settings`.
std::string TransformPlan(const std::string& settings) {
  return R"(version: 1
name: bump
steps:
  - id: bump
    transform:
      table: items
      key: id
      batch_size: 100
      set: {v: v + 10}
    )" + settings +
         "\n";
}

/// Blocks row 550 of items, runs the transform (expecting it to fail after
/// five batches), checks the partial state, releases the row and finishes.
void BlockedTransform(const std::string& db, const std::string& settings, const std::string& error,
                      bool retries) {
  const std::string conn = FreshDatabase(db);
  ExecSql(conn, kItems);
  const std::string before = QueryValue(conn, "SELECT sum(v) FROM items");
  const std::string dir = PlanDir("planrun-" + db, TransformPlan(settings));
  Blocker blocker(conn, "SELECT * FROM items WHERE id = 550 FOR UPDATE");
  CommandResult failed = Planrun(db, {"--plans", dir, "apply"});
  INFO(failed.err);
  CHECK(failed.exit_code == 1);
  CHECK(failed.err.find("error: step 'bump' of plan 1 bump failed to apply: " + error + "\n") !=
        std::string::npos);
  CHECK((failed.err.find("retry 1 of 1") != std::string::npos) == retries);
  // The five batches before row 550 are committed, each row changed once.
  nlohmann::json plan = PlanStatus(db, dir);
  CHECK(plan["state"] == "failed");
  CHECK(plan["steps"][0]["state"] == "failed");
  CHECK(plan["steps"][0]["rows_done"] == 500);
  CHECK(QueryValue(conn, "SELECT count(*) FROM items WHERE v >= 10") == "500");
  CHECK(QueryValue(conn, "SELECT max(id) FROM items WHERE v >= 10") == "500");
  CHECK(QueryValue(conn, "SELECT rows_read || '/' || last_key[1] FROM planrun.checkpoints") ==
        "500/500");

  blocker.Release();
  CommandResult resumed = Planrun(db, {"--plans", dir, "apply"});
  INFO(resumed.err);
  CHECK(resumed.exit_code == 0);
  CHECK(resumed.err.find("info  transform bump: resuming after batch 5 (500 rows done)\n") !=
        std::string::npos);
  CHECK(QueryValue(conn, "SELECT sum(v) FROM items") == std::to_string(std::stoll(before) + 10000));
  CHECK(QueryValue(conn, "SELECT count(*) FROM items WHERE v <> id % 7 + 10") == "0");
}

TEST_CASE("a data step blocked by a row lock keeps its batches, fails cleanly, finishes once") {
  SECTION("lock_timeout, retried") {
    BlockedTransform("fault_lock_rows", "lock_timeout: 200ms\n    lock_retries: 1",
                     "canceling statement due to lock timeout", true);
  }
  SECTION("statement_timeout, not retried") {
    BlockedTransform("fault_stmt_rows", "statement_timeout: 300ms",
                     "canceling statement due to statement timeout", false);
  }
}

const char kSlowPlan[] = R"(version: 1
name: slow
steps:
  - id: nap
    sql: {up: SELECT pg_sleep(2), down: SELECT pg_sleep(2)}
)";

/// Runs `first` in the background until it logs `started`, then `second`
/// with --lock-timeout 1, which must exit 3 naming `first`'s command.
void Race(const std::string& db, const std::string& dir, const std::string& first,
          const std::string& started, const std::string& second) {
  PlanrunProcess holder(db, {"--plans", dir, first});
  REQUIRE(holder.WaitForLine(started, std::chrono::seconds(30)));
  CommandResult loser = Planrun(db, {"--plans", dir, second, "--lock-timeout", "1"});
  INFO(loser.err);
  CHECK(loser.exit_code == 3);
  CHECK(loser.err.rfind("error: another planrun holds the migration lock for schema planrun: "
                        "planrun " +
                            first + " (",
                        0) == 0);
  CHECK(loser.err.find("pid " + std::to_string(holder.pid()) + ") (server pid ") !=
        std::string::npos);
  CHECK(loser.err.find("; waited 1.0s. Try again when it finishes, or raise --lock-timeout.\n") !=
        std::string::npos);
  INFO(holder.err());
  CHECK(holder.Wait() == 0);
}

TEST_CASE("apply racing rollback: exactly one works, the other exits 3 naming the holder") {
  const std::string db = "fault_race";
  const std::string conn = FreshDatabase(db);
  const std::string dir = PlanDir("planrun-fault-race", kSlowPlan);
  Race(db, dir, "apply", "applying plan 1 slow", "rollback");
  CHECK(PlanStatus(db, dir)["state"] == "applied");
  Race(db, dir, "rollback", "rolling back plan 1 slow", "apply");
  CHECK(PlanStatus(db, dir)["state"] == "rolled_back");
  CHECK(QueryValue(conn, "SELECT count(*) FROM planrun.step_runs WHERE state = 'applied'") == "2");
}

TEST_CASE("a SIGKILLed rollback never blocks the next run, which finishes it") {
  const std::string db = "fault_killed_rollback";
  const std::string conn = FreshDatabase(db);
  const std::string dir = PlanDir("planrun-fault-killed-rollback", kSlowPlan);
  REQUIRE(Planrun(db, {"--plans", dir, "apply"}).exit_code == 0);
  PlanrunProcess doomed(db, {"--plans", dir, "-v", "rollback"});
  REQUIRE(doomed.WaitForLine("reverting step nap", std::chrono::seconds(30)));
  REQUIRE(doomed.Kill());
  doomed.Wait();
  CommandResult next = Planrun(db, {"--plans", dir, "rollback", "--lock-timeout", "1"});
  INFO(next.err);
  CHECK(next.exit_code == 0);
  CHECK(PlanStatus(db, dir)["state"] == "rolled_back");
}

// The migration lock lives in the control session, which sits idle while
// steps run on worker sessions. The server must not end that session for
// being idle (idle_session_timeout), which would free the lock under a
// running plan.
TEST_CASE("an idle_session_timeout does not end the lock session and let a second run in") {
  const std::string db = "fault_lost_lock";
  const std::string conn = FreshDatabase(db);
  ExecSql(conn, "ALTER DATABASE fault_lost_lock SET idle_session_timeout = '300ms'");
  const std::string dir = PlanDir("planrun-fault-lost-lock", R"(version: 1
name: slow
steps:
  - id: nap
    sql: {up: CREATE TABLE naps AS SELECT pg_sleep(3)::text AS slept, down: DROP TABLE naps, writes: [naps]}
)");
  PlanrunProcess first(db, {"--plans", dir, "apply"});
  REQUIRE(first.WaitForLine("applying plan 1 slow", std::chrono::seconds(30)));
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  CommandResult second = Planrun(db, {"--plans", dir, "apply", "--lock-timeout", "1"});
  const int first_exit = first.Wait();
  INFO("first run:\n" << first.err() << "second run:\n" << second.err);
  CHECK(second.exit_code == 3);
  CHECK(first_exit == 0);
}

// When the lock session ends anyway (pg_terminate_backend, a dropped
// connection), another planrun may take the lock: the run stops before its
// step commits, says why, and a re-run finishes the plan.
TEST_CASE("a run whose lock session was terminated stops before committing") {
  const std::string db = "fault_terminated_lock";
  const std::string conn = FreshDatabase(db);
  const std::string dir = PlanDir("planrun-fault-terminated-lock", R"(version: 1
name: slow
steps:
  - id: nap
    sql: {up: CREATE TABLE naps AS SELECT pg_sleep(2)::text AS slept, down: DROP TABLE naps, writes: [naps]}
)");
  PlanrunProcess first(db, {"--plans", dir, "-v", "apply"});
  REQUIRE(first.WaitForLine("applying step nap", std::chrono::seconds(30)));
  CHECK(QueryValue(conn,
                   "SELECT count(pg_terminate_backend(pid)) FROM pg_locks WHERE locktype = "
                   "'advisory' AND granted AND database = (SELECT oid FROM pg_database WHERE "
                   "datname = current_database())") == "1");
  const int first_exit = first.Wait();
  INFO(first.err());
  CHECK(first_exit == 1);
  CHECK_THAT(first.err(),
             Catch::Contains("error: step 'nap' of plan 1 slow failed to apply: the migration lock "
                             "for schema planrun was lost: the session holding it (server pid "));
  CHECK_THAT(first.err(), Catch::Contains(") ended, so another planrun could start; stopped before "
                                          "committing. Run planrun status, then run the same "
                                          "command again to resume"));
  CHECK(QueryValue(conn, "SELECT count(*) FROM pg_tables WHERE tablename = 'naps'") == "0");
  CommandResult again = Planrun(db, {"--plans", dir, "apply"});
  INFO(again.err);
  CHECK(again.exit_code == 0);
  CHECK(QueryValue(conn, "SELECT count(*) FROM naps") == "1");
  CHECK(PlanStatus(db, dir)["state"] == "applied");
}

}  // namespace
}  // namespace testing
}  // namespace planrun
