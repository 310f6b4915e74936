// What `planrun plan` shows for a copy step: the statements that really run
// per batch, which depend on whether the rows can stay in the server.
#include "steps/copy_step.h"

#include <catch2/catch.hpp>

#include "step_harness.h"

namespace planrun {
namespace testing {
namespace {

std::vector<std::string> Up(const std::string& yaml) { return DescribeUpOf(ParseCopyStep, yaml); }

TEST_CASE("a copy without a hook in one database is one statement per batch") {
  CHECK(
      Up("from: {table: users, key: id, columns: [username]}\n"
         "to: {table: avatars, columns: [user_id, name]}\n"
         "map: {user_id: id, name: upper(username)}\nbatch_size: 100\n") ==
      std::vector<std::string>{
          "-- per batch of 100 rows, in one statement:",
          "INSERT INTO \"avatars\" (\"user_id\", \"name\") SELECT ... FROM (SELECT (id) AS "
          "\"user_id\", (upper(username)) AS \"name\", \"id\" AS \"planrun_key_1\" FROM \"users\" "
          "WHERE (<key>) > (<last key>) ORDER BY \"planrun_key_1\" LIMIT 100) AS src -- keys of "
          "inserted "
          "rows saved in \"planrun_backup\".\"v2__s1__public__avatars__keys\" (contiguous integer "
          "keys as (lo, hi) in \"planrun_backup\".\"v2__s1__public__avatars__ranges\")"});
}

TEST_CASE("with max_rejects, a refused batch of a copy in the server runs again in halves") {
  const std::vector<std::string> up =
      Up("from: {table: users, key: id}\nto: {table: avatars, columns: [user_id]}\n"
         "map: {user_id: id}\nmax_rejects: 3\n");
  REQUIRE(up.size() == 3);
  CHECK(up[2] ==
        "-- a batch PostgreSQL refuses for a value: again, from a temporary table of its rows, in "
        "halves under savepoints, each refused row rejected");
}

TEST_CASE("a copy through a hook or from a connection reads with COPY and writes with COPY") {
  const std::vector<std::string> up =
      Up("from: {connection: legacy, table: users, key: id, columns: [username]}\n"
         "to: {table: avatars, columns: [user_id, name]}\n"
         "map: {user_id: id, name: username}\nbatch_size: 10\n");
  REQUIRE(up.size() == 3);
  CHECK(up[0] == "-- per batch of 10 rows, read on connection legacy:");
  CHECK(up[1].rfind("COPY (SELECT (id) AS \"user_id\", (username) AS \"name\"", 0) == 0);
  CHECK(up[2] ==
        "COPY \"avatars\" (\"user_id\", \"name\") FROM STDIN -- keys of inserted rows saved in "
        "\"planrun_backup\".\"v2__s1__public__avatars__keys\" (contiguous integer keys as (lo, "
        "hi) in \"planrun_backup\".\"v2__s1__public__avatars__ranges\") (into a stage table, then "
        "INSERT "
        "... SELECT, when the target has a BEFORE INSERT trigger, a rule or row security, or keys "
        "copy cannot know)");
}

TEST_CASE("an upserting copy goes through a stage table") {
  const std::vector<std::string> up =
      Up("from: {connection: legacy, table: users, key: id, columns: [username]}\n"
         "to: {table: avatars, columns: [user_id, name], on_conflict: update, conflict_key: "
         "[user_id]}\nmap: {user_id: id, name: username}\n");
  REQUIRE(up.size() == 3);
  CHECK(up[2] ==
        "COPY <stage table> FROM STDIN; INSERT INTO \"avatars\" (\"user_id\", \"name\") SELECT "
        "... FROM <stage table> ON CONFLICT (\"user_id\") DO UPDATE -- keys of inserted rows "
        "saved in \"planrun_backup\".\"v2__s1__public__avatars__keys\" (contiguous integer keys as "
        "(lo, hi) in \"planrun_backup\".\"v2__s1__public__avatars__ranges\")");
}

}  // namespace
}  // namespace testing
}  // namespace planrun
