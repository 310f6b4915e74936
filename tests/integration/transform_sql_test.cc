// How a transform whose `set` is SQL expressions writes its batches
// (TransformSqlWriter), against a real PostgreSQL: a batch PostgreSQL refuses
// for a value runs again in halves, the refused rows are rejected with its
// message and the row as it was (its key and set columns), only the rows
// written are saved, and --retry-rejects runs the expressions again for the
// rejected rows. With max_rejects 0 PostgreSQL's error fails the step.
#include <catch2/catch.hpp>

#include "support.h"

namespace planrun {
namespace testing {
namespace {

TEST_CASE("a transform in SQL rejects the rows PostgreSQL refuses; --retry-rejects writes them") {
  const std::string db = "data_transform_sql_refused";
  const std::string conn = FreshDatabase(db);
  ExecSql(conn,
          "CREATE TABLE users (id bigint PRIMARY KEY, username text NOT NULL, nick text, score "
          "integer);"
          "CREATE UNIQUE INDEX users_nick ON users (nick);"
          "INSERT INTO users SELECT i, 'user' || i, NULL, NULL FROM generate_series(1, 1200) i;");
  const std::string before = TableChecksums(conn, {"planrun", "planrun_backup"});
  const std::string dir = TempDir("planrun-transform-sql-refused");
  // User 20 takes user 10's nick; user 777's score divides by zero.
  WriteFile(dir + "/001.yaml", R"P(version: 1
name: nicks
steps:
  - id: nicks
    transform:
      table: users
      key: id
      batch_size: 500
      max_rejects: 2
      set:
        nick: "'nick-' || CASE WHEN id = 20 THEN 10 ELSE id END"
        score: 100000 / (id - 777)
)P");
  CommandResult r = Planrun(db, {"--plans", dir, "apply"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.err.find("transform nicks: 1200 read, 1198 written, 0 skipped, 2 rejected") !=
        std::string::npos);
  CHECK(QueryValue(conn,
                   "SELECT count(*) FILTER (WHERE nick = 'nick-' || id AND score = 100000 / "
                   "nullif(id - 777, 0)) || ' ' || count(*) FILTER (WHERE nick IS NULL AND score "
                   "IS NULL) FROM "
                   "users") == "1198 2");
  CHECK(QueryValue(conn,
                   "SELECT string_agg(row_key::text || ' ' || input::text || ' ' || reason, "
                   "E'\\n' ORDER BY id) FROM planrun.rejects") ==
        "[\"20\"] {\"id\": 20, \"nick\": null, \"score\": null} "
        "PostgreSQL refused the new values: duplicate key value violates unique constraint "
        "\"users_nick\"\nDETAIL:  Key (nick)=(nick-10) already exists.\n"
        "[\"777\"] {\"id\": 777, \"nick\": null, \"score\": null} "
        "PostgreSQL refused the new values: division by zero");
  // Only the rows written are saved for the rollback.
  CHECK(QueryValue(conn, "SELECT count(*) FROM planrun_backup.v1__nicks__public__users__prev") ==
        "1198");

  // Without the index user 20's nick goes through; 777 still divides by zero.
  ExecSql(conn, "DROP INDEX users_nick");
  CommandResult retried = Planrun(db, {"--plans", dir, "apply", "--retry-rejects"});
  INFO(retried.err);
  REQUIRE(retried.exit_code == 0);
  CHECK(retried.err.find("transform nicks: retried 2 rejected rows, 1 still rejected") !=
        std::string::npos);
  CHECK(QueryValue(conn, "SELECT nick || ' ' || score FROM users WHERE id = 20") == "nick-10 -132");
  CHECK(QueryValue(conn,
                   "SELECT count(*) FILTER (WHERE resolved_at IS NULL) || ' ' || count(*) FROM "
                   "planrun.rejects") == "1 3");

  // Rollback restores every row it changed, the retried one included.
  CommandResult rb = Planrun(db, {"--plans", dir, "rollback"});
  INFO(rb.err);
  REQUIRE(rb.exit_code == 0);
  ExecSql(conn, "CREATE UNIQUE INDEX users_nick ON users (nick)");
  CHECK(TableChecksums(conn, {"planrun", "planrun_backup"}) == before);
}

TEST_CASE("a transform in SQL with a composite key and a where rejects by the whole key") {
  const std::string db = "transform_sql_composite";
  const std::string conn = FreshDatabase(db);
  ExecSql(conn,
          "CREATE TABLE stock (shop int, item int, qty int NOT NULL CHECK (qty >= 0), archived "
          "boolean NOT NULL DEFAULT false, PRIMARY KEY (shop, item));"
          "INSERT INTO stock SELECT s, i, i, i % 10 = 0 FROM generate_series(1, 3) s, "
          "generate_series(1, 400) i;");
  const std::string before = TableChecksums(conn, {"planrun", "planrun_backup"});
  const std::string dir = TempDir("planrun-transform-sql-composite");
  const std::string plan = R"P(version: 1
name: stock
steps:
  - id: recount
    transform:
      table: stock
      key: [shop, item]
      where: NOT archived
      batch_size: 250
      max_rejects: MAX
      set:
        qty: qty - CASE WHEN shop = 2 AND item = 7 THEN 100 ELSE 1 END
)P";
  WriteFile(dir + "/001.yaml", std::string(plan).replace(plan.find("MAX"), 3, "1"));
  CommandResult r = Planrun(db, {"--plans", dir, "apply"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.err.find("transform recount: 1080 read, 1079 written, 0 skipped, 1 rejected") !=
        std::string::npos);
  CHECK(QueryValue(conn,
                   "SELECT count(*) FILTER (WHERE qty = item - 1) || ' ' || count(*) FILTER "
                   "(WHERE qty = item) FROM stock") == "1079 121");
  CHECK(QueryValue(conn, "SELECT row_key::text || ' ' || input::text FROM planrun.rejects") ==
        "[\"2\", \"7\"] {\"qty\": 7, \"item\": 7, \"shop\": 2}");
  CommandResult rb = Planrun(db, {"--plans", dir, "rollback"});
  INFO(rb.err);
  REQUIRE(rb.exit_code == 0);
  CHECK(TableChecksums(conn, {"planrun", "planrun_backup"}) == before);

  // max_rejects 0: PostgreSQL's error fails the step; the batches before stay.
  WriteFile(dir + "/001.yaml", std::string(plan).replace(plan.find("MAX"), 3, "0"));
  CommandResult failed = Planrun(db, {"--plans", dir, "apply"});
  INFO(failed.err);
  CHECK(failed.exit_code == 1);
  CHECK(failed.err.find("error: step 'recount' of plan 1 stock failed to apply: new row for "
                        "relation \"stock\" violates check constraint \"stock_qty_check\"") !=
        std::string::npos);
  CHECK(QueryValue(conn, "SELECT count(*) FROM stock WHERE qty = item - 1") == "250");
}

TEST_CASE("a refused row of a transform setting 60 columns is rejected with all of them") {
  const std::string db = "transform_sql_wide";
  const std::string conn = FreshDatabase(db);
  std::string defs, set;
  for (int i = 1; i <= 60; ++i) {
    const std::string c = "c" + std::to_string(i);
    defs += ", " + c + " text" + (i == 60 ? " CHECK (c60 <> 'v60-7')" : "");
    set += "        " + c + ": \"'v" + std::to_string(i) + "-' || id\"\n";
  }
  ExecSql(conn, "CREATE TABLE wide (id bigint PRIMARY KEY" + defs +
                    ");"
                    "INSERT INTO wide (id) SELECT generate_series(1, 20);");
  const std::string dir = TempDir("planrun-transform-wide");
  WriteFile(dir + "/001.yaml",
            "version: 1\nname: wide\nsteps:\n  - id: wide\n    transform:\n      table: wide\n"
            "      key: id\n      max_rejects: 1\n      set:\n" +
                set);
  CommandResult r = Planrun(db, {"--plans", dir, "apply"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(QueryValue(conn, "SELECT count(*) FROM wide WHERE c60 = 'v60-' || id") == "19");
  CHECK(QueryValue(conn,
                   "SELECT row_key::text || ' ' || (SELECT count(*) FROM jsonb_object_keys(input)) "
                   "|| ' ' || coalesce(input->>'c60', 'null') || ' ' || (input->>'id') FROM "
                   "planrun.rejects") == "[\"7\"] 61 null 7");
}

}  // namespace
}  // namespace testing
}  // namespace planrun
