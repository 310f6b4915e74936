// How copy writes its batches (steps/copy_write.h) against a real PostgreSQL:
// which targets take COPY straight in, and that every path inserts the same
// rows and rolls back exactly, whatever fills the target's key.
#include <catch2/catch.hpp>

#include "steps/copy_write.h"
#include "steps/table_info.h"
#include "support.h"

namespace planrun {
namespace testing {
namespace {

const char kTargets[] = R"SQL(
CREATE TABLE users (id bigint PRIMARY KEY, username text NOT NULL);
INSERT INTO users SELECT i, 'user' || i FROM generate_series(1, 10) i;
CREATE TABLE by_serial (id bigserial PRIMARY KEY, user_id bigint NOT NULL, name text);
CREATE TABLE by_identity (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                          user_id bigint NOT NULL, name text);
CREATE TABLE by_key (user_id bigint PRIMARY KEY, name text);
CREATE TABLE by_trigger (id bigserial PRIMARY KEY, user_id bigint NOT NULL, name text);
CREATE FUNCTION shift_id() RETURNS trigger LANGUAGE plpgsql AS
  $$ BEGIN NEW.id := NEW.id + 1000; RETURN NEW; END $$;
CREATE TRIGGER shift BEFORE INSERT ON by_trigger FOR EACH ROW EXECUTE FUNCTION shift_id();
CREATE TABLE by_default (id bigserial PRIMARY KEY, user_id bigint NOT NULL, name text);
ALTER TABLE by_default ALTER id SET DEFAULT nextval('by_serial_id_seq');
CREATE TABLE by_rule (id bigserial PRIMARY KEY, user_id bigint NOT NULL, name text);
CREATE TABLE rule_log (user_id bigint);
CREATE RULE logged AS ON INSERT TO by_rule DO ALSO INSERT INTO rule_log VALUES (NEW.user_id);
CREATE TABLE by_policy (id bigserial PRIMARY KEY, user_id bigint NOT NULL, name text);
ALTER TABLE by_policy ENABLE ROW LEVEL SECURITY;
INSERT INTO by_serial (user_id, name) VALUES (0, 'kept');
INSERT INTO by_identity (user_id, name) VALUES (0, 'kept');
INSERT INTO by_key VALUES (0, 'kept');
INSERT INTO by_trigger (user_id, name) VALUES (0, 'kept');
)SQL";

CopyWriteMode ModeOf(pg::Session& db, const std::string& table, OnConflict on_conflict,
                     std::vector<std::string> to_columns, CopyTarget* t) {
  CopySpec spec;
  spec.to_table.name = table;
  spec.to_columns = std::move(to_columns);
  spec.on_conflict = on_conflict;
  REQUIRE(LoadPrimaryKey(db, spec.to_table, &t->pk).ok());
  const Status st = ResolveCopyTarget(spec, db, t);
  INFO(st.message());
  REQUIRE(st.ok());
  return t->mode;
}

TEST_CASE("copy writes with COPY only where the keys are known before the write") {
  const std::string conn = FreshDatabase("copy_write_modes");
  ExecSql(conn, kTargets);
  std::unique_ptr<pg::Session> db = Connect(conn);
  CopyTarget t;
  const std::vector<std::string> cols = {"user_id", "name"};
  CHECK(ModeOf(*db, "by_serial", OnConflict::kError, cols, &t) == CopyWriteMode::kSequence);
  CHECK(t.sequence == "public.by_serial_id_seq");
  CHECK(ModeOf(*db, "by_identity", OnConflict::kError, cols, &t) == CopyWriteMode::kSequence);
  CHECK(t.sequence == "public.by_identity_id_seq");
  CHECK(ModeOf(*db, "by_key", OnConflict::kError, cols, &t) == CopyWriteMode::kKnownKeys);
  CHECK(t.pk_out == std::vector<size_t>{0});
  CHECK(ModeOf(*db, "by_serial", OnConflict::kError, {"name", "id", "user_id"}, &t) ==
        CopyWriteMode::kKnownKeys);
  CHECK(t.pk_out == std::vector<size_t>{1});
  // Upserts, a trigger that can change the row, a rule (which COPY would
  // bypass), a key from another default: the stage and INSERT ... RETURNING.
  CHECK(ModeOf(*db, "by_serial", OnConflict::kSkip, cols, &t) == CopyWriteMode::kStage);
  CHECK(ModeOf(*db, "by_key", OnConflict::kUpdate, cols, &t) == CopyWriteMode::kStage);
  CHECK(ModeOf(*db, "by_trigger", OnConflict::kError, cols, &t) == CopyWriteMode::kStage);
  CHECK(ModeOf(*db, "by_rule", OnConflict::kError, cols, &t) == CopyWriteMode::kStage);
  CHECK(ModeOf(*db, "by_default", OnConflict::kError, cols, &t) == CopyWriteMode::kStage);
  // COPY FROM is not supported with row-level security.
  CHECK(ModeOf(*db, "by_policy", OnConflict::kError, cols, &t) == CopyWriteMode::kStage);
}

// One copy step of 10 users in batches of 3; after `needs`, so that the
// steps do not race to create the backup schema.
std::string CopyStep(const std::string& id, const std::string& table, const std::string& user_col,
                     const std::string& needs = "") {
  return "  - id: " + id + (needs.empty() ? "" : "\n    needs: [" + needs + "]") +
         "\n    copy:\n      from: {table: users, key: id}\n" + "      to: {table: " + table +
         ", columns: [" + user_col + ", name]}\n" +
         "      batch_size: 3\n      lua: |\n        function transform(row, ctx)\n" +
         "          return {" + user_col + " = row.id, name = row.username}\n" + "        end\n";
}

TEST_CASE("every write path inserts the same rows and rolls back exactly") {
  const std::string db = "copy_write_paths";
  const std::string conn = FreshDatabase(db);
  ExecSql(conn, std::string(kTargets) +
                    "CREATE TABLE by_even_key (user_id bigint PRIMARY KEY, name text);");
  const std::string before = TableChecksums(conn, {"planrun", "planrun_backup"});
  const std::string dir = TempDir("planrun-copy-write");
  std::string even = CopyStep("even", "by_even_key", "user_id", "trigger");
  even.replace(even.find("row.id,"), 7, "row.id * 2,");
  WriteFile(dir + "/001_copy.yaml", "version: 1\nname: paths\nsteps:\n" +
                                        CopyStep("serial", "by_serial", "user_id") +
                                        CopyStep("identity", "by_identity", "user_id", "serial") +
                                        CopyStep("key", "by_key", "user_id", "identity") +
                                        CopyStep("trigger", "by_trigger", "user_id", "key") + even);
  CommandResult r = Planrun(db, {"--plans", dir, "apply"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const std::string rows =
      "0:kept,1:user1,2:user2,3:user3,4:user4,5:user5,6:user6,7:user7,8:user8,9:user9,10:user10";
  const std::string ids = "1,2,3,4,5,6,7,8,9,10,11";
  for (const char* table : {"by_serial", "by_identity"}) {
    CHECK(
        QueryValue(conn, std::string("SELECT string_agg(user_id || ':' || name, ',' ORDER BY "
                                     "id) || ' ' || string_agg(id::text, ',' ORDER BY id) FROM ") +
                             table) == rows + " " + ids);
  }
  CHECK(QueryValue(conn,
                   "SELECT string_agg(user_id || ':' || name, ',' ORDER BY user_id) FROM "
                   "by_key") == rows);
  // Keys from the sequence come in contiguous runs: one range per batch.
  for (const char* step : {"serial", "identity"}) {
    const std::string backup = std::string("planrun_backup.v1__") + step + "__public__by_" + step;
    CHECK(QueryValue(conn,
                     "SELECT string_agg(lo || '-' || hi, ',' ORDER BY lo) || ' ' || "
                     "(SELECT count(*) FROM " +
                         backup + "__keys) FROM " + backup + "__ranges") == "2-4,5-7,8-10,11-11 0");
  }
  CHECK(QueryValue(conn, "SELECT string_agg(id::text, ',' ORDER BY id) FROM by_trigger") ==
        "1001,1002,1003,1004,1005,1006,1007,1008,1009,1010,1011");
  // Keys the rows carry: a range where a batch's keys are contiguous, else
  // one row per key (the last batch of the even keys holds one key).
  const std::string key_backup = "planrun_backup.v1__key__public__by_key";
  CHECK(QueryValue(conn,
                   "SELECT string_agg(lo || '-' || hi, ',' ORDER BY lo) || ' ' || "
                   "(SELECT count(*) FROM " +
                       key_backup + "__keys) FROM " + key_backup + "__ranges") ==
        "1-3,4-6,7-9,10-10 0");
  const std::string even_backup = "planrun_backup.v1__even__public__by_even_key";
  CHECK(QueryValue(conn,
                   "SELECT string_agg(lo || '-' || hi, ',' ORDER BY lo) || ' ' || "
                   "(SELECT string_agg(user_id::text, ',' ORDER BY user_id) FROM " +
                       even_backup + "__keys) FROM " + even_backup + "__ranges") ==
        "20-20 2,4,6,8,10,12,14,16,18");
  CommandResult rb = Planrun(db, {"--plans", dir, "rollback"});
  INFO(rb.err);
  REQUIRE(rb.exit_code == 0);
  CHECK(TableChecksums(conn, {"planrun", "planrun_backup"}) == before);
}

// Steps copying users without a hook (each batch one INSERT in the server),
// in batches of 3.
std::string MapStep(const std::string& id, const std::string& table, const std::string& needs) {
  return "  - id: " + id + (needs.empty() ? "" : "\n    needs: [" + needs + "]") +
         "\n    copy:\n      from: {table: users, key: id}\n      to: {table: " + table +
         ", columns: [user_id, name]}\n      map: {user_id: id, name: username}\n" +
         "      batch_size: 3\n";
}

TEST_CASE("a copy in the server records contiguous keys as ranges, others one by one") {
  const std::string db = "perf_key_ranges";
  const std::string conn = FreshDatabase(db);
  ExecSql(conn, std::string(kTargets) +
                    "CREATE SEQUENCE by_two INCREMENT BY 2;"
                    "CREATE TABLE stepped (id bigint PRIMARY KEY DEFAULT nextval('by_two'), "
                    "user_id bigint, name text);"
                    "CREATE TABLE by_name (name text PRIMARY KEY, user_id bigint);"
                    "INSERT INTO by_serial (user_id, name) SELECT 0, 'kept too' FROM "
                    "generate_series(1, 2);");
  const std::string before = TableChecksums(conn, {"planrun", "planrun_backup"});
  const std::string dir = TempDir("planrun-key-ranges");
  WriteFile(dir + "/001_ranges.yaml",
            "version: 1\nname: ranges\nsteps:\n" + MapStep("serial", "by_serial", "") +
                MapStep("stepped", "stepped", "serial") + MapStep("named", "by_name", "stepped"));
  CommandResult r = Planrun(db, {"--plans", dir, "apply"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  // by_serial holds ids 1-3 already: the copy's rows get 4..13.
  CHECK(
      QueryValue(conn, "SELECT string_agg(id || ':' || user_id, ',' ORDER BY id) FROM by_serial") ==
      "1:0,2:0,3:0,4:1,5:2,6:3,7:4,8:5,9:6,10:7,11:8,12:9,13:10");
  const std::string backup = "planrun_backup.v1__";
  CHECK(QueryValue(conn, "SELECT string_agg(lo || '-' || hi, ',' ORDER BY lo) FROM " + backup +
                             "serial__public__by_serial__ranges") == "4-6,7-9,10-12,13-13");
  CHECK(QueryValue(conn, "SELECT count(*) FROM " + backup + "serial__public__by_serial__keys") ==
        "0");
  // Keys 1, 3, 5...: kept one by one, but for the last batch's single key.
  CHECK(QueryValue(conn, "SELECT string_agg(lo || '-' || hi, ',') FROM " + backup +
                             "stepped__public__stepped__ranges") == "19-19");
  CHECK(QueryValue(conn, "SELECT string_agg(id::text, ',' ORDER BY id) FROM " + backup +
                             "stepped__public__stepped__keys") == "1,3,5,7,9,11,13,15,17");
  CHECK(QueryValue(conn, "SELECT to_regclass('" + backup +
                             "named__public__by_name__ranges') IS NULL") == "t");
  CHECK(QueryValue(conn, "SELECT count(*) FROM " + backup + "named__public__by_name__keys") ==
        "10");
  // Rows added after the copy, next to its ranges, survive the rollback.
  ExecSql(conn, "INSERT INTO by_serial (user_id, name) VALUES (99, 'after');");
  CommandResult rb = Planrun(db, {"--plans", dir, "rollback"});
  INFO(rb.err);
  REQUIRE(rb.exit_code == 0);
  CHECK(rb.err.find("copy serial: removed the 10 rows it inserted from by_serial\n") !=
        std::string::npos);
  CHECK(QueryValue(conn, "SELECT string_agg(id || ':' || name, ',' ORDER BY id) FROM by_serial") ==
        "1:kept,2:kept too,3:kept too,14:after");
  ExecSql(conn, "DELETE FROM by_serial WHERE id = 14;");
  CHECK(TableChecksums(conn, {"planrun", "planrun_backup"}) == before);
}

TEST_CASE("a copy with a hook reserves sequence keys only for the rows it writes") {
  const std::string db = "perf_reserve";
  const std::string conn = FreshDatabase(db);
  ExecSql(conn, kTargets);
  const std::string dir = TempDir("planrun-reserve");
  // Every other user is skipped; batches of 4 read 4 users and write 2.
  WriteFile(dir + "/001_reserve.yaml", R"P(version: 1
name: reserve
steps:
  - id: odd
    copy:
      from: {table: users, key: id}
      to: {table: by_serial, columns: [user_id, name]}
      batch_size: 4
      lua: |
        function transform(row, ctx)
          if row.id % 2 == 0 then return nil end
          return {user_id = row.id, name = row.username}
        end
)P");
  CommandResult r = Planrun(db, {"--plans", dir, "apply"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(
      QueryValue(conn, "SELECT string_agg(id || ':' || user_id, ',' ORDER BY id) FROM by_serial") ==
      "1:0,2:1,3:3,4:5,5:7,6:9");
  CHECK(QueryValue(conn,
                   "SELECT string_agg(lo || '-' || hi, ',' ORDER BY lo) FROM "
                   "planrun_backup.v1__odd__public__by_serial__ranges") == "2-3,4-5,6-6");
  CHECK(QueryValue(conn, "SELECT last_value FROM by_serial_id_seq") == "6");
}

const char kForwardSource[] = R"SQL(
CREATE TABLE tricky (
  id bigint PRIMARY KEY, t text, n numeric, b boolean, j jsonb, by bytea, ts timestamptz,
  arr text[]);
INSERT INTO tricky VALUES
  (1, E'tab\there\nnewline\\backslash\rcr', 12345678901234567890.5, true,
   '{"a": [1, {"b": null}], "c": "\u00e9"}', '\x00ff10', 'infinity', ARRAY['a', NULL, 'b c', '\' || 'N']),
  (2, '', 0, false, 'null', '', '-infinity', '{}'),
  (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
  (4, '\' || 'N', -0.000001, true, '[]', '\x5c4e', '2026-11-21 12:34:56.789+05:30', ARRAY['x,y']),
  (5, E'unicode: \u017c\u00f3\u0142\u0107 \\' || 'N', 1e-30, false, '"\\"', '\x01', NULL, NULL);
CREATE TABLE tkeys (k text PRIMARY KEY, v int);
INSERT INTO tkeys VALUES (E'a\tb', 1), (E'a\\b', 2), (E'a\nb', 3), ('\' || 'N', 4), ('plain', 5),
  (E'z\\', 6);
)SQL";

const char kForwardTarget[] = R"SQL(
CREATE TABLE tricky (
  id bigint PRIMARY KEY, t text, n numeric, b boolean, j jsonb, by bytea, ts timestamptz,
  arr text[]);
INSERT INTO tricky (id, t) VALUES (0, 'kept');
CREATE TABLE by_serial (id bigserial PRIMARY KEY, src_id bigint, t text, n numeric, b boolean,
  j jsonb, by bytea, ts timestamptz, arr text[]);
CREATE TABLE staged (LIKE tricky INCLUDING ALL);
INSERT INTO staged (id, t) VALUES (3, 'kept, not overwritten');
CREATE TABLE tkeys (k text PRIMARY KEY, v int);
INSERT INTO tkeys VALUES (E'a\tc', 0);
)SQL";

TEST_CASE("a copy across databases without a hook forwards COPY text byte-identical") {
  const std::string src = FreshDatabase("perf_forward_src");
  const std::string db = "perf_forward_dst";
  const std::string conn = FreshDatabase(db);
  ExecSql(src, kForwardSource);
  ExecSql(conn, kForwardTarget);
  const std::string before = TableChecksums(conn, {"planrun", "planrun_backup"});
  const std::string cols = "t, n, b, j, by, ts, arr";
  const std::string dir = TempDir("planrun-forward");
  // Batches of 2: every batch's last key (escaped text keys included) must
  // be read back exactly, or rows would be copied twice or not at all.
  WriteFile(dir + "/001_forward.yaml", R"P(version: 1
name: forward
connections:
  src: {url: env:FORWARD_SOURCE_URL}
steps:
  - id: known
    copy:
      from: {connection: src, table: tricky, key: id}
      to: {table: tricky, columns: [id, t, n, b, j, by, ts, arr]}
      batch_size: 2
  - id: sequence
    needs: [known]
    copy:
      from: {connection: src, table: tricky, key: id}
      to: {table: by_serial, columns: [src_id, t, n, b, j, by, ts, arr]}
      map: {src_id: id}
      batch_size: 2
  - id: staged
    needs: [sequence]
    copy:
      from: {connection: src, table: tricky, key: id}
      to: {table: staged, columns: [id, t, n, b, j, by, ts, arr], on_conflict: skip}
      batch_size: 2
  - id: text_keys
    needs: [staged]
    copy:
      from: {connection: src, table: tkeys, key: k}
      to: {table: tkeys, columns: [k, v]}
      batch_size: 2
)P");
  CommandResult r = Planrun(db, {"--plans", dir, "apply"}, {{"FORWARD_SOURCE_URL", src}});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const std::string rows =
      "SELECT string_agg(id || ':' || md5(ROW(" + cols + ")::text), ',' ORDER BY id) FROM ";
  const std::string want = QueryValue(src, rows + "tricky");
  CHECK(QueryValue(conn, rows + "tricky WHERE id > 0") == want);
  CHECK(QueryValue(conn, "SELECT string_agg(src_id || ':' || md5(ROW(" + cols +
                             ")::text), ',' ORDER BY id) || ' ' || string_agg(id::text, ',' "
                             "ORDER BY id) FROM by_serial") == want + " 1,2,3,4,5");
  CHECK(QueryValue(conn, rows + "staged WHERE id <> 3") ==
        QueryValue(src, rows + "tricky WHERE id <> 3"));
  CHECK(QueryValue(conn, "SELECT t FROM staged WHERE id = 3") == "kept, not overwritten");
  const std::string keys = "SELECT string_agg(v || '=' || k, '|' ORDER BY v) FROM tkeys";
  CHECK(QueryValue(conn, keys + " WHERE v > 0") == QueryValue(src, keys));
  CHECK(QueryValue(conn,
                   "SELECT count(*) || ' ' || (k = E'a\\tc') FROM tkeys WHERE v = 0 "
                   "GROUP BY k") == "1 true");
  CHECK(QueryValue(conn, "SELECT encode(by, 'hex') FROM tricky WHERE id = 1") == "00ff10");
  CommandResult rb = Planrun(db, {"--plans", dir, "rollback"}, {{"FORWARD_SOURCE_URL", src}});
  INFO(rb.err);
  REQUIRE(rb.exit_code == 0);
  CHECK(TableChecksums(conn, {"planrun", "planrun_backup"}) == before);
}

TEST_CASE("rows PostgreSQL refuses are rejected with its message, the rest of the batch written") {
  const std::string db = "copy_write_refused";
  const std::string conn = FreshDatabase(db);
  ExecSql(conn,
          "CREATE TABLE users (id bigint PRIMARY KEY, username text NOT NULL);"
          "INSERT INTO users SELECT i, 'user' || i FROM generate_series(1, 1000) i;"
          "CREATE TABLE nicks (id bigserial PRIMARY KEY, user_id bigint NOT NULL, name text "
          "UNIQUE CHECK (length(name) <= 12));");
  const std::string before = TableChecksums(conn, {"planrun", "planrun_backup"});
  const std::string dir = TempDir("planrun-copy-refused");
  WriteFile(dir + "/001.yaml", R"P(version: 1
name: nicks
steps:
  - id: nicks
    copy:
      from: {table: users, key: id}
      to: {table: nicks, columns: [user_id, name]}
      batch_size: 300
      max_rejects: 2
      lua: |
        function transform(row, ctx)
          -- user 500 takes user 499's name; user 777's is too long.
          if row.id == 500 then return {user_id = 500, name = "n-user499"} end
          if row.id == 777 then return {user_id = 777, name = string.rep("x", 20)} end
          return {user_id = row.id, name = "n-" .. row.username}
        end
)P");
  CommandResult r = Planrun(db, {"--plans", dir, "apply"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(QueryValue(conn, "SELECT count(*) || ' ' || count(DISTINCT user_id) FROM nicks") ==
        "998 998");
  CHECK(QueryValue(conn, "SELECT count(*) FROM nicks WHERE user_id IN (500, 777)") == "0");
  CHECK(QueryValue(conn,
                   "SELECT string_agg(row_key::text || ' ' || input::text || ' ' || "
                   "reason, E'\\n' ORDER BY id) FROM planrun.rejects") ==
        "[\"500\"] {\"name\": \"n-user499\", \"user_id\": \"500\"} PostgreSQL refused the row: "
        "duplicate key value violates unique constraint \"nicks_name_key\"\n"
        "DETAIL:  Key (name)=(n-user499) already exists.\n"
        "[\"777\"] {\"name\": \"" +
            std::string(20, 'x') +
            "\", \"user_id\": \"777\"} PostgreSQL refused the row: new row for relation "
            "\"nicks\" violates check constraint \"nicks_name_check\"\nDETAIL:  Failing row "
            "contains (777, 777, " +
            std::string(20, 'x') + ").");
  CHECK(r.err.find("copy nicks: 1000 read, 998 written, 0 skipped, 2 rejected") !=
        std::string::npos);
  CommandResult rb = Planrun(db, {"--plans", dir, "rollback"});
  INFO(rb.err);
  REQUIRE(rb.exit_code == 0);
  CHECK(TableChecksums(conn, {"planrun", "planrun_backup"}) == before);
}

TEST_CASE("a forwarded cross-database copy rejects the rows the target refuses by source key") {
  const std::string source = FreshDatabase("copy_write_refused_src");
  ExecSql(source,
          "CREATE TABLE people (id bigint PRIMARY KEY, name text);"
          "INSERT INTO people SELECT i, CASE WHEN i = 42 THEN NULL ELSE 'p' || i END FROM "
          "generate_series(1, 100) i;");
  const std::string db = "copy_write_refused_dst";
  const std::string conn = FreshDatabase(db);
  ExecSql(conn, "CREATE TABLE people (id bigint PRIMARY KEY, name text NOT NULL)");
  const std::string dir = TempDir("planrun-copy-refused-xdb");
  WriteFile(dir + "/001.yaml",
            "version: 1\nname: people\nconnections:\n  old: {url: env:OLD_DB}\nsteps:\n"
            "  - id: people\n    copy:\n      from: {connection: old, table: people, key: id}\n"
            "      to: {table: people, columns: [id, name]}\n      batch_size: 40\n"
            "      max_rejects: 1\n");
  CommandResult r = Planrun(db, {"--plans", dir, "apply"}, {{"OLD_DB", source}});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(QueryValue(conn, "SELECT count(*) FROM people") == "99");
  CHECK(QueryValue(conn,
                   "SELECT row_key::text || ' ' || input::text || ' ' || reason FROM "
                   "planrun.rejects") ==
        "[\"42\"] {\"id\": \"42\", \"name\": null} PostgreSQL refused the row: null value in "
        "column \"name\" of relation \"people\" violates not-null constraint\n"
        "DETAIL:  Failing row contains (42, null).");
}

}  // namespace
}  // namespace testing
}  // namespace planrun
