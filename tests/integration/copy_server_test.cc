// A copy without a hook inside one database (RunServerCopy), against a real
// PostgreSQL: a batch PostgreSQL refuses for a value runs again in the
// server, in halves; the refused rows are rejected with its message while
// every value converts to its column's type as in the one statement; past
// max_rejects the step fails with the batches before it kept; a retry
// writes the rejected rows in the server too; rollback is exact. By key
// ranges (a table with one integer key) and by LIMIT (a query).
#include <catch2/catch.hpp>

#include "support.h"

namespace planrun {
namespace testing {
namespace {

TEST_CASE("a copy in the server rejects the rows PostgreSQL refuses, batch by batch") {
  // By key ranges (a table with one integer key), and by LIMIT (a query).
  for (const std::string from :
       {"{table: users, key: id}", "{query: 'SELECT * FROM users', key: id, reads: [users]}"}) {
    INFO("from: " << from);
    const std::string db = "copy_write_refused_server";
    const std::string conn = FreshDatabase(db);
    ExecSql(conn,
            "CREATE TABLE users (id bigint PRIMARY KEY, username text NOT NULL);"
            "INSERT INTO users SELECT i, 'user' || i FROM generate_series(1, 1000) i;"
            "CREATE TABLE nicks (id bigserial PRIMARY KEY, user_id bigint NOT NULL, name text "
            "UNIQUE CHECK (length(name) <= 12), score integer, even text);");
    const std::string before = TableChecksums(conn, {"planrun", "planrun_backup"});
    const std::string dir = TempDir("planrun-copy-refused-server");
    std::string plan = R"P(version: 1
name: nicks
steps:
  - id: nicks
    copy:
      from: FROM
      to: {table: nicks, columns: [user_id, name, score, even]}
      batch_size: 300
      max_rejects: MAX
      map:
        user_id: id
        # Converted to the columns' types as INSERT converts them, in
        # the batches PostgreSQL refused too: rounded, and 'true'/'false'.
        score: id / 4.0
        even: id % 2 = 0
        # User 500 takes user 499's name; user 777's is too long.
        name: >-
          CASE WHEN id = 500 THEN 'n-user499' WHEN id = 777 THEN repeat('x', 20)
          ELSE 'n-' || username END
)P";
    plan.replace(plan.find("FROM\n"), 4, from);
    const size_t max = plan.find("MAX");

    // Past max_rejects: the batches up to the second refused row commit.
    WriteFile(dir + "/001.yaml", std::string(plan).replace(max, 3, "1"));
    CommandResult failed = Planrun(db, {"--plans", dir, "apply"});
    INFO(failed.err);
    CHECK(failed.exit_code == 1);
    CHECK(failed.err.find("error: step 'nicks' of plan 1 nicks failed to apply: 2 of 900 rows "
                          "rejected, more than max_rejects (1 row); the first: key [\"500\"]: "
                          "PostgreSQL refused the row: duplicate key value violates unique "
                          "constraint \"nicks_name_key\"; see them with planrun rejects 1 "
                          "--step nicks") != std::string::npos);
    CHECK(QueryValue(conn, "SELECT count(*) || ' ' || max(user_id) FROM nicks") == "898 900");
    CommandResult undo = Planrun(db, {"--plans", dir, "rollback"});
    INFO(undo.err);
    REQUIRE(undo.exit_code == 0);
    CHECK(TableChecksums(conn, {"planrun", "planrun_backup"}) == before);

    // Within it: the refused rows are rejected, every other row is written.
    WriteFile(dir + "/001.yaml", std::string(plan).replace(max, 3, "2"));
    CommandResult r = Planrun(db, {"--plans", dir, "apply"});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(QueryValue(conn,
                     "SELECT count(*) || ' ' || count(DISTINCT user_id) || ' ' || count(*) FILTER "
                     "(WHERE name = 'n-user' || user_id AND score = round(user_id / 4.0) AND even "
                     "= (user_id % 2 = 0)::text) FROM nicks") == "998 998 998");
    CHECK(QueryValue(conn, "SELECT count(*) FROM nicks WHERE user_id IN (500, 777)") == "0");
    // The failing row's id is the sequence value its last try took.
    CHECK(QueryValue(conn,
                     "SELECT string_agg(row_key::text || ' ' || input::text || ' ' || "
                     "regexp_replace(reason, 'contains \\(\\d+, ', 'contains (<id>, '), E'\\n' "
                     "ORDER BY id) FROM planrun.rejects WHERE resolved_at IS NULL AND attempt = "
                     "(SELECT max(attempt) FROM planrun.rejects)") ==
          "[\"500\"] {\"even\": \"true\", \"name\": \"n-user499\", \"score\": "
          "\"125.0000000000000000\", \"user_id\": \"500\"} PostgreSQL refused the row: "
          "duplicate key value violates unique constraint \"nicks_name_key\"\n"
          "DETAIL:  Key (name)=(n-user499) already exists.\n"
          "[\"777\"] {\"even\": \"false\", \"name\": \"" +
              std::string(20, 'x') +
              "\", \"score\": \"194.2500000000000000\", \"user_id\": \"777\"} PostgreSQL "
              "refused the row: new row for relation \"nicks\" violates check constraint "
              "\"nicks_name_check\"\nDETAIL:  Failing row contains (<id>, 777, " +
              std::string(20, 'x') + ", 194, false).");
    CHECK(r.err.find("copy nicks: 1000 read, 998 written, 0 skipped, 2 rejected") !=
          std::string::npos);

    // Once the table takes them, a retry writes them in the server too.
    ExecSql(conn,
            "ALTER TABLE nicks DROP CONSTRAINT nicks_name_key, DROP CONSTRAINT nicks_name_check");
    CommandResult retried = Planrun(db, {"--plans", dir, "apply", "--retry-rejects"});
    INFO(retried.err);
    REQUIRE(retried.exit_code == 0);
    CHECK(retried.err.find("copy nicks: retried 2 rejected rows, 0 still rejected") !=
          std::string::npos);
    CHECK(QueryValue(conn,
                     "SELECT count(*) || ' ' || count(*) FILTER (WHERE score = round(user_id / "
                     "4.0) AND even = (user_id % 2 = 0)::text) FROM nicks") == "1000 1000");
    CommandResult rb = Planrun(db, {"--plans", dir, "rollback"});
    INFO(rb.err);
    REQUIRE(rb.exit_code == 0);
    ExecSql(conn,
            "ALTER TABLE nicks ADD UNIQUE (name), ADD CONSTRAINT nicks_name_check CHECK "
            "(length(name) <= 12)");
    CHECK(TableChecksums(conn, {"planrun", "planrun_backup"}) == before);
  }
}

TEST_CASE("a target column named like the source key but mapped anew does not order the batches") {
  // The target's id runs backwards from the source's: batches ordered by
  // it would start at the last source keys and skip the rest.
  for (const std::string from :
       {"{table: users, key: id}", "{query: 'SELECT * FROM users', key: id, reads: [users]}",
        "{connection: same, table: users, key: id}"}) {
    INFO("from: " << from);
    const std::string db = "copy_server_mapped_key";
    const std::string conn = FreshDatabase(db);
    ExecSql(conn,
            "CREATE TABLE users (id bigint PRIMARY KEY, username text NOT NULL);"
            "INSERT INTO users SELECT i, 'user' || i FROM generate_series(1, 1000) i;"
            "CREATE TABLE accounts (id bigint PRIMARY KEY, name text NOT NULL);");
    const std::string dir = TempDir("planrun-copy-mapped-key");
    std::string plan =
        "version: 1\nname: accounts\nconnections:\n  same: {url: env:SAME_DB}\nsteps:\n"
        "  - id: accounts\n    copy:\n      from: FROM\n"
        "      to: {table: accounts, columns: [id, name]}\n      batch_size: 300\n"
        "      map: {id: 100000 - id, name: username}\n";
    plan.replace(plan.find("FROM\n"), 4, from);
    WriteFile(dir + "/001.yaml", plan);
    CommandResult r = Planrun(db, {"--plans", dir, "apply"}, {{"SAME_DB", conn}});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(QueryValue(conn,
                     "SELECT count(*) || ' ' || count(*) FILTER (WHERE name = 'user' || (100000 - "
                     "id)) FROM accounts") == "1000 1000");
    CHECK(QueryValue(conn,
                     "SELECT rows_read || ' ' || rows_written || ' ' || last_key[1] FROM "
                     "planrun.checkpoints") == "1000 1000 1000");
  }
}

TEST_CASE("a refused row of a target with 60 columns is rejected with all of them") {
  const std::string db = "copy_server_wide";
  const std::string conn = FreshDatabase(db);
  std::string cols, defs, map;
  for (int i = 1; i <= 60; ++i) {
    const std::string c = "c" + std::to_string(i);
    cols += (i > 1 ? ", " : "") + c;
    defs += ", " + c + " text" + (i == 60 ? " CHECK (c60 <> 'v60-7')" : "");
    map += "        " + c + ": \"'v" + std::to_string(i) + "-' || id\"\n";
  }
  ExecSql(conn,
          "CREATE TABLE users (id bigint PRIMARY KEY);"
          "INSERT INTO users SELECT generate_series(1, 20);"
          "CREATE TABLE wide (id bigint PRIMARY KEY" +
              defs + ");");
  const std::string dir = TempDir("planrun-copy-wide");
  WriteFile(dir + "/001.yaml",
            "version: 1\nname: wide\nsteps:\n  - id: wide\n    copy:\n"
            "      from: {query: 'SELECT * FROM users', key: id, reads: "
            "[users]}\n      to: {table: wide, columns: [id, " +
                cols + "]}\n      max_rejects: 1\n      map:\n" + map);
  CommandResult r = Planrun(db, {"--plans", dir, "apply"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(QueryValue(conn, "SELECT count(*) FROM wide") == "19");
  CHECK(QueryValue(conn,
                   "SELECT row_key::text || ' ' || (SELECT count(*) FROM jsonb_object_keys(input)) "
                   "|| ' ' || (input->>'c60') || ' ' || (input->>'id') FROM planrun.rejects") ==
        "[\"7\"] 61 v60-7 7");
}

TEST_CASE("a row a deferred foreign key refuses at COMMIT is found and rejected") {
  const std::string db = "copy_server_deferred";
  const std::string conn = FreshDatabase(db);
  ExecSql(conn,
          "CREATE TABLE users (id bigint PRIMARY KEY);"
          "INSERT INTO users SELECT generate_series(1, 100);"
          "CREATE TABLE owners (id bigint PRIMARY KEY);"
          "INSERT INTO owners SELECT i FROM generate_series(1, 100) i WHERE i <> 42;"
          "CREATE TABLE posts (id bigint PRIMARY KEY, owner bigint REFERENCES owners "
          "DEFERRABLE INITIALLY DEFERRED);");
  const std::string dir = TempDir("planrun-copy-deferred");
  WriteFile(dir + "/001.yaml",
            "version: 1\nname: posts\nsteps:\n  - id: posts\n    copy:\n"
            "      from: {table: users, key: id}\n      to: {table: posts, columns: [id, owner]}\n"
            "      max_rejects: 1\n      map: {owner: id}\n");
  CommandResult r = Planrun(db, {"--plans", dir, "apply"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(QueryValue(conn, "SELECT count(*) FROM posts") == "99");
  CHECK(QueryValue(conn, "SELECT row_key::text || ' ' || reason FROM planrun.rejects") ==
        "[\"42\"] PostgreSQL refused the row: insert or update on table \"posts\" violates "
        "foreign key constraint \"posts_owner_fkey\"\nDETAIL:  Key (owner)=(42) is not present "
        "in table \"owners\".");
}

}  // namespace
}  // namespace testing
}  // namespace planrun
