#include "steps/backup_step.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "plan/plan.h"
#include "step_harness.h"
#include "steps/backup_files.h"
#include "util/sha256.h"

namespace planrun {
namespace testing {
namespace {

const char kChecksum[] =
    "count(*), coalesce(sum(('x' || substr(md5(r::text), 1, 16))::bit(64)::bigint::numeric), "
    "0)::text";

std::string Record(const std::string& table, const std::string& location,
                   const std::string& source) {
  return "INSERT INTO \"planrun\".\"backups\" (version, step_id, table_name, location, "
         "row_count, checksum) SELECT '2', 's1', '" +
         table + "', '" + location + "', " + kChecksum + " FROM " + source +
         " AS r ON CONFLICT (version, step_id, table_name) DO UPDATE SET location = "
         "EXCLUDED.location, row_count = EXCLUDED.row_count, checksum = EXCLUDED.checksum, "
         "created_at = now() RETURNING row_count, checksum";
}

/// A fresh directory for dir-mode backups.
std::string TempDir(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() /
             ("planrun-backup-test-" + name + "-" + std::to_string(getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir.string();
}

std::string ReadAll(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

TEST_CASE("backup to the backup schema: reads, backed-up tables and SQL") {
  std::unique_ptr<Step> step;
  PARSE_OK(ParseBackupStep, "tables: [packages, auth.users]\n", &step);
  REQUIRE(step->Reads().size() == 2);
  CHECK(step->Reads()[1].Key() == "auth.users");
  REQUIRE(step->BackedUpTables().size() == 2);
  CHECK(step->BackedUpTables()[0].Key() == "public.packages");
  CHECK(step->Writes().empty());
  CHECK(step->reversibility() == Reversibility::kReversible);
  const std::string b1 = "\"planrun_backup\".\"v2__s1__public__packages\"";
  const std::string b2 = "\"planrun_backup\".\"v2__s1__auth__users\"";
  CHECK(step->DescribeUp(StepEnv()) ==
        std::vector<std::string>{
            "CREATE SCHEMA IF NOT EXISTS \"planrun_backup\"", "DROP TABLE IF EXISTS " + b1,
            "CREATE TABLE " + b1 + " AS TABLE \"packages\"",
            Record("public.packages", "planrun_backup.v2__s1__public__packages", b1),
            "DROP TABLE IF EXISTS " + b2, "CREATE TABLE " + b2 + " AS TABLE \"auth\".\"users\"",
            Record("auth.users", "planrun_backup.v2__s1__auth__users", b2)});
  CHECK(step->DescribeDown(StepEnv()) ==
        std::vector<std::string>{
            "DROP TABLE IF EXISTS " + b1 + ", " + b2,
            "DELETE FROM \"planrun\".\"backups\" WHERE version = '2' AND step_id = 's1'"});
}

TEST_CASE("backup Apply and Revert in schema mode run the described SQL") {
  std::unique_ptr<Step> step;
  PARSE_OK(ParseBackupStep, "tables: [packages, auth.users]\n", &step);
  Harness h;
  h.db.On("'public.packages'", Rows({{"10", "123"}}));
  h.db.On("'auth.users'", Rows({{"3", "-77"}}));
  REQUIRE(step->Apply(h.ctx).ok());
  CHECK(h.db.statements() == step->DescribeUp(StepEnv()));
  CHECK(h.ctx.counters["tables"] == 2);
  CHECK(h.ctx.counters["rows"] == 13);
  REQUIRE(step->Revert(h.ctx).ok());
  CHECK(h.db.statements().size() == 9);
  CHECK(h.db.statements()[7] == step->DescribeDown(StepEnv())[0]);
  CHECK(h.out.lines() ==
        std::vector<std::string>{
            "info: backed up packages (10 rows) to planrun_backup.v2__s1__public__packages",
            "info: backed up auth.users (3 rows) to planrun_backup.v2__s1__auth__users",
            "info: dropped backup tables planrun_backup.v2__s1__public__packages, "
            "planrun_backup.v2__s1__auth__users"});
}

TEST_CASE("backup to a directory writes COPY files, then metadata.json") {
  const std::string dir = TempDir("ok");
  std::unique_ptr<Step> step;
  PARSE_OK(ParseBackupStep, "tables: [packages]\nto: " + dir + "/\n", &step);
  CHECK(step->DescribeUp(StepEnv()) ==
        std::vector<std::string>{
            "LOCK TABLE \"packages\" IN SHARE MODE", "COPY \"packages\" TO STDOUT",
            Record("public.packages", dir + "/v2/public.packages.copy", "\"packages\"")});
  CHECK(step->DescribeDown(StepEnv()).empty());

  Plan plan;
  plan.name = "packages v2";
  Harness h;
  h.ctx.env.plan = &plan;
  h.db.On("pg_attribute a ON a.attrelid = c.rel",
          Rows({{"f", "id", "integer", "f", "t", "23"},
                {"f", "name", "text", "f", "f", "25"},
                {"f", "upper_name", "text", "t", "f", "25"}}));
  h.db.copy_out_chunks = {"1\tab\n2\t", "\\N\n"};
  h.db.On("INSERT INTO", Rows({{"2", "999"}}));
  REQUIRE(step->Apply(h.ctx).ok());
  CHECK(h.db.statements()[0] == "LOCK TABLE \"packages\" IN SHARE MODE");
  CHECK(h.db.statements()[2] == "COPY \"packages\" TO STDOUT");
  const std::string copy = dir + "/v2/public.packages.copy";
  CHECK(ReadAll(copy) == "1\tab\n2\t\\N\n");
  CHECK_FALSE(std::filesystem::exists(copy + ".tmp"));

  BackupMetadata m;
  REQUIRE(ParseMetadataJson("m", ReadAll(dir + "/v2/metadata.json"), &m).ok());
  CHECK(m.plan == "packages v2");
  CHECK(m.version == "2");
  CHECK(m.step_id == "s1");
  REQUIRE(m.tables.size() == 1);
  CHECK(m.tables[0].table == "public.packages");
  CHECK(m.tables[0].file == "public.packages.copy");
  CHECK(m.tables[0].rows == 2);
  CHECK(m.tables[0].sha256 == Sha256Hex("1\tab\n2\t\\N\n"));
  CHECK(m.tables[0].checksum == "999");
  REQUIRE(m.tables[0].columns.size() == 3);
  CHECK(m.tables[0].columns[2].name == "upper_name");
  CHECK(m.tables[0].columns[2].generated);
  CHECK(h.out.lines() == std::vector<std::string>{"info: backed up packages (2 rows) to " + copy});

  REQUIRE(step->Revert(h.ctx).ok());
  CHECK(std::filesystem::exists(copy));
  CHECK(h.out.lines().back() == "info: kept backup files in " + dir + "/v2");
  std::filesystem::remove_all(dir);
}

TEST_CASE("backup to a directory in a dry run reads the tables but writes nothing") {
  const std::string dir = TempDir("dry") + "/backups";
  std::unique_ptr<Step> step;
  PARSE_OK(ParseBackupStep, "tables: [packages]\nto: " + dir + "\n", &step);
  Harness h;
  h.ctx.dry_run = true;
  h.db.On("pg_attribute a ON a.attrelid = c.rel", Rows({{"f", "id", "integer", "f", "f", "23"}}));
  h.db.copy_out_chunks = {"1\n2\n"};
  h.db.On("INSERT INTO", Rows({{"2", "5"}}));
  REQUIRE(step->Apply(h.ctx).ok());
  CHECK(h.db.statements().size() == 4);
  CHECK(h.db.statements()[2] == "COPY \"packages\" TO STDOUT");
  CHECK_FALSE(std::filesystem::exists(dir));
  CHECK(h.out.lines() ==
        std::vector<std::string>{"info: read packages (2 rows) without writing it: dry run"});
  std::filesystem::remove_all(std::filesystem::path(dir).parent_path());
}

TEST_CASE("backup to a directory fails when COPY and the count disagree") {
  const std::string dir = TempDir("count");
  std::unique_ptr<Step> step;
  PARSE_OK(ParseBackupStep, "tables: [packages]\nto: " + dir + "\n", &step);
  Harness h;
  h.db.On("pg_attribute a ON a.attrelid = c.rel", Rows({{"f", "id", "integer", "f", "f", "23"}}));
  h.db.copy_out_chunks = {"1\n"};
  h.db.On("INSERT INTO", Rows({{"2", "5"}}));
  CHECK(step->Apply(h.ctx).message() ==
        "backup of packages is inconsistent: COPY wrote 1 rows but the table has 2");
  CHECK_FALSE(std::filesystem::exists(dir + "/v2/metadata.json"));
  std::filesystem::remove_all(dir);
}

TEST_CASE("backup to a directory removes the temp file when writing fails") {
  const std::string dir = TempDir("fail");
  std::unique_ptr<Step> step;
  PARSE_OK(ParseBackupStep, "tables: [packages]\nto: " + dir + "\n", &step);
  // An old metadata.json must not survive a failed backup.
  std::filesystem::create_directories(dir + "/v2");
  std::ofstream(dir + "/v2/metadata.json") << "{}";
  Harness h;
  h.db.On("pg_attribute a ON a.attrelid = c.rel", Rows({{"f", "id", "integer", "f", "f", "23"}}));
  h.db.FailOn("COPY", Status::Database("canceling statement due to user request", "57014"));
  CHECK(step->Apply(h.ctx).message() == "canceling statement due to user request");
  CHECK(std::filesystem::is_empty(dir + "/v2"));
  std::filesystem::remove_all(dir);
}

TEST_CASE("backup parse errors") {
  std::unique_ptr<Step> step;
  auto error = [&](const std::string& yaml) {
    return ParseBody(ParseBackupStep, yaml, &step).message();
  };
  CHECK(error("to: x\n") == "plan.yaml:1:1: error: backup step needs 'tables'\nto: x\n^");
  CHECK(error("tables: []\n") ==
        "plan.yaml:1:9: error: 'tables' in backup step is empty\ntables: []\n        ^");
  CHECK(error("tables: [a, public.a]\n") ==
        "plan.yaml:1:9: error: table public.a is listed twice in backup step\n"
        "tables: [a, public.a]\n        ^");
  CHECK(error("tables: [a]\nto: ''\n") ==
        "plan.yaml:2:5: error: 'to' in backup step is empty\nto: ''\n    ^");
  CHECK(error("tabels: [a]\n") ==
        "plan.yaml:1:1: error: unknown key 'tabels' in backup step; did you mean 'tables'?\n"
        "tabels: [a]\n^");
}

TEST_CASE("RestoreTableFromBackup in schema mode keeps referenced rows in place") {
  std::unique_ptr<Step> step;
  PARSE_OK(ParseBackupStep, "tables: [packages]\n", &step);
  StepDecl decl;
  decl.id = "s1";
  decl.step = std::move(step);
  Harness h;
  const std::string b = "\"planrun_backup\".\"v2__s1__public__packages\"";
  h.db.On("FROM \"planrun\".\"backups\"", Rows({{"3", "42"}}));
  h.db.On("pg_attribute a ON a.attrelid = c.rel",
          Rows({{"f", "id", "integer", "f", "f", "23"}, {"f", "name", "text", "f", "f", "25"}}));
  h.db.On("pg_attribute a ON a.attrelid = c.rel", Rows({{"f", "id", "integer", "f", "f", "23"},
                                                        {"f", "name", "text", "f", "f", "25"},
                                                        {"f", "added", "text", "f", "f", "25"}}));
  h.db.On("i.indisprimary", Rows({{"id"}}));
  h.db.On("DELETE", Affected(1));
  h.db.On("UPDATE", Affected(2));
  h.db.On("INSERT", Affected(1));
  h.db.On("coalesce(sum(", Rows({{"3", "42"}}));
  REQUIRE(RestoreTableFromBackup(h.ctx, decl, TableName{"", "packages"}).ok());
  const std::vector<std::string>& sql = h.db.statements();
  REQUIRE(sql.size() == 8);
  CHECK(sql[0] ==
        "SELECT row_count, checksum FROM \"planrun\".\"backups\" WHERE version = $1 AND step_id "
        "= $2 AND table_name = $3 [$1=2, $2=s1, $3=public.packages]");
  CHECK(sql[4] == "DELETE FROM \"packages\" AS d WHERE NOT EXISTS (SELECT 1 FROM " + b +
                      " AS s WHERE d.\"id\" = s.\"id\")");
  CHECK(sql[5] == "UPDATE \"packages\" AS d SET \"name\" = s.\"name\" FROM " + b +
                      " AS s WHERE d.\"id\" = s.\"id\" AND ROW(d.\"name\")::text IS DISTINCT "
                      "FROM ROW(s.\"name\")::text");
  CHECK(sql[6] ==
        "INSERT INTO \"packages\" (\"id\", \"name\") OVERRIDING SYSTEM VALUE SELECT "
        "s.\"id\", s.\"name\" FROM " +
            b +
            " AS s WHERE NOT EXISTS (SELECT 1 FROM \"packages\" AS d WHERE d.\"id\" = "
            "s.\"id\")");
  CHECK(sql[7] ==
        "SELECT count(*), coalesce(sum(('x' || substr(md5(ROW(r.\"id\", r.\"name\")::text), 1, "
        "16))::bit(64)::bigint::numeric), 0)::text FROM \"packages\" AS r");
  CHECK(h.ctx.counters["rows_restored"] == 4);
  CHECK(h.out.lines() ==
        std::vector<std::string>{"info: restored packages from "
                                 "planrun_backup.v2__s1__public__packages: 1 deleted, 2 "
                                 "updated, 1 inserted"});
}

TEST_CASE("RestoreTableFromBackup fails with both checksums when they differ") {
  std::unique_ptr<Step> step;
  PARSE_OK(ParseBackupStep, "tables: [packages]\n", &step);
  StepDecl decl;
  decl.id = "s1";
  decl.step = std::move(step);
  Harness h;
  h.db.On("FROM \"planrun\".\"backups\"", Rows({{"3", "42"}}));
  h.db.On("pg_attribute a ON a.attrelid = c.rel", Rows({{"f", "id", "integer", "f", "f", "23"}}));
  h.db.On("pg_attribute a ON a.attrelid = c.rel", Rows({{"f", "id", "integer", "f", "f", "23"}}));
  h.db.On("coalesce(sum(", Rows({{"4", "50"}}));
  CHECK(RestoreTableFromBackup(h.ctx, decl, TableName{"", "packages"}).message() ==
        "restore of packages does not match its backup: 4 rows with checksum 50 after restore, "
        "3 rows with checksum 42 recorded at backup");
  CHECK(h.db.statements()[4] == "DELETE FROM \"packages\"");
}

TEST_CASE("RestoreTableFromBackup refuses what it cannot restore exactly") {
  std::unique_ptr<Step> step;
  PARSE_OK(ParseBackupStep, "tables: [packages]\n", &step);
  StepDecl decl;
  decl.id = "s1";
  decl.step = std::move(step);
  Harness h;
  CHECK(RestoreTableFromBackup(h.ctx, decl, TableName{"", "packages"}).message() ==
        "no backup of packages by step 's1' of plan 2 is recorded in planrun.backups");
  CHECK(RestoreTableFromBackup(h.ctx, decl, TableName{"", "teams"}).message() ==
        "backup step 's1' does not save teams");
  h.db.On("FROM \"planrun\".\"backups\"", Rows({{"3", "42"}}));
  h.db.On("pg_attribute a ON a.attrelid = c.rel",
          Rows({{"f", "id", "integer", "f", "f", "23"}, {"f", "gone", "text", "f", "f", "25"}}));
  h.db.On("pg_attribute a ON a.attrelid = c.rel", Rows({{"f", "id", "integer", "f", "f", "23"}}));
  CHECK(RestoreTableFromBackup(h.ctx, decl, TableName{"", "packages"}).message() ==
        "cannot restore packages exactly: column 'gone' of the backup no longer exists in the "
        "table");
}

}  // namespace
}  // namespace testing
}  // namespace planrun
