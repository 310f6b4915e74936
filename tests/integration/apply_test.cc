// planrun apply against a real PostgreSQL: resuming after a failed step,
// dry runs, the migration lock between two processes, order and requires,
// and that no password reaches any output.
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <thread>

#include "support.h"

namespace planrun {
namespace testing {
namespace {

const char kCounterPlan[] = R"(version: 1
name: counters
steps:
  - id: create
    sql:
      up: CREATE TABLE counters (id int PRIMARY KEY, n int NOT NULL)
      down: DROP TABLE counters
      writes: [counters]
  - id: fill
    sql:
      up: INSERT INTO counters SELECT i, i * 10 FROM generate_series(1, 5) i
      down: DELETE FROM counters
      writes: [counters]
  - id: check
    verify:
      reads: [counters]
      assertions:
        - name: sum of n
          sql: SELECT sum(n) FROM counters
          expect: EXPECTED
  - id: after
    sql:
      up: UPDATE counters SET n = n + 1
      down: UPDATE counters SET n = n - 1
      writes: [counters]
)";

std::string CounterPlan(const std::string& expected) {
  std::string text = kCounterPlan;
  text.replace(text.find("EXPECTED"), 8, expected);
  return text;
}

TEST_CASE("a failing verify stops the plan and a fixed rerun resumes at the failed step") {
  const std::string db = "apply_resume";
  const std::string conn = FreshDatabase(db);
  const std::string dir = TempDir("planrun-resume");
  WriteFile(dir + "/001_counters.yaml", CounterPlan("999"));

  CommandResult failed = Planrun(db, {"--plans", dir, "apply"});
  CHECK(failed.exit_code == 1);
  CHECK(failed.err.find("error: step 'check' of plan 1 counters failed to apply: verify step "
                        "'check' failed: 1 of 1 assertions") != std::string::npos);
  CHECK(failed.err.find("expected: 999") != std::string::npos);
  CHECK(failed.err.find("actual:   150") != std::string::npos);
  CHECK(QueryValue(conn, "SELECT state FROM planrun.schema_migrations") == "failed");
  CHECK(QueryValue(conn,
                   "SELECT string_agg(step_id || '=' || state, ',' ORDER BY step_id) FROM "
                   "planrun.step_runs") == "check=failed,create=applied,fill=applied");
  CHECK(QueryValue(conn, "SELECT sum(n) FROM counters") == "150");

  CommandResult status = Planrun(db, {"--plans", dir, "status"});
  CHECK(status.out.find("! failed: fix the cause, then run planrun apply to resume") !=
        std::string::npos);

  // Fix the assertion; create and fill must not run again (a second INSERT
  // would fail on the primary key).
  WriteFile(dir + "/001_counters.yaml", CounterPlan("150"));
  CommandResult fixed = Planrun(db, {"--plans", dir, "apply"});
  INFO(fixed.err);
  REQUIRE(fixed.exit_code == 0);
  CHECK(fixed.err.find("resuming plan 1 counters: 2 of 4 steps already applied") !=
        std::string::npos);
  CHECK(QueryValue(conn, "SELECT state FROM planrun.schema_migrations") == "applied");
  CHECK(QueryValue(conn, "SELECT sum(n) FROM counters") == "155");
}

TEST_CASE("--retry-rejects checks the plan's verify steps again") {
  const std::string db = "apply_retry_verify";
  const std::string conn = FreshDatabase(db);
  ExecSql(conn,
          "CREATE TABLE src (id int PRIMARY KEY, name text);"
          "INSERT INTO src VALUES (1, 'a'), (2, NULL), (3, 'c');");
  const std::string dir = TempDir("planrun-retry-verify");
  WriteFile(dir + "/001.yaml", R"(version: 1
name: names
steps:
  - id: make
    sql:
      up: CREATE TABLE dst (id int PRIMARY KEY, name text NOT NULL)
      down: DROP TABLE dst
      writes: [dst]
  - id: copy_names
    copy:
      from: {table: src, key: id, columns: [name]}
      to: {table: dst, columns: [id, name]}
      max_rejects: 1
      lua: |
        function transform(row)
          if row.name == nil then error("no name") end
          return {id = row.id, name = row.name}
        end
  - id: check
    verify:
      reads: [dst]
      assertions:
        - {name: fewer rows than the source, sql: SELECT count(*) < 3 FROM dst, expect: true}
)");
  CommandResult first = Planrun(db, {"--plans", dir, "apply"});
  INFO(first.err);
  REQUIRE(first.exit_code == 0);
  ExecSql(conn, "UPDATE src SET name = 'b' WHERE id = 2");
  // The retried row makes the check false: it must run again and say so.
  CommandResult retried = Planrun(db, {"--plans", dir, "apply", "--retry-rejects"});
  INFO(retried.err);
  CHECK(retried.exit_code == 1);
  CHECK_THAT(retried.err, Catch::Contains("error: step 'check' of plan 1 names failed to apply: "));
  CHECK_THAT(retried.err, Catch::Contains("fewer rows than the source"));
  CHECK(QueryValue(conn, "SELECT string_agg(name, ',' ORDER BY id) FROM dst") == "a,b,c");
}

// Independent data steps start at once on separate connections, and each
// creates the backup schema if it is missing: the slower one used to fail on
// pg_namespace's unique index.
TEST_CASE("data steps running at once both create the backup schema") {
  const std::string dir = TempDir("planrun-schema-race");
  std::string plan = "version: 1\nname: twins\nsteps:\n";
  for (const char* t : {"a", "b", "c", "d"}) {
    const std::string id = t;
    plan += "  - id: make_" + id + "\n    sql:\n      up: CREATE TABLE dst_" + id +
            " (id int PRIMARY KEY, n int NOT NULL)\n      down: DROP TABLE dst_" + id +
            "\n      writes: [dst_" + id + "]\n";
    plan += "  - id: copy_" + id + "\n    needs: [make_" + id +
            "]\n    copy:\n      from: {table: src, key: id, columns: [n]}\n      to: {table: "
            "dst_" +
            id + ", columns: [id, n]}\n      map: {id: id, n: n}\n";
  }
  WriteFile(dir + "/001.yaml", plan);
  for (int round = 0; round < 3; ++round) {
    INFO("round " << round);
    const std::string db = "apply_schema_race_" + std::to_string(round);
    const std::string conn = FreshDatabase(db);
    ExecSql(conn,
            "CREATE TABLE src (id int PRIMARY KEY, n int NOT NULL);"
            "INSERT INTO src SELECT i, i * 2 FROM generate_series(1, 50) i;");
    CommandResult r = Planrun(db, {"--plans", dir, "apply", "--jobs", "4"});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    for (const char* t : {"a", "b", "c", "d"}) {
      CHECK(QueryValue(conn, std::string("SELECT count(*) || ' ' || sum(n) FROM dst_") + t) ==
            "50 2550");
    }
  }
}

TEST_CASE("dry run rolls everything back and leaves nothing behind") {
  const std::string db = "apply_dry_run";
  const std::string conn = FreshDatabase(db);
  const std::string dir = TempDir("planrun-dry");
  WriteFile(dir + "/001_counters.yaml", CounterPlan("150"));
  const std::string before = SchemaDump(db);

  CommandResult dry = Planrun(db, {"--plans", dir, "apply", "--dry-run"});
  INFO(dry.err);
  REQUIRE(dry.exit_code == 0);
  CHECK(dry.err.find("dry run: rolled back, nothing was changed") != std::string::npos);
  CHECK(dry.err.find("step fill") != std::string::npos);
  CHECK(SchemaDump(db) == before);
  CHECK(QueryValue(conn, "SELECT to_regnamespace('planrun') IS NULL") == "t");

  // A dry run whose verify fails reports it (exit 1) and still leaves nothing.
  WriteFile(dir + "/001_counters.yaml", CounterPlan("1"));
  CommandResult bad = Planrun(db, {"--plans", dir, "apply", "--dry-run"});
  CHECK(bad.exit_code == 1);
  CHECK(SchemaDump(db) == before);
}

TEST_CASE("two concurrent applies: exactly one applies, the other exits 3 naming the holder") {
  const std::string db = "apply_lock";
  const std::string conn = FreshDatabase(db);
  const std::string dir = TempDir("planrun-lock");
  WriteFile(dir + "/001_slow.yaml", R"(version: 1
name: slow
steps:
  - id: sleep
    sql:
      up: CREATE TABLE slow AS SELECT pg_sleep(4)::text AS x
      down: DROP TABLE slow
      writes: [slow]
)");
  CommandResult first, second;
  std::thread a([&] { first = Planrun(db, {"--plans", dir, "apply"}); });
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  second = Planrun(db, {"--plans", dir, "apply", "--lock-timeout", "1"});
  a.join();
  INFO(first.err);
  CHECK(first.exit_code == 0);
  CHECK(second.exit_code == 3);
  CHECK(second.err.find("another planrun holds the migration lock for schema planrun: planrun "
                        "apply (") != std::string::npos);
  CHECK(second.err.find("; waited 1.0s. Try again when it finishes, or raise --lock-timeout.") !=
        std::string::npos);
  CHECK(QueryValue(conn,
                   "SELECT count(*) FROM planrun.schema_migrations WHERE state = "
                   "'applied'") == "1");
}

TEST_CASE("a SIGKILLed holder never blocks the next run") {
  const std::string db = "apply_killed_holder";
  const std::string conn = FreshDatabase(db);
  const std::string dir = TempDir("planrun-killed");
  WriteFile(dir + "/001_slow.yaml", R"(version: 1
name: slow
steps:
  - id: sleep
    sql:
      up: SELECT pg_sleep(30)
      down: SELECT 1
)");
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    setenv("PGDATABASE", db.c_str(), 1);
    int devnull = open("/dev/null", O_WRONLY);
    dup2(devnull, 1);
    dup2(devnull, 2);
    execl(PlanrunBinary().c_str(), "planrun", "--plans", dir.c_str(), "apply", nullptr);
    _exit(127);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  // The killed run's step is still marked running; the plan says interrupted.
  CommandResult status = Planrun(db, {"--plans", dir, "status"});
  CHECK(status.out.find("interrupted") != std::string::npos);
  // Replace the slow step and apply: the lock is free at once.
  WriteFile(dir + "/001_slow.yaml", R"(version: 1
name: slow
steps:
  - id: sleep
    sql:
      up: SELECT 1
      down: SELECT 1
)");
  CommandResult next = Planrun(db, {"--plans", dir, "apply", "--lock-timeout", "5"});
  INFO(next.err);
  CHECK(next.exit_code == 0);
  CHECK(QueryValue(conn, "SELECT state FROM planrun.schema_migrations") == "applied");
}

TEST_CASE("out-of-order and missing requires are refused with exit 4") {
  const std::string db = "apply_order";
  const std::string conn = FreshDatabase(db);
  const std::string dir = TempDir("planrun-order");
  auto plan = [](int v, const std::string& extra) {
    return "version: " + std::to_string(v) + "\nname: p" + std::to_string(v) + "\n" + extra +
           "steps:\n  - id: s\n    sql: {up: SELECT 1, down: SELECT 1}\n";
  };
  WriteFile(dir + "/002.yaml", plan(2, ""));
  REQUIRE(Planrun(db, {"--plans", dir, "apply"}).exit_code == 0);
  WriteFile(dir + "/001.yaml", plan(1, ""));
  CommandResult late = Planrun(db, {"--plans", dir, "apply"});
  CHECK(late.exit_code == 4);
  CHECK(late.err == "error: plan 1 p1 (" + dir +
                        "/001.yaml) is older than the newest applied plan 2; pass "
                        "--allow-out-of-order to apply it anyway\n");
  CHECK(Planrun(db, {"--plans", dir, "apply", "--allow-out-of-order"}).exit_code == 0);
}

const char kAutoRollbackPlan[] = R"yaml(version: 1
name: slugs
ON_FAILURE
steps:
  - id: save
    backup: {tables: [users]}
  - id: slug_column
    add_columns:
      table: users
      columns: [{name: slug, type: text}]
  - id: fill_slugs
    transform:
      table: users
      key: id
      set: {name: "upper(name)", slug: "lower(name) || '-' || id"}
      batch_size: 100
  - id: audit
    sql:
      up: CREATE TABLE audit (id int PRIMARY KEY)
      down: DOWN
      writes: [audit]
  - id: check
    needs: [fill_slugs, audit]
    verify:
      reads: [users]
      assertions:
        - name: every slug is unique
          sql: SELECT count(*) - count(DISTINCT slug) FROM users
          expect: EXPECTED
)yaml";

std::string AutoRollbackPlan(const std::string& on_failure, const std::string& expected,
                             const std::string& down = "DROP TABLE audit") {
  std::string text = kAutoRollbackPlan;
  text.replace(text.find("ON_FAILURE"), 10, on_failure);
  text.replace(text.find("DOWN"), 4, down);
  text.replace(text.find("EXPECTED"), 8, expected);
  return text;
}

std::string UsersChecksum(const std::string& conn) {
  return QueryValue(conn,
                    "SELECT count(*) || ' ' || md5(string_agg(u::text, ',' ORDER BY id)) FROM "
                    "users u");
}

TEST_CASE("on_failure: rollback undoes a failed plan, data included, and exits 1") {
  const std::string db = "apply_auto_rollback";
  const std::string conn = FreshDatabase(db);
  ExecSql(conn,
          "CREATE TABLE users (id int PRIMARY KEY, name text NOT NULL);"
          "INSERT INTO users SELECT i, 'User' || (i % 700) FROM generate_series(1, 1000) i");
  const std::string before = UsersChecksum(conn);
  const std::string dir = TempDir("planrun-auto-rollback");
  WriteFile(dir + "/001_slugs.yaml", AutoRollbackPlan("on_failure: rollback", "1"));

  CommandResult failed = Planrun(db, {"--plans", dir, "apply"});
  INFO(failed.err);
  CHECK(failed.exit_code == 1);
  CHECK(failed.err.find("warn  plan 1 slugs failed; on_failure: rollback: undoing it\n") !=
        std::string::npos);
  CHECK(failed.err.find("transform fill_slugs: restored 1000 rows") != std::string::npos);
  CHECK(failed.err.find("error: step 'check' of plan 1 slugs failed to apply: verify step "
                        "'check' failed: 1 of 1 assertions") != std::string::npos);
  CHECK(failed.err.find("\nplan 1 slugs was rolled back (on_failure: rollback): every step it "
                        "applied is undone. Fix the cause and run planrun apply again\n") !=
        std::string::npos);
  // The rows, the columns and the tables are as they were.
  CHECK(UsersChecksum(conn) == before);
  CHECK(QueryValue(conn,
                   "SELECT string_agg(column_name, ',' ORDER BY ordinal_position) FROM "
                   "information_schema.columns WHERE table_name = 'users'") == "id,name");
  CHECK(QueryValue(conn, "SELECT to_regclass('audit') IS NULL") == "t");
  CHECK(QueryValue(conn, "SELECT state || ': ' || error FROM planrun.schema_migrations") ==
        "rolled_back: apply failed and the plan was rolled back (on_failure: rollback): step "
        "'check' of plan 1 slugs failed to apply: verify step 'check' failed: 1 of 1 assertions\n"
        "  assertion 'every slug is unique' failed\n"
        "    query:    SELECT count(*) - count(DISTINCT slug) FROM users\n"
        "    expected: 1\n"
        "    actual:   0");
  CommandResult status = Planrun(db, {"--plans", dir, "status"});
  CHECK(status.out.find("1        slugs  rolled_back  0/5    -           -\n"
                        "  ! apply failed and the plan was rolled back (on_failure: rollback): "
                        "step 'check' of plan 1 slugs failed to apply: verify step 'check' "
                        "failed: 1 of 1 assertions\n") != std::string::npos);

  // Fixed, the plan applies from the start.
  WriteFile(dir + "/001_slugs.yaml", AutoRollbackPlan("on_failure: rollback", "0"));
  CommandResult fixed = Planrun(db, {"--plans", dir, "apply"});
  INFO(fixed.err);
  CHECK(fixed.exit_code == 0);
  CHECK(QueryValue(conn, "SELECT name || ' ' || slug FROM users WHERE id = 701") ==
        "USER1 user1-701");
}

TEST_CASE("apply --rollback-on-failure; a failing automatic rollback is reported and resumable") {
  const std::string db = "apply_auto_rollback_fails";
  const std::string conn = FreshDatabase(db);
  ExecSql(conn,
          "CREATE TABLE users (id int PRIMARY KEY, name text NOT NULL);"
          "INSERT INTO users SELECT i, 'User' || i FROM generate_series(1, 300) i");
  const std::string before = UsersChecksum(conn);
  const std::string dir = TempDir("planrun-auto-rollback-fails");
  // The plan does not ask for it: without the flag a failure stops the plan.
  WriteFile(dir + "/001_slugs.yaml",
            AutoRollbackPlan("on_failure: stop", "1", "DROP TABLE audit_typo"));
  CommandResult stopped = Planrun(db, {"--plans", dir, "apply"});
  CHECK(stopped.exit_code == 1);
  CHECK(QueryValue(conn, "SELECT state FROM planrun.schema_migrations") == "failed");
  CHECK(UsersChecksum(conn) != before);

  // The flag undoes the failed plan, but its audit step's `down` fails.
  CommandResult failed = Planrun(db, {"--plans", dir, "apply", "--rollback-on-failure"});
  INFO(failed.err);
  CHECK(failed.exit_code == 1);
  CHECK(failed.err.find("\nthe automatic rollback of plan 1 slugs failed too: rollback of plan 1 "
                        "slugs stopped; fix the cause and run planrun rollback again to finish "
                        "it: step 'audit' of plan 1 slugs failed to revert: ") !=
        std::string::npos);
  CHECK(failed.err.find("table \"audit_typo\" does not exist") != std::string::npos);
  CHECK(QueryValue(conn, "SELECT state FROM planrun.schema_migrations") == "rolling_back");

  // Once the inverse is fixed, planrun rollback finishes the job exactly.
  WriteFile(dir + "/001_slugs.yaml", AutoRollbackPlan("on_failure: stop", "1"));
  CommandResult finish = Planrun(db, {"--plans", dir, "rollback"});
  INFO(finish.err);
  CHECK(finish.exit_code == 0);
  CHECK(UsersChecksum(conn) == before);
  CHECK(QueryValue(conn, "SELECT to_regclass('audit') IS NULL") == "t");
}

TEST_CASE("no password appears in any output") {
  const std::string db = "apply_secrets";
  const std::string conn = FreshDatabase(db);
  // pg_virtualenv sets a real PGPASSWORD; elsewhere a made-up one (ignored by
  // trust authentication) must stay hidden just the same.
  const char* env_password = std::getenv("PGPASSWORD");
  const std::string password = env_password ? env_password : "pgpass-made-up-secret";
  const std::map<std::string, std::string> env = {{"PGPASSWORD", password}};
  const std::string dir = TempDir("planrun-secrets");
  WriteFile(dir + "/001_counters.yaml", CounterPlan("1"));
  std::vector<CommandResult> results = {
      Planrun(db, {"--plans", dir, "apply"}, env),
      Planrun(db, {"--plans", dir, "status", "--json"}, env),
      Planrun(db, {"--plans", dir, "--log-format", "json", "apply"}, env),
      Planrun(db,
              {"--plans", dir, "--db", "postgresql://planrun:s3cr3t-pw@127.0.0.1:1/x", "status"},
              env),
  };
  CHECK(results[0].exit_code == 1);
  CHECK(results[3].exit_code == 1);
  CHECK(results[3].err.find("cannot connect to PostgreSQL") != std::string::npos);
  for (const CommandResult& r : results) {
    CHECK(r.out.find("s3cr3t-pw") == std::string::npos);
    CHECK(r.err.find("s3cr3t-pw") == std::string::npos);
    CHECK(r.out.find(password) == std::string::npos);
    CHECK(r.err.find(password) == std::string::npos);
  }
}

}  // namespace
}  // namespace testing
}  // namespace planrun
