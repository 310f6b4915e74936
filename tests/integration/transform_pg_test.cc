// A transform with a hook against a real PostgreSQL, where PostgreSQL itself
// refuses some of the new values (a unique index, a CHECK constraint): those
// rows are rejected with PostgreSQL's message, the others written, and
// rollback restores the table exactly.
#include <catch2/catch.hpp>

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

}  // namespace
}  // namespace testing
}  // namespace planrun
