// The tracking tables: created on first use, upgraded in place from an older
// layout, and refused when a newer planrun wrote them.
#include "track/tracker.h"

#include "util/build_info.h"

#include <catch2/catch.hpp>

#include "support.h"

namespace planrun {
namespace testing {
namespace {

TEST_CASE("Ensure creates the tracking tables once and upgrades an older layout") {
  const std::string conn = FreshDatabase("tracker_layout");
  auto session = Connect(conn);
  Tracker tracker(session.get(), "planrun");
  bool exists = true;
  REQUIRE(tracker.Exists(&exists).ok());
  CHECK_FALSE(exists);
  REQUIRE(tracker.Ensure().ok());
  REQUIRE(tracker.Ensure().ok());
  CHECK(QueryValue(conn, "SELECT version FROM planrun.layout") == std::to_string(kTrackingLayout));
  CHECK(QueryValue(conn,
                   "SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_tables "
                   "WHERE schemaname = 'planrun'") ==
        "backups,checkpoints,layout,rejects,schema_migrations,step_runs");

  // A database last touched by a planrun with layout 1 gains the data-step tables.
  ExecSql(conn,
          "DROP TABLE planrun.checkpoints, planrun.rejects; UPDATE planrun.layout SET "
          "version = 1; INSERT INTO planrun.schema_migrations (version, version_key, name, "
          "checksum, state, planrun_version) VALUES ('1', '{1}', 'old', 'abc', 'applied', "
          "'0.0.1')");
  REQUIRE(tracker.Ensure().ok());
  CHECK(QueryValue(conn, "SELECT version FROM planrun.layout") == "2");
  CHECK(QueryValue(conn,
                   "SELECT to_regclass('planrun.checkpoints') IS NOT NULL AND "
                   "to_regclass('planrun.rejects') IS NOT NULL") == "t");
  CHECK(QueryValue(conn, "SELECT name FROM planrun.schema_migrations") == "old");
}

TEST_CASE("a layout newer than this planrun is refused and left alone") {
  const std::string conn = FreshDatabase("tracker_newer");
  auto session = Connect(conn);
  Tracker tracker(session.get(), "planrun");
  REQUIRE(tracker.Ensure().ok());
  ExecSql(conn, "UPDATE planrun.layout SET version = 99");
  Status st = tracker.Ensure();
  CHECK(st.code() == StatusCode::kRefused);
  CHECK(st.message() ==
        "the tracking tables in schema planrun have layout 99, newer than this planrun (" +
            std::string(kPlanrunVersion) + ") understands (" + std::to_string(kTrackingLayout) +
            "); upgrade planrun");
  CHECK(QueryValue(conn, "SELECT version FROM planrun.layout") == "99");
}

}  // namespace
}  // namespace testing
}  // namespace planrun
