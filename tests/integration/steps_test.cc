// Every built-in step kind against a real PostgreSQL: each applied and
// reverted leaves the data as it was; backups restore exact rows; the
// concurrent index build handles duplicates; dir backups write checkable
// files and fail cleanly.
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "plan/parser.h"
#include "plan/plan.h"
#include "report/reporter.h"
#include "steps/backup_files.h"
#include "steps/backup_step.h"
#include "steps/builtin.h"
#include "steps/table_info.h"
#include "support.h"
#include "util/sha256.h"

namespace planrun {
namespace testing {
namespace {

const char kSchema[] = R"(
CREATE SCHEMA planrun;
CREATE TABLE planrun.backups (
  version text NOT NULL,
  step_id text NOT NULL,
  table_name text NOT NULL,
  location text NOT NULL,
  row_count bigint NOT NULL,
  checksum text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (version, step_id, table_name));
CREATE TABLE teams (id bigint PRIMARY KEY, name text NOT NULL);
CREATE TABLE packages (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name text NOT NULL,
  team_id bigint REFERENCES teams (id),
  meta jsonb,
  legacy text DEFAULT 'none',
  flags integer NOT NULL DEFAULT 0);
CREATE TABLE downloads (
  id serial PRIMARY KEY,
  package_id bigint NOT NULL REFERENCES packages (id),
  n integer NOT NULL);
CREATE TABLE scores (id integer PRIMARY KEY, points integer,
  doubled integer GENERATED ALWAYS AS (points * 2) STORED);
CREATE TABLE tags (tag text, n integer);
INSERT INTO teams VALUES (1, 'core'), (2, 'web');
INSERT INTO packages (name, team_id, meta, legacy, flags)
  SELECT 'pkg-' || i, CASE WHEN i % 3 = 0 THEN NULL ELSE i % 2 + 1 END,
         CASE WHEN i % 4 = 0 THEN NULL ELSE jsonb_build_object('i', i, 'tab', E'a\tb') END,
         CASE WHEN i % 5 = 0 THEN NULL ELSE 'legacy ' || i END, i % 7
  FROM generate_series(1, 40) AS i;
INSERT INTO downloads (package_id, n) SELECT i, i * 10 FROM generate_series(1, 10) AS i;
INSERT INTO scores VALUES (1, 10), (2, NULL), (3, 30);
INSERT INTO tags VALUES ('cli', 1), ('cli', 1), (NULL, 2), ('web', NULL);
)";

const char kPlan[] = R"(version: 2
name: steps_test
steps:
  - id: add
    add_columns:
      table: packages
      columns:
        - {name: description, type: character varying(200), default: "'none'", not_null: true}
        - {name: owner_team, type: bigint, references: teams(id)}
        - {name: score, type: 'numeric(10,2)', check: score >= 0, unique: true}
  - id: rename
    rename_columns: {table: packages, columns: {name: title, legacy: old_legacy}}
  - id: drop
    drop_columns: {table: packages, columns: [legacy, flags]}
  - id: drop_generated
    drop_columns: {table: scores, columns: [doubled]}
  - id: index
    create_index: {table: packages, columns: [name], unique: true}
  - id: fill
    sql:
      up: UPDATE packages SET flags = flags + 1
      down: UPDATE packages SET flags = flags - 1
      writes: [packages]
  - id: check
    verify:
      - {name: forty packages, sql: SELECT count(*) FROM packages, expect: 40}
      - {name: no empty names, sql: SELECT id FROM packages WHERE name = '', expect_rows: 0}
  - id: save
    backup: {tables: [packages, tags, scores]}
  - id: save_files
    backup: {tables: [packages, tags, scores], to: DIR}
)";

/// A test database with the schema above, a parsed plan and a session.
struct Fixture {
  explicit Fixture(const std::string& name, const std::string& backup_dir = "/nonexistent") {
    conn = FreshDatabase(name);
    ExecSql(conn, kSchema);
    db = Connect(conn);
    std::string text = kPlan;
    text.replace(text.find("DIR"), 3, backup_dir);
    Status st = ParsePlan(SourceFile{"steps_test.yaml", text}, BuiltinSteps(), &plan);
    INFO(st.message());
    REQUIRE(st.ok());
  }

  const StepDecl& Decl(const std::string& id) const {
    const StepDecl* d = plan.FindStep(id);
    REQUIRE(d != nullptr);
    return *d;
  }

  StepContext Context(const StepDecl& d) {
    StepContext ctx;
    ctx.db = db.get();
    ctx.out = &out;
    ctx.env.plan = &plan;
    ctx.env.decl = &d;
    return ctx;
  }

  /// Applies or reverts step `id` the way the executor does: in a
  /// transaction when the step wants one, committed only on success.
  Status Run(const std::string& id, bool revert = false) {
    const StepDecl& d = Decl(id);
    StepContext ctx = Context(d);
    const bool tx = revert ? d.step->RevertTransactional() : d.step->Transactional();
    if (tx) REQUIRE(db->Exec("BEGIN").ok());
    Status st = revert ? d.step->Revert(ctx) : d.step->Apply(ctx);
    if (tx) REQUIRE(db->Exec(st.ok() ? "COMMIT" : "ROLLBACK").ok());
    return st;
  }

  /// Restores `table` from backup step `backup_id` in one transaction.
  Status Restore(const std::string& backup_id, const TableName& table) {
    const StepDecl& d = Decl(backup_id);
    StepContext ctx = Context(d);
    REQUIRE(db->Exec("BEGIN").ok());
    Status st = RestoreTableFromBackup(ctx, d, table);
    REQUIRE(db->Exec(st.ok() ? "COMMIT" : "ROLLBACK").ok());
    return st;
  }

  std::string Data() const { return TableChecksums(conn, {"planrun", "planrun_backup"}); }
  std::string Value(const std::string& sql) const { return QueryValue(conn, sql); }

  std::string conn;
  std::unique_ptr<pg::Session> db;
  Plan plan;
  RecordingReporter out;
};

void RequireOk(const Status& st) {
  INFO(st.message());
  REQUIRE(st.ok());
}

std::string ReadAll(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

/// Changes packages (update, delete an unreferenced row, insert), adds a
/// download that points at a backed-up package, and scrambles tags.
void ChangeData(Fixture& f) {
  ExecSql(f.conn,
          "UPDATE packages SET name = name || '-x', meta = '{\"changed\": true}' WHERE id <= 5;"
          "UPDATE packages SET team_id = NULL WHERE id = 13;"
          "DELETE FROM packages WHERE id IN (30, 31);"
          "INSERT INTO packages (name) VALUES ('new');"
          "INSERT INTO downloads (package_id, n) VALUES (3, 999);"
          "DELETE FROM tags WHERE tag = 'web';"
          "INSERT INTO tags VALUES ('cli', 1), ('new', 5);"
          "UPDATE scores SET points = 99 WHERE id = 1;");
}

TEST_CASE("each step kind applied and reverted leaves the data identical") {
  Fixture f("steps_test");
  const std::string before = f.Data();
  for (const char* id :
       {"add", "rename", "drop", "drop_generated", "index", "fill", "check", "save"}) {
    INFO(id);
    RequireOk(f.Run(id));
    RequireOk(f.Run(id, true));
    CHECK(f.Data() == before);
  }
  CHECK(f.Value("SELECT count(*) FROM pg_tables WHERE schemaname = 'planrun_backup'") == "0");
  CHECK(f.Value("SELECT count(*) FROM planrun.backups") == "0");
}

TEST_CASE("add_columns and rename_columns change the table as declared") {
  Fixture f("steps_test");
  RequireOk(f.Run("add"));
  CHECK(f.Value("SELECT string_agg(column_name || ' ' || data_type || ' ' || is_nullable || ' ' "
                "|| coalesce(column_default, '-'), ', ' ORDER BY ordinal_position) FROM "
                "information_schema.columns WHERE table_name = 'packages' AND ordinal_position "
                "> 6") ==
        "description character varying NO 'none'::character varying, "
        "owner_team bigint YES -, score numeric YES -");
  CHECK(f.Value("SELECT count(*) FROM pg_constraint WHERE conrelid = 'packages'::regclass AND "
                "contype IN ('f', 'u', 'c')") == "4");
  CHECK(f.out.lines().back() == "info: added columns description, owner_team, score to packages");
  RequireOk(f.Run("rename"));
  CHECK(f.Value("SELECT count(*) FROM information_schema.columns WHERE table_name = 'packages' "
                "AND column_name IN ('title', 'old_legacy')") == "2");
}

TEST_CASE("drop_columns keeps the data and restores type, default and NOT NULL") {
  Fixture f("steps_test");
  const std::string before = f.Data();
  const std::string columns =
      "SELECT string_agg(column_name || ' ' || data_type || ' ' || is_nullable || ' ' || "
      "coalesce(column_default, '-'), ', ' ORDER BY ordinal_position) FROM "
      "information_schema.columns WHERE table_name = 'packages'";
  const std::string definitions = f.Value(columns);
  RequireOk(f.Run("drop"));
  CHECK(f.Value("SELECT count(*) FROM information_schema.columns WHERE table_name = 'packages' "
                "AND column_name IN ('legacy', 'flags')") == "0");
  CHECK(f.Value("SELECT count(*) FROM planrun_backup.v2__drop__public__packages") == "40");
  CHECK(f.Value("SELECT string_agg(name || ' ' || type || ' ' || not_null || ' ' || "
                "coalesce(expr, '-'), ', ' ORDER BY ordinal) FROM "
                "planrun_backup.v2__drop__public__packages__columns") ==
        "legacy text false 'none'::text, flags integer true 0");
  // Rows written after the drop get the restored default.
  ExecSql(f.conn, "INSERT INTO packages (name) VALUES ('later')");
  RequireOk(f.Run("drop", true));
  CHECK(f.Value(columns) == definitions);
  CHECK(f.Value("SELECT legacy || ' ' || flags FROM packages WHERE name = 'later'") == "none 0");
  ExecSql(f.conn, "DELETE FROM packages WHERE name = 'later'");
  CHECK(f.Data() == before);
  CHECK(f.Value("SELECT count(*) FROM pg_tables WHERE schemaname = 'planrun_backup'") == "0");
}

TEST_CASE("drop_columns refuses a table without a primary key") {
  Fixture f("steps_test");
  SourceFile file{"p.yaml",
                  "version: 3\nname: t\nsteps:\n  - id: d\n    drop_columns: {table: tags, "
                  "columns: [n]}\n"};
  Plan plan;
  RequireOk(ParsePlan(file, BuiltinSteps(), &plan));
  StepContext ctx = f.Context(plan.steps[0]);
  ctx.env.plan = &plan;
  CHECK(plan.steps[0].step->Apply(ctx).message() ==
        "drop_columns needs a primary key on tags to restore the dropped columns exactly on "
        "rollback; add a primary key, or use a sql step after a backup step");
}

TEST_CASE("backup and restore bring back exact rows and keep referencing rows") {
  Fixture f("steps_test");
  const std::string before = f.Data();
  RequireOk(f.Run("save"));
  CHECK(f.Value("SELECT string_agg(table_name || ' ' || location || ' ' || row_count, ', ' "
                "ORDER BY table_name) FROM planrun.backups") ==
        "public.packages planrun_backup.v2__save__public__packages 40, "
        "public.scores planrun_backup.v2__save__public__scores 3, "
        "public.tags planrun_backup.v2__save__public__tags 4");
  TableSum sum;
  RequireOk(TableChecksum(*f.db, TableName{"", "packages"}, {}, &sum));
  CHECK(f.Value("SELECT checksum FROM planrun.backups WHERE table_name = 'public.packages'") ==
        sum.checksum);

  ChangeData(f);
  for (const char* t : {"packages", "tags", "scores"})
    RequireOk(f.Restore("save", TableName{"", t}));
  ExecSql(f.conn, "DELETE FROM downloads WHERE n = 999");
  CHECK(f.Data() == before);
  CHECK(f.out.lines()[3] ==
        "info: restored packages from planrun_backup.v2__save__public__packages: "
        "1 deleted, 6 updated, 2 inserted");
  CHECK(f.out.lines()[4] ==
        "info: restored tags from planrun_backup.v2__save__public__tags: "
        "5 deleted, 4 inserted");
}

TEST_CASE("restore keeps the download rows that point at restored packages") {
  Fixture f("steps_test");
  RequireOk(f.Run("save"));
  ExecSql(f.conn,
          "UPDATE packages SET name = 'renamed' WHERE id = 3;"
          "INSERT INTO downloads (package_id, n) VALUES (3, 999)");
  RequireOk(f.Restore("save", TableName{"", "packages"}));
  CHECK(f.Value("SELECT name FROM packages WHERE id = 3") == "pkg-3");
  CHECK(f.Value("SELECT count(*) FROM downloads WHERE package_id = 3") == "2");
}

TEST_CASE("restore fails when a row it must delete is still referenced") {
  Fixture f("steps_test");
  RequireOk(f.Run("save"));
  ExecSql(f.conn,
          "INSERT INTO packages (name) VALUES ('new');"
          "INSERT INTO downloads (package_id, n) SELECT id, 1 FROM packages WHERE name = "
          "'new'");
  Status st = f.Restore("save", TableName{"", "packages"});
  CHECK(st.code() == StatusCode::kDatabase);
  CHECK(st.sqlstate() == "23503");
  CHECK(f.Value("SELECT count(*) FROM packages") == "41");
}

TEST_CASE("restore reports a backup that no longer matches its checksum") {
  Fixture f("steps_test");
  RequireOk(f.Run("save"));
  ExecSql(f.conn, "UPDATE planrun_backup.v2__save__public__tags SET n = 7 WHERE tag = 'web'");
  TableSum want;
  RequireOk(TableChecksum(*f.db, TableName{"", "tags"}, {}, &want));
  TableSum got;
  ExecSql(f.conn, "UPDATE tags SET n = 7 WHERE tag = 'web'");
  RequireOk(TableChecksum(*f.db, TableName{"", "tags"}, {}, &got));
  ExecSql(f.conn, "UPDATE tags SET n = NULL WHERE tag = 'web'");
  CHECK(f.Restore("save", TableName{"", "tags"}).message() ==
        "restore of tags does not match its backup: 4 rows with checksum " + got.checksum +
            " after restore, 4 rows with checksum " + want.checksum + " recorded at backup");
  CHECK(f.Value("SELECT n IS NULL FROM tags WHERE tag = 'web'") == "t");
}

TEST_CASE("backup to a directory writes files that match the table") {
  const std::string dir = TempDir("planrun-steps-backup");
  Fixture f("steps_test", dir);
  const std::string before = f.Data();
  RequireOk(f.Run("save_files"));
  BackupMetadata m;
  RequireOk(ParseMetadataJson("metadata.json", ReadAll(dir + "/v2/metadata.json"), &m));
  CHECK(m.plan == "steps_test");
  CHECK(m.version == "2");
  CHECK(m.step_id == "save_files");
  REQUIRE(m.tables.size() == 3);
  for (const BackupFileEntry& e : m.tables) {
    INFO(e.table);
    const std::string text = ReadAll(dir + "/v2/" + e.file);
    CHECK(e.file == e.table + ".copy");
    CHECK(std::count(text.begin(), text.end(), '\n') == e.rows);
    CHECK(Sha256Hex(text) == e.sha256);
    TableSum sum;
    RequireOk(TableChecksum(*f.db, TableName{"public", e.table.substr(7)}, {}, &sum));
    CHECK(sum.rows == e.rows);
    CHECK(sum.checksum == e.checksum);
    CHECK(f.Value("SELECT row_count || ' ' || checksum || ' ' || location FROM planrun.backups "
                  "WHERE table_name = '" +
                  e.table + "'") ==
          std::to_string(e.rows) + " " + e.checksum + " " + dir + "/v2/" + e.file);
  }
  CHECK(m.tables[0].rows == 40);
  CHECK(m.tables[2].columns.size() == 3);
  CHECK(m.tables[2].columns[2].generated);

  ChangeData(f);
  for (const char* t : {"packages", "tags", "scores"}) {
    RequireOk(f.Restore("save_files", TableName{"", t}));
  }
  ExecSql(f.conn, "DELETE FROM downloads WHERE n = 999");
  CHECK(f.Data() == before);

  RequireOk(f.Run("save_files", true));
  CHECK(std::filesystem::exists(dir + "/v2/metadata.json"));
  CHECK(f.out.lines().back() == "info: kept backup files in " + dir + "/v2");
  std::filesystem::remove_all(dir);
}

TEST_CASE("restore from a directory refuses a damaged file") {
  const std::string dir = TempDir("planrun-steps-damaged");
  Fixture f("steps_test", dir);
  RequireOk(f.Run("save_files"));
  std::ofstream(dir + "/v2/public.tags.copy", std::ios::app) << "evil\t1\n";
  Status st = f.Restore("save_files", TableName{"", "tags"});
  CHECK(st.message().find("backup file " + dir +
                          "/v2/public.tags.copy is damaged: its sha256 is ") == 0);
  std::filesystem::remove_all(dir);
}

TEST_CASE("backup into an unwritable directory fails and leaves no metadata.json") {
  const std::string dir = TempDir("planrun-steps-unwritable");
  WriteFile(dir + "/blocker", "a file where a directory should be");
  Fixture f("steps_test", dir + "/blocker/backups");
  Status st = f.Run("save_files");
  CHECK(st.code() == StatusCode::kIo);
  CHECK(st.message() ==
        "cannot create backup directory " + dir + "/blocker/backups/v2: Not a directory");
  CHECK(f.Value("SELECT count(*) FROM planrun.backups") == "0");
  std::filesystem::remove_all(dir);
}

TEST_CASE("backup that fails on a later table leaves no temp file and no metadata.json") {
  const std::string dir = TempDir("planrun-steps-partial");
  Fixture f("steps_test", dir);
  // A directory where the temp file of the second table would go.
  std::filesystem::create_directories(dir + "/v2/public.tags.copy.tmp");
  Status st = f.Run("save_files");
  CHECK(st.code() == StatusCode::kIo);
  CHECK(st.message() == "cannot create " + dir + "/v2/public.tags.copy.tmp: Is a directory");
  CHECK_FALSE(std::filesystem::exists(dir + "/v2/metadata.json"));
  CHECK_FALSE(std::filesystem::exists(dir + "/v2/public.packages.copy.tmp"));
  CHECK(f.Value("SELECT count(*) FROM planrun.backups") == "0");
  if (geteuid() != 0) {
    std::filesystem::remove_all(dir + "/v2");
    REQUIRE(chmod(dir.c_str(), 0500) == 0);
    st = f.Run("save_files");
    CHECK(st.code() == StatusCode::kIo);
    CHECK_FALSE(std::filesystem::exists(dir + "/v2/metadata.json"));
    chmod(dir.c_str(), 0700);
  }
  std::filesystem::remove_all(dir);
}

TEST_CASE("create_index concurrently builds a valid index and drops it on revert") {
  Fixture f("steps_test");
  RequireOk(f.Run("index"));
  CHECK(f.Value("SELECT indisvalid AND indisunique FROM pg_index WHERE indexrelid = "
                "to_regclass('public.packages_name_idx')") == "t");
  RequireOk(f.Run("index"));  // runs again after a crash: nothing to do
  RequireOk(f.Run("index", true));
  CHECK(f.Value("SELECT to_regclass('public.packages_name_idx') IS NULL") == "t");
}

TEST_CASE("create_index over duplicates fails, drops the invalid index, then succeeds") {
  Fixture f("steps_test");
  ExecSql(f.conn, "UPDATE packages SET name = 'dup' WHERE id IN (7, 8)");
  Status st = f.Run("index");
  CHECK(st.code() == StatusCode::kFailed);
  CHECK(st.message() ==
        "index \"packages_name_idx\" is invalid after CREATE INDEX CONCURRENTLY (a duplicate "
        "key?); dropped it, fix the data and run apply again: could not create unique index "
        "\"packages_name_idx\"\nDETAIL:  Key (name)=(dup) is duplicated.");
  CHECK(f.Value("SELECT to_regclass('public.packages_name_idx') IS NULL") == "t");

  // An invalid index left by a crashed run is dropped and built again.
  Status leftover =
      f.db->Exec("CREATE UNIQUE INDEX CONCURRENTLY packages_name_idx ON packages (name)");
  REQUIRE_FALSE(leftover.ok());
  CHECK(f.Value("SELECT indisvalid FROM pg_index WHERE indexrelid = "
                "to_regclass('public.packages_name_idx')") == "f");
  ExecSql(f.conn, "UPDATE packages SET name = 'pkg-' || id WHERE id IN (7, 8)");
  RequireOk(f.Run("index"));
  CHECK(f.Value("SELECT indisvalid FROM pg_index WHERE indexrelid = "
                "to_regclass('public.packages_name_idx')") == "t");
}

TEST_CASE("verify reports a failing assertion with the real value") {
  Fixture f("steps_test");
  ExecSql(f.conn, "INSERT INTO packages (name) VALUES ('')");
  Status st = f.Run("check");
  CHECK(st.message() ==
        "verify step 'check' failed: 2 of 2 assertions\n"
        "  assertion 'forty packages' failed\n"
        "    query:    SELECT count(*) FROM packages\n"
        "    expected: 40\n"
        "    actual:   41\n"
        "  assertion 'no empty names' failed\n"
        "    query:    SELECT id FROM packages WHERE name = ''\n"
        "    expected: 0 rows\n"
        "    actual:   1 row\n"
        "      id\n"
        "      41");
}

}  // namespace
}  // namespace testing
}  // namespace planrun
