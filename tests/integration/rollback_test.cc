// planrun rollback against a real PostgreSQL: restores from backups, refuses
// plans it cannot undo, runs explicit rollback sections; and --jobs runs
// independent steps at once.
#include <catch2/catch.hpp>

#include "support.h"

namespace planrun {
namespace testing {
namespace {

const char kSetup[] =
    "CREATE TABLE accounts (id int PRIMARY KEY, balance numeric NOT NULL, note text);"
    "CREATE TABLE entries (id int PRIMARY KEY, account_id int NOT NULL REFERENCES accounts(id));"
    "INSERT INTO accounts SELECT i, i * 1.5, CASE WHEN i % 3 = 0 THEN NULL ELSE 'n' || i END "
    "FROM generate_series(1, 100) i;"
    "INSERT INTO entries SELECT i, i FROM generate_series(1, 100) i;";

TEST_CASE("a sql step without down is undone from the backup, keeping referencing rows") {
  const std::string db = "rollback_backup";
  const std::string conn = FreshDatabase(db);
  ExecSql(conn, kSetup);
  const std::string before = TableChecksums(conn, {"planrun", "planrun_backup"});
  const std::string dir = TempDir("planrun-rb");
  WriteFile(dir + "/001_double.yaml", R"(version: 1
name: double
steps:
  - id: save
    backup: {tables: [accounts]}
  - id: double
    sql:
      up: |
        UPDATE accounts SET balance = balance * 2, note = upper(note);
        DELETE FROM accounts WHERE id > 100;
        INSERT INTO accounts VALUES (101, 0, 'new')
      writes: [accounts]
)");
  CommandResult apply = Planrun(db, {"--plans", dir, "apply"});
  INFO(apply.err);
  REQUIRE(apply.exit_code == 0);
  CHECK(QueryValue(conn, "SELECT balance FROM accounts WHERE id = 2") == "6.0");
  CHECK(QueryValue(conn, "SELECT count(*) FROM accounts") == "101");

  CommandResult rollback = Planrun(db, {"--plans", dir, "rollback"});
  INFO(rollback.err);
  REQUIRE(rollback.exit_code == 0);
  CHECK(TableChecksums(conn, {"planrun", "planrun_backup"}) == before);
  CHECK(QueryValue(conn,
                   "SELECT counters->>'tables_restored' FROM planrun.step_runs WHERE "
                   "phase = 'down' AND step_id = 'double'") == "1");
}

TEST_CASE("a plan that cannot be undone is refused with exit 4 and nothing changes") {
  const std::string db = "rollback_refused";
  const std::string conn = FreshDatabase(db);
  ExecSql(conn, kSetup);
  const std::string dir = TempDir("planrun-refused");
  WriteFile(dir + "/001_lossy.yaml", R"(version: 1
name: lossy
steps:
  - id: wipe_notes
    sql:
      up: UPDATE accounts SET note = NULL
)");
  REQUIRE(Planrun(db, {"--plans", dir, "apply"}).exit_code == 0);
  const std::string after_apply = TableChecksums(conn);
  CommandResult rollback = Planrun(db, {"--plans", dir, "rollback"});
  CHECK(rollback.exit_code == 4);
  CHECK(rollback.err ==
        "error: plan 1 lossy cannot be rolled back: step 'wipe_notes' has no inverse (a sql step "
        "without 'down' or 'writes'); add 'down', or back up its tables and use "
        "--restore-backups\n");
  CHECK(TableChecksums(conn) == after_apply);
  CHECK(QueryValue(conn, "SELECT state FROM planrun.schema_migrations") == "applied");
}

TEST_CASE("--restore-backups restores backed-up tables exactly after a lossy down") {
  const std::string db = "rollback_restore_backups";
  const std::string conn = FreshDatabase(db);
  ExecSql(conn, kSetup);
  const std::string before = TableChecksums(conn, {"planrun", "planrun_backup"});
  const std::string dir = TempDir("planrun-restore");
  WriteFile(dir + "/001_notes.yaml", R"(version: 1
name: notes
steps:
  - id: save
    backup: {tables: [accounts]}
  - id: stamp
    sql:
      up: UPDATE accounts SET note = 'stamped'
      down: UPDATE accounts SET note = NULL
      writes: [accounts]
)");
  REQUIRE(Planrun(db, {"--plans", dir, "apply"}).exit_code == 0);
  CommandResult rollback = Planrun(db, {"--plans", dir, "rollback", "--restore-backups"});
  INFO(rollback.err);
  REQUIRE(rollback.exit_code == 0);
  CHECK(TableChecksums(conn, {"planrun", "planrun_backup"}) == before);

  // Without --restore-backups the lossy down is all there is: notes are NULL.
  REQUIRE(Planrun(db, {"--plans", dir, "apply"}).exit_code == 0);
  REQUIRE(Planrun(db, {"--plans", dir, "rollback"}).exit_code == 0);
  CHECK(QueryValue(conn, "SELECT count(note) FROM accounts") == "0");
}

TEST_CASE("an explicit rollback section replaces the inverses") {
  const std::string db = "rollback_section";
  const std::string conn = FreshDatabase(db);
  ExecSql(conn, kSetup);
  const std::string dir = TempDir("planrun-section");
  WriteFile(dir + "/001_flags.yaml", R"(version: 1
name: flags
steps:
  - id: add_flag
    add_columns:
      table: accounts
      columns: [{name: vip, type: boolean, default: "false", not_null: true}]
  - id: mark
    sql: {up: "UPDATE accounts SET vip = balance > 100", writes: [accounts]}
rollback:
  - id: unmark_and_drop
    sql:
      up: ALTER TABLE accounts DROP COLUMN vip
      writes: [accounts]
)");
  CommandResult apply = Planrun(db, {"--plans", dir, "apply"});
  INFO(apply.err);
  REQUIRE(apply.exit_code == 0);
  CHECK(QueryValue(conn, "SELECT count(*) FROM accounts WHERE vip") == "34");
  CommandResult rollback = Planrun(db, {"--plans", dir, "rollback"});
  INFO(rollback.err);
  REQUIRE(rollback.exit_code == 0);
  CHECK(QueryValue(conn,
                   "SELECT count(*) FROM information_schema.columns WHERE column_name = "
                   "'vip'") == "0");
  CHECK(QueryValue(conn,
                   "SELECT string_agg(phase || ':' || step_id, ',' ORDER BY phase, "
                   "step_id) FROM planrun.step_runs") ==
        "down:unmark_and_drop,up:add_flag,up:mark");
}

TEST_CASE("--jobs runs independent steps at once; --jobs 1 runs them in file order") {
  const std::string db = "apply_jobs";
  const std::string conn = FreshDatabase(db);
  const std::string dir = TempDir("planrun-jobs");
  WriteFile(dir + "/001_two.yaml", R"(version: 1
name: two
steps:
  - id: left
    sql:
      up: CREATE TABLE l AS SELECT pg_sleep(1)::text AS x
      down: DROP TABLE l
      writes: [l]
  - id: right
    sql:
      up: CREATE TABLE r AS SELECT pg_sleep(1)::text AS x
      down: DROP TABLE r
      writes: [r]
)");
  const std::string overlap =
      "SELECT (SELECT started_at FROM planrun.step_runs WHERE step_id = 'right' AND phase = 'up' "
      "AND attempt = (SELECT attempt FROM planrun.schema_migrations)) < (SELECT finished_at FROM "
      "planrun.step_runs WHERE step_id = 'left' AND phase = 'up' AND attempt = (SELECT attempt "
      "FROM planrun.schema_migrations))";
  REQUIRE(Planrun(db, {"--plans", dir, "apply", "--jobs", "2"}).exit_code == 0);
  CHECK(QueryValue(conn, overlap) == "t");
  REQUIRE(Planrun(db, {"--plans", dir, "rollback"}).exit_code == 0);
  REQUIRE(Planrun(db, {"--plans", dir, "apply", "--jobs", "1"}).exit_code == 0);
  CHECK(QueryValue(conn, overlap) == "f");
}

}  // namespace
}  // namespace testing
}  // namespace planrun
