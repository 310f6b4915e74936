// How a transform with a hook writes its batches (TransformWriter, and the
// runner's read-ahead around it), against a real PostgreSQL: values
// PostgreSQL refuses (a unique index, a CHECK constraint) reject their rows
// with its message and the others are written; rows that change between
// the read-ahead and the write are transformed from their new values; rows
// a trigger keeps unchanged are not saved, and rows that left the step's
// `where` are not written; a write that loses a deadlock runs again under
// row locks; rollback restores the table exactly.
#include <catch2/catch.hpp>
#include <chrono>
#include <future>
#include <thread>

#include "support.h"

namespace planrun {
namespace testing {
namespace {

const char kPlan[] = R"P(version: 1
name: nicks
steps:
  - id: nicks
    transform:
      table: users
      key: id
      columns: [username]
      set: [nick]
      batch_size: 500
      max_rejects: MAX
      lua: |
        function transform(row, ctx)
          -- users 10 and 20 get the same nick; user 777's is too long.
          if row.id == 20 then return {nick = "nick-10"} end
          if row.id == 777 then return {nick = string.rep("x", 40)} end
          return {nick = "nick-" .. row.id}
        end
)P";

std::string Plan(const std::string& max_rejects) {
  std::string text = kPlan;
  text.replace(text.find("MAX"), 3, max_rejects);
  return text;
}

TEST_CASE("values PostgreSQL refuses reject their rows, not the batch") {
  const std::string db = "transform_refused";
  const std::string conn = FreshDatabase(db);
  ExecSql(conn,
          "CREATE TABLE users (id bigint PRIMARY KEY, username text NOT NULL, nick text "
          "CHECK (length(nick) <= 32));"
          "CREATE UNIQUE INDEX users_nick ON users (nick);"
          "INSERT INTO users SELECT i, 'user' || i, NULL FROM generate_series(1, 1200) i;");
  const std::string before = TableChecksums(conn, {"planrun", "planrun_backup"});
  const std::string dir = TempDir("planrun-transform-refused");

  // Within max_rejects: every other row is written.
  WriteFile(dir + "/001.yaml", Plan("2"));
  CommandResult r = Planrun(db, {"--plans", dir, "apply"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(QueryValue(conn, "SELECT count(*) FROM users WHERE nick = 'nick-' || id") == "1198");
  CHECK(QueryValue(conn,
                   "SELECT coalesce(nick, 'NULL') FROM users WHERE id IN (20, 777) "
                   "ORDER BY id LIMIT 1") == "NULL");
  CHECK(QueryValue(conn,
                   "SELECT string_agg(row_key::text || ' ' || reason, E'\\n' ORDER BY id) FROM "
                   "planrun.rejects") ==
        "[\"20\"] PostgreSQL refused the new values: duplicate key value violates unique "
        "constraint \"users_nick\"\nDETAIL:  Key (nick)=(nick-10) already exists.\n"
        "[\"777\"] PostgreSQL refused the new values: new row for relation \"users\" violates "
        "check constraint \"users_nick_check\"\nDETAIL:  Failing row contains (777, user777, " +
            std::string(40, 'x') + ").");
  CHECK(QueryValue(conn, "SELECT input::text FROM planrun.rejects WHERE row_key = '[\"20\"]'") ==
        "{\"id\": 20, \"username\": \"user20\"}");
  CommandResult rb = Planrun(db, {"--plans", dir, "rollback"});
  INFO(rb.err);
  REQUIRE(rb.exit_code == 0);
  CHECK(TableChecksums(conn, {"planrun", "planrun_backup"}) == before);

  // Past max_rejects the step fails with the count; the rejects say why.
  WriteFile(dir + "/001.yaml", Plan("1"));
  CommandResult failed = Planrun(db, {"--plans", dir, "apply"});
  INFO(failed.err);
  CHECK(failed.exit_code == 1);
  CHECK(failed.err.find(
            "error: step 'nicks' of plan 1 nicks failed to apply: 2 of 1000 rows rejected, more "
            "than max_rejects (1 row); the first: key [\"20\"]: PostgreSQL refused the new values: "
            "duplicate key value violates unique constraint \"users_nick\"; see them with "
            "planrun rejects 1 --step nicks") != std::string::npos);
}

const char kSlugPlan[] = R"P(version: 1
name: slugs
steps:
  - id: slugs
    transform:
      table: users
      key: id
      columns: [username]
      set: [slug]
      batch_size: 1000
      lua: |
        function transform(row, ctx)
          return {slug = string.lower(row.username)}
        end
)P";

/// Starts `planrun apply` of `dir` on `db` while `holder` holds user 500's
/// row lock; true once the apply's UPDATE waits for it (within 15 s).
bool ApplyBlockedOnUser500(const std::string& db, const std::string& conn, const std::string& dir,
                           pg::Session& holder, std::future<CommandResult>* apply) {
  REQUIRE(holder.Exec("BEGIN").ok());
  REQUIRE(holder.Exec("SELECT 1 FROM users WHERE id = 500 FOR UPDATE").ok());
  *apply = std::async(std::launch::async, [db, dir] {
    return Planrun(db, {"--plans", dir, "apply"});
  });
  std::string waiting = "0";
  for (int i = 0; i < 300 && waiting == "0"; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    waiting = QueryValue(conn,
                         "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                         "AND query LIKE '%UPDATE \"users\"%'");
  }
  return waiting == "1";
}

TEST_CASE("rows changed after the read-ahead are transformed from their new values") {
  const std::string db = "transform_changed";
  const std::string conn = FreshDatabase(db);
  ExecSql(conn,
          "CREATE TABLE users (id bigint PRIMARY KEY, username text NOT NULL, slug text, "
          "archived boolean NOT NULL DEFAULT false);"
          "INSERT INTO users SELECT i, 'User' || i, NULL FROM generate_series(1, 3000) i;");
  const std::string dir = TempDir("planrun-transform-changed");
  std::string plan = kSlugPlan;
  plan.insert(plan.find("      columns:"), "      where: NOT archived\n");
  WriteFile(dir + "/001.yaml", plan);

  // Batch 1's write waits for user 500's row lock; by then batches 2
  // (1001..2000) and 3 have been read, and batch 2 has gone through the hook.
  std::unique_ptr<pg::Session> holder = Connect(conn);
  std::future<CommandResult> apply;
  // Not a REQUIRE: the lock must be let go before the apply is waited for.
  const bool blocked = ApplyBlockedOnUser500(db, conn, dir, *holder, &apply);
  CHECK(blocked);
  // Batch 2 changes under the hook's feet (a name, a value of the set
  // column); a row of batch 3 leaves the step's `where`.
  if (blocked) {
    // Meanwhile the two stages of the read-ahead exist: unlogged, no autovacuum.
    CHECK(QueryValue(conn,
                     "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = "
                     "c.relnamespace WHERE n.nspname = 'planrun_backup' AND c.relname LIKE "
                     "'%stage%' AND c.relpersistence = 'u' AND c.reloptions = "
                     "'{autovacuum_enabled=false}'") == "2");
    ExecSql(conn,
            "UPDATE users SET username = 'Renamed' WHERE id = 1500;"
            "UPDATE users SET slug = 'kept-by-hand' WHERE id = 1600;"
            "UPDATE users SET archived = true WHERE id = 2700;");
  }
  const std::string before = TableChecksums(conn, {"planrun", "planrun_backup"});
  REQUIRE(holder->Exec("COMMIT").ok());
  CommandResult r = apply.get();
  INFO(r.err);
  REQUIRE(blocked);
  REQUIRE(r.exit_code == 0);

  CHECK(QueryValue(conn,
                   "SELECT count(*) || ' ' || count(*) FILTER (WHERE slug IS DISTINCT FROM "
                   "lower(username)) FROM users") == "3000 1");
  CHECK(QueryValue(conn, "SELECT coalesce(slug, 'NULL') FROM users WHERE id = 2700") == "NULL");
  CHECK(QueryValue(conn, "SELECT slug FROM users WHERE id = 1500") == "renamed");
  // The read-ahead's two shared stage tables are gone once the step is done.
  CHECK(QueryValue(conn,
                   "SELECT count(*) FROM pg_tables WHERE schemaname = 'planrun_backup' AND "
                   "tablename LIKE '%stage%'") == "0");
  CHECK(QueryValue(conn,
                   "SELECT rows_read || ' ' || rows_written FROM planrun.checkpoints WHERE "
                   "step_id = 'slugs'") == "2999 2999");
  // The saved value is the one the UPDATE replaced, not the one read.
  CHECK(
      QueryValue(conn,
                 "SELECT count(*) || ' ' || string_agg(id || '=' || slug, ',') FILTER (WHERE slug "
                 "IS NOT NULL) FROM planrun_backup.v1__slugs__public__users__prev") ==
      "2999 1600=kept-by-hand");

  CommandResult rb = Planrun(db, {"--plans", dir, "rollback"});
  INFO(rb.err);
  REQUIRE(rb.exit_code == 0);
  CHECK(TableChecksums(conn, {"planrun", "planrun_backup"}) == before);
}

TEST_CASE("a write that loses a deadlock runs again under row locks, not the whole step again") {
  const std::string db = "transform_deadlock";
  const std::string conn = FreshDatabase(db);
  ExecSql(conn,
          "CREATE TABLE users (id bigint PRIMARY KEY, username text NOT NULL, slug text);"
          "INSERT INTO users SELECT i, 'User' || i, NULL FROM generate_series(1, 3000) i;");
  const std::string before = TableChecksums(conn, {"planrun", "planrun_backup"});
  const std::string dir = TempDir("planrun-transform-deadlock");
  WriteFile(dir + "/001.yaml", kSlugPlan);

  // Batch 1's unlocked UPDATE locks rows below 500, then waits for 500.
  std::unique_ptr<pg::Session> holder = Connect(conn);
  REQUIRE(holder->Exec("SET deadlock_timeout = '60s'").ok());  // planrun's side detects it
  std::future<CommandResult> apply;
  const bool blocked = ApplyBlockedOnUser500(db, conn, dir, *holder, &apply);
  CHECK(blocked);
  Status crossed = Status::OK();
  if (blocked) {
    // Rows of batch 1 the UPDATE holds (their old versions carry its xmax).
    CHECK(QueryValue(conn, "SELECT count(*) > 0 FROM users WHERE id < 500 AND xmax::text <> '0'") ==
          "t");
    // Waiting for those rows closes the cycle; PostgreSQL cancels planrun's
    // UPDATE, which lets go of them, and this one goes through.
    crossed = holder->Exec("UPDATE users SET username = 'Held' || id WHERE id <= 1000");
  }
  REQUIRE(holder->Exec(crossed.ok() ? "COMMIT" : "ROLLBACK").ok());
  CommandResult r = apply.get();
  INFO(r.err);
  REQUIRE(blocked);
  REQUIRE(crossed.ok());
  REQUIRE(r.exit_code == 0);
  // The batch ran again on its own: the step was not retried from its
  // checkpoint (what a deadlock anywhere else in a step does).
  CHECK(r.err.find("chosen to break a deadlock") == std::string::npos);
  // Batch 1 ran again under locks, from the names the other session wrote.
  CHECK(QueryValue(conn,
                   "SELECT count(*) FILTER (WHERE slug = lower(username)) || ' ' || count(*) "
                   "FILTER (WHERE slug LIKE 'held%') FROM users") == "3000 1000");
  CHECK(QueryValue(conn,
                   "SELECT rows_read || ' ' || rows_written || ' ' || batches FROM "
                   "planrun.checkpoints WHERE step_id = 'slugs'") == "3000 3000 3");

  // Rollback puts back the slugs, not the names the other session wrote.
  CommandResult rb = Planrun(db, {"--plans", dir, "rollback"});
  INFO(rb.err);
  REQUIRE(rb.exit_code == 0);
  CHECK(QueryValue(conn,
                   "SELECT count(*) FILTER (WHERE slug IS NULL) || ' ' || count(*) FILTER "
                   "(WHERE username = 'Held' || id) FROM users") == "3000 1000");
  ExecSql(conn, "UPDATE users SET username = 'User' || id WHERE id <= 1000");
  CHECK(TableChecksums(conn, {"planrun", "planrun_backup"}) == before);
}

TEST_CASE("rows a trigger keeps from updating are neither written nor saved") {
  const std::string db = "transform_trigger";
  const std::string conn = FreshDatabase(db);
  ExecSql(conn,
          "CREATE TABLE users (id bigint PRIMARY KEY, username text NOT NULL, slug text);"
          "INSERT INTO users SELECT i, 'User' || i, 'old-' || i FROM generate_series(1, 2500) i;"
          "CREATE FUNCTION keep_round() RETURNS trigger LANGUAGE plpgsql AS "
          "$$BEGIN IF OLD.id % 100 = 0 THEN RETURN NULL; END IF; RETURN NEW; END$$;"
          "CREATE TRIGGER keep_round BEFORE UPDATE ON users FOR EACH ROW EXECUTE FUNCTION "
          "keep_round();");
  const std::string before = TableChecksums(conn, {"planrun", "planrun_backup"});
  const std::string dir = TempDir("planrun-transform-trigger");
  WriteFile(dir + "/001.yaml", kSlugPlan);
  CommandResult r = Planrun(db, {"--plans", dir, "apply"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(QueryValue(conn,
                   "SELECT count(*) FILTER (WHERE slug = lower(username)) || ' ' || count(*) "
                   "FILTER (WHERE slug = 'old-' || id AND id % 100 = 0) FROM users") == "2475 25");
  CHECK(QueryValue(conn,
                   "SELECT rows_read || ' ' || rows_written || ' ' || rows_skipped FROM "
                   "planrun.checkpoints WHERE step_id = 'slugs'") == "2500 2475 25");
  CHECK(QueryValue(conn,
                   "SELECT count(*) || ' ' || count(*) FILTER (WHERE slug = 'old-' || id) FROM "
                   "planrun_backup.v1__slugs__public__users__prev") == "2475 2475");
  CommandResult rb = Planrun(db, {"--plans", dir, "rollback"});
  INFO(rb.err);
  REQUIRE(rb.exit_code == 0);
  CHECK(TableChecksums(conn, {"planrun", "planrun_backup"}) == before);
}

TEST_CASE("a value too long for its column is refused while the stage loads; its row is rejected") {
  const std::string db = "transform_stage_refused";
  const std::string conn = FreshDatabase(db);
  ExecSql(conn,
          "CREATE TABLE users (id bigint PRIMARY KEY, username text NOT NULL, code varchar(8));"
          "INSERT INTO users SELECT i, CASE WHEN i = 1234 THEN 'a-much-longer-name' ELSE 'u' || "
          "i END, NULL FROM generate_series(1, 2500) i;");
  const std::string before = TableChecksums(conn, {"planrun", "planrun_backup"});
  const std::string dir = TempDir("planrun-transform-stage-refused");
  WriteFile(dir + "/001.yaml", R"P(version: 1
name: codes
steps:
  - id: codes
    transform:
      table: users
      key: id
      columns: [username]
      set: [code]
      batch_size: 1000
      max_rejects: 1
      lua: |
        function transform(row, ctx) return {code = row.username} end
)P");
  CommandResult r = Planrun(db, {"--plans", dir, "apply"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(QueryValue(conn,
                   "SELECT count(*) FILTER (WHERE code = username) || ' ' || count(*) FILTER "
                   "(WHERE code IS NULL) FROM users") == "2499 1");
  CHECK(QueryValue(conn, "SELECT row_key::text || ' ' || reason FROM planrun.rejects") ==
        "[\"1234\"] PostgreSQL refused the new values: value too long for type character "
        "varying(8)\nCONTEXT:  COPY planrun_stage_v1_codes, line 1, column planrun_n1: "
        "\"a-much-longer-name\"");
  CommandResult rb = Planrun(db, {"--plans", dir, "rollback"});
  INFO(rb.err);
  REQUIRE(rb.exit_code == 0);
  CHECK(TableChecksums(conn, {"planrun", "planrun_backup"}) == before);
}

}  // namespace
}  // namespace testing
}  // namespace planrun
