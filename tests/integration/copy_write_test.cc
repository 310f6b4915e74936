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
  ExecSql(conn, kTargets);
  const std::string before = TableChecksums(conn, {"planrun", "planrun_backup"});
  const std::string dir = TempDir("planrun-copy-write");
  WriteFile(dir + "/001_copy.yaml", "version: 1\nname: paths\nsteps:\n" +
                                        CopyStep("serial", "by_serial", "user_id") +
                                        CopyStep("identity", "by_identity", "user_id", "serial") +
                                        CopyStep("key", "by_key", "user_id", "identity") +
                                        CopyStep("trigger", "by_trigger", "user_id", "key"));
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
  CHECK(QueryValue(conn, "SELECT string_agg(id::text, ',' ORDER BY id) FROM by_trigger") ==
        "1001,1002,1003,1004,1005,1006,1007,1008,1009,1010,1011");
  CommandResult rb = Planrun(db, {"--plans", dir, "rollback"});
  INFO(rb.err);
  REQUIRE(rb.exit_code == 0);
  CHECK(TableChecksums(conn, {"planrun", "planrun_backup"}) == before);
}

}  // namespace
}  // namespace testing
}  // namespace planrun
