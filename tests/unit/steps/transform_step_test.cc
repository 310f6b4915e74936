// What `planrun plan` shows for a transform step: the statements each batch
// runs, with a hook (COPY out on a second session, COPY into a stage table,
// the previous values saved, one UPDATE of the rows still as read; the stage
// tables dropped at the end) and with SQL expressions; and what its rollback
// runs.
#include "steps/transform_step.h"

#include <catch2/catch.hpp>

#include "step_harness.h"

namespace planrun {
namespace testing {
namespace {

std::vector<std::string> Up(const std::string& yaml) {
  return DescribeUpOf(ParseTransformStep, yaml);
}

TEST_CASE("a transform with a hook: read ahead, COPY into the stage, save, UPDATE if unchanged") {
  CHECK(Up("table: users\nkey: id\ncolumns: [username]\nset: [slug]\nbatch_size: 500\n"
           "lua: |\n  function transform(row) return {slug = row.username} end\n") ==
        std::vector<std::string>{
            "-- per batch of 500 rows, through the hook plan.yaml (the next batch is read while "
            "this one is written):",
            "COPY (SELECT \"id\", \"username\", \"slug\" FROM \"users\" WHERE (<key>) > (<last "
            "key>) ORDER BY \"id\" LIMIT 500) TO STDOUT -- on a second session",
            "COPY <stage> FROM STDIN -- on the second session, into "
            "\"planrun_backup\".\"v2__s1__public__users__stage1\" or "
            "\"planrun_backup\".\"v2__s1__public__users__stage2\" (unlogged, in turn): each "
            "row's key, the hook's new values and the values read",
            "INSERT INTO \"planrun_backup\".\"v2__s1__public__users__prev\" SELECT <key>, <values "
            "read of \"slug\"> FROM <stage>",
            "UPDATE \"users\" SET (\"slug\") = <stage values> FROM <stage> WHERE <key matches> "
            "AND <the columns read are unchanged>",
            "-- where a row changed since it was read, or the UPDATE lost a deadlock: the batch "
            "again, read with FOR UPDATE",
            "-- when the step ends:",
            "DROP TABLE IF EXISTS \"planrun_backup\".\"v2__s1__public__users__stage1\", "
            "\"planrun_backup\".\"v2__s1__public__users__stage2\""});
}

TEST_CASE("a transform with a hook and a where: read by it, and checked again by the UPDATE") {
  const std::vector<std::string> up =
      Up("table: users\nkey: id\ncolumns: [username]\nset: [slug]\nwhere: NOT archived\n"
         "lua: |\n  function transform(row) return {slug = row.username} end\n");
  REQUIRE(up.size() == 8);
  CHECK(up[1] ==
        "COPY (SELECT \"id\", \"username\", \"slug\" FROM \"users\" WHERE (NOT archived) AND "
        "(<key>) > (<last key>) ORDER BY \"id\" LIMIT 5000) TO STDOUT -- on a second session");
  CHECK(up[4] ==
        "UPDATE \"users\" SET (\"slug\") = <stage values> FROM <stage> WHERE <key matches> AND "
        "<the columns read are unchanged> AND (NOT archived)");
}

TEST_CASE("rollback of a transform: the stage tables a stopped run left, then the saved values") {
  const std::string prev = "\"planrun_backup\".\"v2__s1__public__users__prev\"";
  CHECK(DescribeDownOf(ParseTransformStep,
                       "table: users\nkey: id\ncolumns: [username]\nset: [slug]\n"
                       "lua: |\n  function transform(row) return {slug = row.username} end\n") ==
        std::vector<std::string>{
            "DROP TABLE IF EXISTS \"planrun_backup\".\"v2__s1__public__users__stage1\", "
            "\"planrun_backup\".\"v2__s1__public__users__stage2\" -- the read-ahead's, left "
            "by a run that stopped",
            "UPDATE \"users\" SET (\"slug\") = <previous values> FROM " + prev,
            "DROP TABLE " + prev});
  // Without a hook nothing is read ahead.
  CHECK(
      DescribeDownOf(ParseTransformStep, "table: users\nkey: id\nset: {slug: lower(username)}\n") ==
      std::vector<std::string>{"UPDATE \"users\" SET (\"slug\") = <previous values> FROM " + prev,
                               "DROP TABLE " + prev});
}

TEST_CASE("with max_rejects, a refused batch of a transform with SQL runs again in halves") {
  const std::vector<std::string> up =
      Up("table: users\nkey: id\nset: {slug: lower(username)}\nmax_rejects: 1%\n");
  REQUIRE(up.size() == 5);
  CHECK(up[4] ==
        "-- a batch PostgreSQL refuses for a value: again, in halves under savepoints, each "
        "refused row rejected");
}

TEST_CASE("a transform with SQL: the batch's keys, the saved values, one UPDATE") {
  CHECK(Up("table: users\nkey: id\nset: {slug: lower(username)}\nwhere: slug IS NULL\n") ==
        std::vector<std::string>{
            "-- per batch of 5000 rows:",
            "CREATE TEMP TABLE <batch> AS SELECT \"id\" FROM \"users\" WHERE (slug IS NULL) AND "
            "(<key>) > (<last key>) ORDER BY \"id\" LIMIT 5000 FOR UPDATE",
            "INSERT INTO \"planrun_backup\".\"v2__s1__public__users__prev\" <previous values of "
            "\"slug\"> FROM \"users\" JOIN <batch>",
            "UPDATE \"users\" AS t SET \"slug\" = (lower(username)) WHERE <key in batch>"});
}

}  // namespace
}  // namespace testing
}  // namespace planrun
