// The example plans on the sample data: apply then rollback leaves the
// database exactly as it was (schema dump and ordered per-table checksums),
// and status tells the truth after each state.
#include <catch2/catch.hpp>

#include "support.h"

namespace planrun {
namespace testing {
namespace {

const std::vector<std::string> kPlanrunSchemas = {"planrun", "planrun_backup"};

std::string Examples() { return SourceDir() + "/plans/examples/registry"; }

/// "version:state,..." of every plan in the tracking table.
std::string States(const std::string& conninfo) {
  return QueryValue(conninfo,
                    "SELECT string_agg(version || ':' || state, ',' ORDER BY version_key) "
                    "FROM planrun.schema_migrations");
}

/// Plan 4: one avatar per profile made by hooks/avatar.lua, and every profile,
/// post and follow pointing at the right avatar.
void CheckAvatars(const std::string& conn) {
  CHECK(QueryValue(conn, "SELECT count(*) FROM avatars") == "60");
  CHECK(QueryValue(conn, "SELECT name FROM avatars WHERE user_id = 1") == "Ben H.");
  // No display name, and a display name of blanks: the username.
  CHECK(QueryValue(conn, "SELECT name FROM avatars WHERE user_id = 5") == "user_005");
  CHECK(QueryValue(conn, "SELECT name FROM avatars WHERE user_id = 7") == "user_007");
  CHECK(QueryValue(conn, "SELECT bio FROM avatars WHERE user_id = 3") ==
        "Hello! This avatar was made from my profile.");
  CHECK(QueryValue(conn, "SELECT bio FROM avatars WHERE user_id = 1") ==
        "Posts about topic b18f75");
  CHECK(QueryValue(conn, "SELECT count(*) FROM avatars WHERE image_url IS NULL") == "7");
  CHECK(QueryValue(conn,
                   "SELECT string_agg(DISTINCT array_to_string(personality, ',') || '/' || "
                   "niche, ';') FROM avatars") == "friendly,creative/other");
  CHECK(QueryValue(conn, "SELECT meta::text FROM avatars WHERE user_id = 42") ==
        "{\"user_id\": 42, \"migrated_from\": \"user\"}");
  CHECK(QueryValue(conn,
                   "SELECT count(*) FROM avatars WHERE meta = jsonb_build_object("
                   "'migrated_from', 'user', 'user_id', user_id)") == "60");
  CHECK(QueryValue(conn,
                   "SELECT count(*) FROM profiles p JOIN avatars a ON a.id = "
                   "p.active_avatar_id AND a.user_id = p.id") == "60");
  CHECK(QueryValue(conn,
                   "SELECT count(*) FROM posts p JOIN avatars a ON a.id = p.avatar_id AND "
                   "a.user_id = p.user_id") == "180");
  CHECK(QueryValue(conn,
                   "SELECT count(*) FROM follows f JOIN avatars a ON a.id = "
                   "f.follower_avatar_id AND a.user_id = f.follower_id JOIN avatars b ON "
                   "b.id = f.followee_avatar_id AND b.user_id = f.followee_id") == "174");
}

/// Plan 5: the kv_store records in six tables, cleaned, and the five bad
/// records rejected with their reasons.
void CheckKvTables(const std::string& conn) {
  CHECK(QueryValue(conn,
                   "SELECT concat_ws(',', (SELECT count(*) FROM clients), (SELECT count(*) "
                   "FROM catalogs), (SELECT count(*) FROM sites), (SELECT count(*) FROM "
                   "products), (SELECT count(*) FROM employees), (SELECT count(*) FROM "
                   "orders))") == "11,24,22,149,60,199");
  CHECK(QueryValue(conn, "SELECT name FROM clients WHERE slug = 'client-3'") ==
        "Northwind Traders");
  CHECK(QueryValue(conn,
                   "SELECT name FROM employees WHERE email = "
                   "'employee13@client3.example.com'") == "Grace Hopper");
  CHECK(QueryValue(conn, "SELECT count(*) FROM planrun.rejects WHERE version = '5'") == "5");
  CHECK(QueryValue(
            conn,
            "SELECT string_agg(step_id || ' ' || (row_key ->> 0), ', ' ORDER BY row_key ->> 0) "
            "FROM planrun.rejects WHERE version = '5'") ==
        "copy_clients client:12, copy_orders order:76, copy_products product:77, copy_sites "
        "site:17, copy_sites site:9");
  CHECK(QueryValue(conn, "SELECT reason FROM planrun.rejects WHERE row_key = '[\"client:12\"]'") ==
        "client:12: invalid email 'billing.client12.example.com'");
  CHECK(QueryValue(conn, "SELECT reason FROM planrun.rejects WHERE row_key = '[\"order:76\"]'") ==
        "order:76: product " + QueryValue(conn, "SELECT md5('product77')::uuid") +
            " does not exist");
}

/// Loads plans/examples/registry/sample_data.sql into the database.
void LoadSample(const std::string& conninfo) {
  CommandResult r =
      Run({"psql", "-q", "-v", "ON_ERROR_STOP=1", "-d",
           conninfo.substr(std::string("dbname=").size()), "-f", Examples() + "/sample_data.sql"});
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
  CHECK(States(conn) == "1:applied,2:applied,3:applied,4:applied,5:applied");
  // Plan 2 flattened descriptions; plan 3 moved tags and renamed is_public.
  CHECK(QueryValue(conn, "SELECT description FROM packages WHERE name = 'pkg-2'") ==
        "Tools for task 2");
  CHECK(QueryValue(conn, "SELECT description FROM packages WHERE name = 'pkg-1'") ==
        "Package pkg-1");
  CHECK(QueryValue(conn, "SELECT array_to_string(tags, ',') FROM packages WHERE name = 'pkg-3'") ==
        "cli,tag3");
  CHECK(QueryValue(conn, "SELECT count(*) FROM packages WHERE public") == "83");
  CHECK(QueryValue(conn, "SELECT count(*) FROM team_members") == "30");
  CHECK(QueryValue(conn,
                   "SELECT indisvalid FROM pg_index WHERE indexrelid = "
                   "'packages_team_id_idx'::regclass") == "t");
  CheckAvatars(conn);
  CheckKvTables(conn);
  CommandResult rejects =
      Planrun(db, {"--plans", Examples(), "rejects", "5", "--step", "copy_sites"});
  INFO(rejects.err);
  CHECK(rejects.exit_code == 0);
  CHECK(rejects.out.find("copy_sites key [\"site:9\"] at ") != std::string::npos);
  CHECK(rejects.out.find("  reason: site:9: missing required field 'name'\n") != std::string::npos);
  CHECK(rejects.out.find("2 rows rejected; fix the hook or the data, then run planrun apply "
                         "--retry-rejects") != std::string::npos);

  CommandResult newest = Planrun(db, {"--plans", Examples(), "rollback"});
  INFO(newest.err);
  REQUIRE(newest.exit_code == 0);
  CHECK(States(conn) == "1:applied,2:applied,3:applied,4:applied,5:rolled_back");
  CHECK(QueryValue(conn,
                   "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename "
                   "IN ('clients', 'catalogs', 'sites', 'products', 'employees', 'orders')") ==
        "0");
  CHECK(QueryValue(conn, "SELECT count(*) FROM kv_store") == "470");

  CommandResult to2 = Planrun(db, {"--plans", Examples(), "rollback", "--to", "2"});
  INFO(to2.err);
  REQUIRE(to2.exit_code == 0);
  CHECK(States(conn) == "1:applied,2:applied,3:rolled_back,4:rolled_back,5:rolled_back");
  CHECK(QueryValue(conn,
                   "SELECT count(*) FROM information_schema.columns WHERE table_name = "
                   "'packages' AND column_name IN ('tags', 'public')") == "0");
  CHECK(QueryValue(conn, "SELECT to_regclass('avatars') IS NULL") == "t");
  CHECK(QueryValue(conn,
                   "SELECT count(*) FROM information_schema.columns WHERE column_name IN "
                   "('active_avatar_id', 'avatar_id', 'follower_avatar_id')") == "0");

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
  CheckAvatars(conn);
  CHECK(QueryValue(conn,
                   "SELECT count(*) FROM planrun.rejects WHERE version = '5' AND attempt = 2") ==
        "5");
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
  CommandResult edited =
      Run({"sed", "s/DEFAULT 'member'/DEFAULT 'owner'/", Examples() + "/001_team_members.yaml"});
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

TEST_CASE(
    "example plan project_split (seed 003): copies from the shared database, checks "
    "against it, and rolls itself back when a step fails") {
  const std::string shared = FreshDatabase("examples_split_shared");
  const std::string db = "examples_split_acme";
  const std::string conn = FreshDatabase(db);
  const std::string plans = SourceDir() + "/plans/examples/project_split";
  CommandResult load =
      Run({"psql", "-q", "-v", "ON_ERROR_STOP=1", "-d",
           shared.substr(std::string("dbname=").size()), "-f", plans + "/shared_data.sql"});
  INFO(load.err);
  REQUIRE(load.exit_code == 0);
  const std::map<std::string, std::string> env = {{"SHARED_DATABASE_URL", shared}};
  const std::string shared_before = TableChecksums(shared, {});

  CommandResult apply = Planrun(db, {"--plans", plans, "apply"}, env);
  INFO(apply.err);
  REQUIRE(apply.exit_code == 0);
  CHECK(apply.err.find("verify step 'check': all 5 assertions passed") != std::string::npos);
  CHECK(QueryValue(conn,
                   "SELECT (SELECT count(*) FROM auth.users) || ' ' || (SELECT count(*) FROM "
                   "auth.sessions) || ' ' || (SELECT count(*) FROM auth.refresh_tokens) || ' ' || "
                   "(SELECT count(*) FROM storage.buckets) || ' ' || (SELECT count(*) FROM "
                   "storage.objects)") == "100 100 200 2 133");
  CHECK(QueryValue(conn, "SELECT email FROM auth.users WHERE id = md5('user3')::uuid") ==
        "user3@example.com");
  CHECK(QueryValue(conn, "SELECT count(*) FROM auth.users WHERE email = 'user1@example.com'") ==
        "0");  // user 1 is globex's
  CommandResult rollback = Planrun(db, {"--plans", plans, "rollback"}, env);
  INFO(rollback.err);
  REQUIRE(rollback.exit_code == 0);
  CHECK(QueryValue(conn,
                   "SELECT count(*) FROM pg_namespace WHERE nspname IN ('auth', "
                   "'storage')") == "0");

  // A source row the project database refuses (a second acme user with the
  // same email): the copy fails and the plan undoes itself.
  ExecSql(shared,
          "INSERT INTO auth.users (id, project_ref, email, encrypted_password, created_at) "
          "VALUES (md5('dup')::uuid, 'acme', 'user3@example.com', 'x', now())");
  CommandResult failed = Planrun(db, {"--plans", plans, "apply"}, env);
  INFO(failed.err);
  CHECK(failed.exit_code == 1);
  CHECK(failed.err.find("duplicate key value violates unique constraint \"users_email_key\"") !=
        std::string::npos);
  CHECK(failed.err.find("\nplan 1 project_split was rolled back (on_failure: rollback): every "
                        "step it applied is undone. Fix the cause and run planrun apply again\n") !=
        std::string::npos);
  CHECK(QueryValue(conn,
                   "SELECT count(*) FROM pg_namespace WHERE nspname IN ('auth', "
                   "'storage')") == "0");
  CHECK(QueryValue(conn, "SELECT state FROM planrun.schema_migrations") == "rolled_back");
  // The shared database was only read.
  ExecSql(shared, "DELETE FROM auth.users WHERE id = md5('dup')::uuid");
  CHECK(TableChecksums(shared, {}) == shared_before);
}

}  // namespace
}  // namespace testing
}  // namespace planrun
