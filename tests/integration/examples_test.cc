// The example plans on the sample data: apply then rollback leaves the
// database exactly as it was (schema dump and ordered per-table checksums),
// and status tells the truth after each state.
#include <catch2/catch.hpp>

#include "support.h"

namespace planrun {
namespace testing {
namespace {

const std::vector<std::string> kPlanrunSchemas = {"planrun", "planrun_backup"};

std::string Examples() { return SourceDir() + "/plans/examples"; }

void LoadSample(const std::string& conninfo) {
  CommandResult r = Run({"psql", "-q", "-v", "ON_ERROR_STOP=1", "-d",
                         conninfo.substr(std::string("dbname=").size()), "-f",
                         Examples() + "/sample_data.sql"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
}

TEST_CASE("apply then rollback of every example plan leaves the database identical") {
  const std::string db = "examples_roundtrip";
  const std::string conn = FreshDatabase(db);
  LoadSample(conn);
  const std::string dump_before = SchemaDump(db, kPlanrunSchemas);
  const std::string sums_before = TableChecksums(conn, kPlanrunSchemas);

  CommandResult apply = Planrun(db, {"--plans", Examples(), "apply"});
  INFO(apply.err);
  REQUIRE(apply.exit_code == 0);
  CHECK(QueryValue(conn, "SELECT string_agg(version || ':' || state, ',' ORDER BY version_key) "
                         "FROM planrun.schema_migrations") == "1:applied,2:applied,3:applied");
  // Plan 2 flattened descriptions; plan 3 moved tags and renamed is_public.
  CHECK(QueryValue(conn, "SELECT description FROM packages WHERE name = 'pkg-2'") ==
        "Tools for task 2");
  CHECK(QueryValue(conn, "SELECT description FROM packages WHERE name = 'pkg-1'") ==
        "Package pkg-1");
  CHECK(QueryValue(conn, "SELECT array_to_string(tags, ',') FROM packages WHERE name = 'pkg-3'") ==
        "cli,tag3");
  CHECK(QueryValue(conn, "SELECT count(*) FROM packages WHERE public") == "83");
  CHECK(QueryValue(conn, "SELECT count(*) FROM team_members") == "30");
  CHECK(QueryValue(conn, "SELECT indisvalid FROM pg_index WHERE indexrelid = "
                         "'packages_team_id_idx'::regclass") == "t");

  CommandResult newest = Planrun(db, {"--plans", Examples(), "rollback"});
  INFO(newest.err);
  REQUIRE(newest.exit_code == 0);
  CHECK(QueryValue(conn, "SELECT string_agg(version || ':' || state, ',' ORDER BY version_key) "
                         "FROM planrun.schema_migrations") == "1:applied,2:applied,3:rolled_back");
  CHECK(QueryValue(conn, "SELECT count(*) FROM information_schema.columns WHERE table_name = "
                         "'packages' AND column_name IN ('tags', 'public')") == "0");

  CommandResult rest = Planrun(db, {"--plans", Examples(), "rollback", "--to", "0"});
  INFO(rest.err);
  REQUIRE(rest.exit_code == 0);
  CHECK(SchemaDump(db, kPlanrunSchemas) == dump_before);
  CHECK(TableChecksums(conn, kPlanrunSchemas) == sums_before);
  CHECK(QueryValue(conn, "SELECT count(*) FROM pg_tables WHERE schemaname = 'planrun_backup'") ==
        "0");

  // Applying again after a rollback starts a new attempt and succeeds.
  CommandResult again = Planrun(db, {"--plans", Examples(), "apply"});
  INFO(again.err);
  REQUIRE(again.exit_code == 0);
  CHECK(QueryValue(conn, "SELECT attempt FROM planrun.schema_migrations WHERE version = '3'") ==
        "2");
}

TEST_CASE("status describes pending, applied, rolled back and drifted plans") {
  const std::string db = "examples_status";
  const std::string conn = FreshDatabase(db);
  LoadSample(conn);
  const std::string dir = TempDir("planrun-status");
  for (const char* f : {"001_team_members.yaml", "002_packages_v2.yaml"}) {
    CommandResult cp = Run({"cp", Examples() + "/" + f, dir + "/" + f});
    REQUIRE(cp.exit_code == 0);
  }

  CommandResult pending = Planrun(db, {"--plans", dir, "status"});
  INFO(pending.err);
  REQUIRE(pending.exit_code == 0);
  CHECK(pending.out.find("1        team_members  pending  0/3    -           -") !=
        std::string::npos);
  CHECK(pending.out.find("2        packages_v2   pending  0/6    -           -") !=
        std::string::npos);

  REQUIRE(Planrun(db, {"--plans", dir, "apply", "--to", "1"}).exit_code == 0);
  CommandResult json = Planrun(db, {"--plans", dir, "status", "--json"});
  REQUIRE(json.exit_code == 0);
  CHECK(json.out.find("\"state\": \"applied\"") != std::string::npos);
  CHECK(json.out.find("\"steps_done\": 3") != std::string::npos);

  // Editing an applied plan is drift: status flags it, apply refuses (exit 4).
  CommandResult edited = Run({"sed", "s/DEFAULT 'member'/DEFAULT 'owner'/",
                              Examples() + "/001_team_members.yaml"});
  REQUIRE(edited.out.find("DEFAULT 'owner'") != std::string::npos);
  WriteFile(dir + "/001_team_members.yaml", edited.out);
  CommandResult drift = Planrun(db, {"--plans", dir, "status"});
  CHECK(drift.out.find("! file changed since it was applied (drift)") != std::string::npos);
  CommandResult refused = Planrun(db, {"--plans", dir, "apply"});
  CHECK(refused.exit_code == 4);
  CHECK(refused.err.find("error: plan 1 team_members (" + dir +
                         "/001_team_members.yaml) changed since it was applied at ") !=
        std::string::npos);
  CHECK(refused.err.find("pass --allow-drift to go on anyway") != std::string::npos);
  CHECK(QueryValue(conn, "SELECT state FROM planrun.schema_migrations WHERE version = '2'") ==
        "<null>");
  CommandResult allowed = Planrun(db, {"--plans", dir, "apply", "--allow-drift"});
  INFO(allowed.err);
  CHECK(allowed.exit_code == 0);
}

}  // namespace
}  // namespace testing
}  // namespace planrun
