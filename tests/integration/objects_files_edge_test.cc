// The `objects` step with a files source at its edges: entries the scan
// refuses (a name that is not UTF-8, a file over max_bytes) while it goes
// on, {content_type} from the extension, no JSON kept without a template
// that names it, an insert error that is not the row's fault failing the
// batch, --retry-rejects over a list that lost a path, and restart and
// rollback after insert.key was edited. Rows are checked against the files.
#include <catch2/catch.hpp>
#include <string>

#include "support.h"
#include "util/sha256.h"

namespace planrun {
namespace testing {
namespace {

/// The step's list of files in the backup schema.
const char kFilesTable[] = "planrun_backup.\"v1__upload_files__public__uploads__files\"";

/// A plan folder with the upload step; `key` is insert.key, `extra` more settings.
std::string PlanDir(const std::string& key, const std::string& extra) {
  const std::string dir = TempDir("objects-edge-plans");
  WriteFile(dir + "/1_files.yaml",
            "version: 1\nname: files\nsteps:\n  - id: upload_files\n    objects:\n"
            "      from: {files: \"in/**\", root: env:FILES_DIR}\n"
            "      to: {store: dir, path: env:OUT_DIR, key: \"{sha256}\"}\n"
            "      insert:\n        table: uploads\n        key: " +
                key +
                "\n        columns: {path: \"{path}\", name: \"{name}\", content_type: "
                "\"{content_type}\", sha256: \"{sha256}\", size: \"{size}\"}\n"
                "      delete_on_rollback: true\n" +
                extra);
  return dir;
}

/// The uploads table: path and name each unique, so either can be insert.key.
void MakeTable(const std::string& conn) {
  ExecSql(conn,
          "CREATE TABLE uploads (path text PRIMARY KEY, name text NOT NULL UNIQUE, content_type "
          "text, sha256 text, size bigint CHECK (size < 1000))");
}

/// The table's rows, one "path|name|content_type|sha256|size" per line.
std::string Rows(const std::string& conn) {
  return QueryValue(conn,
                    "SELECT coalesce(string_agg(concat_ws('|', path, name, content_type, sha256, "
                    "size), E'\\n' ORDER BY path COLLATE \"C\"), '') FROM uploads");
}

/// The open rejects, one "row_key reason" per line.
std::string Rejects(const std::string& conn) {
  return QueryValue(conn,
                    "SELECT coalesce(string_agg(row_key::text || ' ' || reason, E'\\n' ORDER BY "
                    "row_key::text), '') FROM planrun.rejects WHERE resolved_at IS NULL");
}

/// "path|name|content_type|sha256|size" of a file that moved.
std::string Row(const std::string& path, const std::string& name, const std::string& type,
                const std::string& body) {
  return path + "|" + name + "|" + type + "|" + Sha256Hex(body) + "|" + std::to_string(body.size());
}

TEST_CASE("a files scan refuses a name that is not UTF-8 and a file over max_bytes, and goes on") {
  const std::string root = TempDir("objects-edge-root");
  WriteFile(root + "/in/a.png", "png bytes");
  WriteFile(root + "/in/bad\xff.txt", "latin-1 name");
  WriteFile(root + "/in/big.bin", std::string(200, 'x'));
  WriteFile(root + "/in/c.json", "{\"name\": \"c\"}");
  WriteFile(root + "/in/d.taptik", "package");
  const std::string out = TempDir("objects-edge-out");
  const std::string db = "ofix_refused";
  const std::string conn = FreshDatabase(db);
  MakeTable(conn);
  const std::string dir = PlanDir("path", "      max_bytes: 100\n      max_rejects: 2\n");
  const std::map<std::string, std::string> env = {{"FILES_DIR", root}, {"OUT_DIR", out}};

  CommandResult dry = Planrun(db, {"--plans", dir, "apply", "--dry-run"}, env);
  INFO(dry.err);
  REQUIRE(dry.exit_code == 0);
  CHECK_THAT(dry.err, Catch::Contains("objects upload_files (dry run): 3 files under " + root +
                                      " match in/** (2 refused)"));

  CommandResult r = Planrun(db, {"--plans", dir, "apply"}, env);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.err, Catch::Contains("objects upload_files: scanned " + root +
                                    ": 3 files match in/**, 2 "
                                    "refused"));
  CHECK(Rows(conn) == Row("in/a.png", "a.png", "image/png", "png bytes") + "\n" +
                          Row("in/c.json", "c.json", "application/json", "{\"name\": \"c\"}") +
                          "\n" +
                          Row("in/d.taptik", "d.taptik", "application/octet-stream", "package"));
  CHECK(Rejects(conn) ==
        "[\"in/bad\\\\xff.txt\"] in/bad\\xff.txt is a file whose name is not valid UTF-8\n"
        "[\"in/big.bin\"] in/big.bin is larger than max_bytes (100)");
  // No template names {json...}: the list keeps no file's content.
  CHECK(QueryValue(conn, std::string("SELECT count(json) FROM ") + kFilesTable) == "0");
}

TEST_CASE("an insert error that is not the row's fault fails the batch; a re-run resumes") {
  const std::string root = TempDir("objects-edge-lock");
  WriteFile(root + "/in/a.txt", "a");
  WriteFile(root + "/in/b.txt", "b");
  WriteFile(root + "/in/c.txt", std::string(2000, 'c'));  // size breaks the CHECK: a reject
  const std::string out = TempDir("objects-edge-lock-out");
  const std::string db = "ofix_lock";
  const std::string conn = FreshDatabase(db);
  MakeTable(conn);
  ExecSql(conn,
          "CREATE FUNCTION busy() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF NEW.name = "
          "'b.txt' THEN RAISE EXCEPTION 'uploads is busy' USING ERRCODE = '55P03'; END IF; "
          "RETURN NEW; END $$; CREATE TRIGGER busy BEFORE INSERT ON uploads FOR EACH ROW "
          "EXECUTE FUNCTION busy()");
  const std::string dir = PlanDir("path", "      max_rejects: 5\n");
  const std::map<std::string, std::string> env = {{"FILES_DIR", root}, {"OUT_DIR", out}};

  // 55P03 is lock_not_available: the step retries it as a lock wait, then fails.
  CommandResult r = Planrun(db, {"--plans", dir, "apply"}, env);
  INFO(r.err);
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Catch::Contains("warn  step upload_files could not get a lock within "
                                    "lock_timeout; retry 5 of 5 in 3.2s\nerror: step "
                                    "'upload_files' of plan 1 files failed to apply: uploads is "
                                    "busy\nCONTEXT:  PL/pgSQL function busy() line 1 at RAISE"));
  CHECK(Rows(conn) == "");  // the batch rolled back, a.txt with it
  CHECK(Rejects(conn) == "");

  ExecSql(conn, "DROP TRIGGER busy ON uploads");
  r = Planrun(db, {"--plans", dir, "apply"}, env);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(Rows(conn) == Row("in/a.txt", "a.txt", "text/plain", "a") + "\n" +
                          Row("in/b.txt", "b.txt", "text/plain", "b"));
  CHECK_THAT(Rejects(conn),
             Catch::StartsWith("[\"in/c.txt\"] insert into uploads: new row for relation "
                               "\"uploads\" violates check constraint \"uploads_size_check\""));
}

TEST_CASE("--retry-rejects leaves open a reject whose path the list no longer holds") {
  const std::string root = TempDir("objects-edge-retry");
  WriteFile(root + "/in/a.txt", "a");
  WriteFile(root + "/in/big.txt", std::string(2000, 'b'));
  WriteFile(root + "/in/huge.txt", std::string(3000, 'h'));
  const std::string out = TempDir("objects-edge-retry-out");
  const std::string db = "ofix_retry";
  const std::string conn = FreshDatabase(db);
  MakeTable(conn);
  const std::string dir = PlanDir("path", "      max_rejects: 5\n");
  const std::map<std::string, std::string> env = {{"FILES_DIR", root}, {"OUT_DIR", out}};
  CommandResult r = Planrun(db, {"--plans", dir, "apply"}, env);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  REQUIRE(QueryValue(conn, "SELECT count(*) FROM planrun.rejects") == "2");

  ExecSql(conn, std::string("DELETE FROM ") + kFilesTable + " WHERE path = 'in/huge.txt'");
  ExecSql(conn, "ALTER TABLE uploads DROP CONSTRAINT uploads_size_check");
  r = Planrun(db, {"--plans", dir, "apply", "--retry-rejects"}, env);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.err,
             Catch::Contains("objects upload_files: retried 1 rejected files, 0 still rejected"));
  CHECK(Rows(conn) == Row("in/a.txt", "a.txt", "text/plain", "a") + "\n" +
                          Row("in/big.txt", "big.txt", "text/plain", std::string(2000, 'b')));
  CHECK_THAT(Rejects(conn), Catch::StartsWith("[\"in/huge.txt\"] insert into uploads: "));
  CHECK(QueryValue(conn, "SELECT count(*) FROM planrun.rejects WHERE resolved_at IS NULL") == "1");
}

TEST_CASE("restart and rollback after insert.key was edited delete the rows the step inserted") {
  const std::string root = TempDir("objects-edge-key");
  WriteFile(root + "/in/a.txt", "a");
  WriteFile(root + "/in/b.txt", std::string(2000, 'b'));  // rejected: the step fails
  const std::string out = TempDir("objects-edge-key-out");
  const std::string db = "ofix_key";
  const std::string conn = FreshDatabase(db);
  MakeTable(conn);
  ExecSql(conn, "INSERT INTO uploads VALUES ('before', 'before.txt', NULL, NULL, 0)");
  const std::map<std::string, std::string> env = {{"FILES_DIR", root}, {"OUT_DIR", out}};
  CommandResult r =
      Planrun(db, {"--plans", PlanDir("path", "      max_rejects: 0\n"), "apply"}, env);
  INFO(r.err);
  REQUIRE(r.exit_code == 1);
  REQUIRE(Rows(conn) == "before|before.txt|0\n" + Row("in/a.txt", "a.txt", "text/plain", "a"));

  // insert.key is now name: the restart deletes by the keys it recorded (path).
  const std::string edited = PlanDir("name", "      max_rejects: 1\n");
  r = Planrun(db, {"--plans", edited, "apply", "--restart-step", "upload_files"}, env);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.err, Catch::Contains("deleted the 1 rows it had inserted; scanning again"));
  CHECK(Rows(conn) == "before|before.txt|0\n" + Row("in/a.txt", "a.txt", "text/plain", "a"));

  // And back to path for the rollback: the rows recorded by name go.
  r = Planrun(db, {"--plans", PlanDir("path", "      max_rejects: 1\n"), "rollback"}, env);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.err, Catch::Contains("objects upload_files: deleted the 1 rows it had inserted "
                                    "into uploads"));
  CHECK(Rows(conn) == "before|before.txt|0");
}

}  // namespace
}  // namespace testing
}  // namespace planrun
