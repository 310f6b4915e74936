// Data steps (copy, transform) against a real PostgreSQL: values arrive
// byte-identical, a SIGKILLed run resumes to exactly the result of an
// uninterrupted one, rejects and their limits, --retry-rejects, rollback,
// cross-database copies and dry-run samples.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <thread>

#include "support.h"

namespace planrun {
namespace testing {
namespace {

const char kTrickySetup[] = R"SQL(
CREATE TABLE tricky (
  id bigint PRIMARY KEY, t text, n numeric, i int, f float8, b boolean, j jsonb,
  by bytea, ts timestamptz, arr text[], ia int[]);
INSERT INTO tricky VALUES
  (1, E'tab\there\nnewline\\backslash', 1234567890123456789012345678901234567890.5, 2147483647,
   0.1, true, '{"a": [1, {"b": null}], "c": "\u00e9\ud83d\ude00"}', '\x00ff10', 'infinity',
   ARRAY['a', NULL, 'b c', '', '"q"', '\N'], ARRAY[1, NULL, -3]),
  (2, '', 0, -2147483648, 'NaN', false, 'null', '', '-infinity', '{}', '{}'),
  (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
  (4, '\N', -0.000001, 0, '-Infinity', true, '[]', '\x5c4e', '2026-11-21 12:34:56.789+05:30',
   ARRAY['NULL', 'x,y', '{}'], ARRAY[0]),
  (5, 'unicode: żółć 東京 🙂', 1e-30, 7, 1.7976931348623157e308, false, '"\"quoted\" \\ \u0041"',
   '\x0102030405', '1999-12-31 23:59:59+00', ARRAY['🙂'], NULL);
CREATE TABLE tricky_copy (LIKE tricky INCLUDING ALL);
)SQL";

std::string RowSums(const std::string& conn, const std::string& table) {
  return QueryValue(
      conn, "SELECT string_agg(id || ':' || md5(x::text), ',' ORDER BY id) FROM " + table + " x");
}

TEST_CASE("every tricky value arrives byte-identical through an identity hook") {
  const std::string db = "data_fidelity";
  const std::string conn = FreshDatabase(db);
  ExecSql(conn, kTrickySetup);
  const std::string dir = TempDir("planrun-fidelity");
  WriteFile(dir + "/001_copy.yaml", R"P(version: 1
name: fidelity
steps:
  - id: identity
    copy:
      from: {table: tricky, key: id}
      to: {table: tricky_copy, columns: [id, t, n, i, f, b, j, by, ts, arr, ia]}
      batch_size: 2
      lua: |
        function transform(row, ctx)
          return row
        end
)P");
  CommandResult r = Planrun(db, {"--plans", dir, "apply"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(QueryValue(conn, "SELECT count(*) FROM tricky_copy") == "5");
  CHECK(RowSums(conn, "tricky_copy") == RowSums(conn, "tricky"));
  // The jsonb map and float edge cases, spelled out.
  CHECK(QueryValue(conn, "SELECT f::text FROM tricky_copy WHERE id = 2") == "NaN");
  CHECK(QueryValue(conn, "SELECT encode(by, 'hex') FROM tricky_copy WHERE id = 1") == "00ff10");
  CHECK(QueryValue(
            conn, "SELECT arr[2] IS NULL AND arr[6] = '\\N' FROM tricky_copy WHERE id = 1") == "t");
}

TEST_CASE("a copy without a hook maps columns with SQL and rolls back exactly") {
  const std::string db = "data_copy_map";
  const std::string conn = FreshDatabase(db);
  ExecSql(conn,
          "CREATE TABLE users (id bigint PRIMARY KEY, username text NOT NULL, display_name text);"
          "INSERT INTO users SELECT i, 'user' || i, CASE WHEN i % 10 <> 0 THEN 'User ' || i END "
          "FROM generate_series(1, 2500) i;"
          "CREATE TABLE avatars (id bigserial PRIMARY KEY, user_id bigint NOT NULL UNIQUE, "
          "name text);"
          "INSERT INTO avatars (user_id, name) VALUES (999999, 'kept');");
  const std::string before = TableChecksums(conn, {"planrun", "planrun_backup"});
  const std::string dir = TempDir("planrun-map");
  WriteFile(dir + "/001_copy.yaml", R"P(version: 1
name: map
steps:
  - id: avatars
    copy:
      from: {table: users, key: id}
      to: {table: avatars, columns: [user_id, name]}
      map: {user_id: id, name: "coalesce(display_name, username)"}
      batch_size: 1000
)P");
  CommandResult r = Planrun(db, {"--plans", dir, "apply"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.err.find("copy avatars: 2500 read, 2500 written, 0 skipped, 0 rejected") !=
        std::string::npos);
  CHECK(QueryValue(conn, "SELECT count(*) FROM avatars") == "2501");
  CHECK(QueryValue(conn, "SELECT name FROM avatars WHERE user_id = 10") == "user10");
  CHECK(QueryValue(conn, "SELECT name FROM avatars WHERE user_id = 11") == "User 11");
  CHECK(QueryValue(conn,
                   "SELECT batches || '/' || rows_written || '/' || done FROM "
                   "planrun.checkpoints") == "3/2500/true");
  CommandResult rb = Planrun(db, {"--plans", dir, "rollback"});
  INFO(rb.err);
  REQUIRE(rb.exit_code == 0);
  CHECK(TableChecksums(conn, {"planrun", "planrun_backup"}) == before);
}

const char kUsersSetup[] =
    "CREATE TABLE users (id bigint PRIMARY KEY, username text NOT NULL, email text);"
    "INSERT INTO users SELECT i, 'User_' || i, CASE WHEN i IN (7, 70, 700) THEN 'broken' ELSE "
    "'u' || i || '@example.com' END FROM generate_series(1, 1000) i;"
    "CREATE TABLE contacts (user_id bigint PRIMARY KEY, email text NOT NULL, slug text);";

const char kStrictHook[] = R"(function transform(row, ctx)
  if not check.email(row.email) then
    error("invalid email: " .. row.email, 0)
  end
  return {user_id = row.id, email = row.email, slug = text.slugify(row.username)}
end
)";

const char kPlaceholderHook[] = R"(function transform(row, ctx)
  local email = row.email
  if not check.email(email) then email = "user" .. row.id .. "@invalid.example" end
  return {user_id = row.id, email = email, slug = text.slugify(row.username)}
end
)";

std::string ContactsPlan(const std::string& max_rejects) {
  return R"P(version: 1
name: contacts
steps:
  - id: contacts
    copy:
      from: {table: users, key: id, columns: [id, username, email]}
      to: {table: contacts, columns: [user_id, email, slug]}
      transform: contacts.lua
      batch_size: 100
      max_rejects: )P" +
         max_rejects + "\n";
}

TEST_CASE("rejects are stored with reasons; past max_rejects the step fails; retry fixes them") {
  const std::string db = "data_rejects";
  const std::string conn = FreshDatabase(db);
  ExecSql(conn, kUsersSetup);
  const std::string dir = TempDir("planrun-rejects");
  WriteFile(dir + "/contacts.lua", kStrictHook);
  WriteFile(dir + "/001_contacts.yaml", ContactsPlan("2"));
  CommandResult failed = Planrun(db, {"--plans", dir, "apply"});
  CHECK(failed.exit_code == 1);
  CHECK(failed.err.find("3 of 700 rows rejected, more than max_rejects (2 rows); the first: key "
                        "[\"7\"]: invalid email: broken; see them with planrun rejects 1 --step "
                        "contacts") != std::string::npos);
  CHECK(QueryValue(conn, "SELECT count(*) FROM contacts") == "697");
  CHECK(QueryValue(conn,
                   "SELECT string_agg(row_key::text || '=' || reason, ';' ORDER BY id) "
                   "FROM planrun.rejects") ==
        "[\"7\"]=invalid email: broken;[\"70\"]=invalid email: broken;[\"700\"]=invalid "
        "email: broken");
  CHECK(QueryValue(conn, "SELECT input->>'username' FROM planrun.rejects ORDER BY id LIMIT 1") ==
        "User_7");

  CommandResult listed = Planrun(db, {"--plans", dir, "rejects", "1"});
  REQUIRE(listed.exit_code == 0);
  CHECK(listed.out.find("contacts key [\"70\"] at ") != std::string::npos);
  CHECK(listed.out.find("3 rows rejected; fix the hook or the data") != std::string::npos);

  // Fixing the hook changes the step: a plain apply refuses to mix versions.
  WriteFile(dir + "/contacts.lua", kPlaceholderHook);
  CommandResult refused = Planrun(db, {"--plans", dir, "apply"});
  CHECK(refused.exit_code == 4);
  CHECK(refused.err.find("step 'contacts' changed since its checkpoint (7 batches, 700 rows "
                         "done); resuming would mix two versions of it.") != std::string::npos);

  // --retry-rejects runs just the rejected rows through the fixed hook.
  CommandResult retried = Planrun(db, {"--plans", dir, "apply", "--retry-rejects"});
  INFO(retried.err);
  REQUIRE(retried.exit_code == 0);
  CHECK(retried.err.find("retried 3 rejected rows, 0 still rejected") != std::string::npos);
  CHECK(QueryValue(conn, "SELECT count(*) FROM contacts") == "1000");
  CHECK(QueryValue(conn, "SELECT email FROM contacts WHERE user_id = 70") ==
        "user70@invalid.example");
  CHECK(QueryValue(conn, "SELECT count(*) FROM planrun.rejects WHERE resolved_at IS NULL") == "0");
  CHECK(QueryValue(conn, "SELECT rows_rejected || '/' || rows_written FROM planrun.checkpoints") ==
        "0/1000");
  CHECK(QueryValue(conn, "SELECT state FROM planrun.schema_migrations") == "applied");
}

TEST_CASE("--restart-step undoes a changed data step's rows and starts it over") {
  const std::string db = "data_restart";
  const std::string conn = FreshDatabase(db);
  ExecSql(conn, kUsersSetup);
  const std::string dir = TempDir("planrun-restart");
  WriteFile(dir + "/contacts.lua", kStrictHook);
  WriteFile(dir + "/001_contacts.yaml", ContactsPlan("2"));
  REQUIRE(Planrun(db, {"--plans", dir, "apply"}).exit_code == 1);
  WriteFile(dir + "/contacts.lua", kPlaceholderHook);
  CommandResult restarted = Planrun(db, {"--plans", dir, "apply", "--restart-step", "contacts"});
  INFO(restarted.err);
  REQUIRE(restarted.exit_code == 0);
  CHECK(restarted.err.find("copy contacts: restarting; removed the 697 rows it had inserted") !=
        std::string::npos);
  CHECK(QueryValue(conn, "SELECT count(*) FROM contacts") == "1000");
  CHECK(QueryValue(conn, "SELECT count(*) FROM planrun.rejects WHERE resolved_at IS NULL") == "0");
  CHECK(QueryValue(conn, "SELECT slug FROM contacts WHERE user_id = 5") == "user-5");
}

// Runs apply on `dir` and SIGKILLs it after `delay`; returns true if it was
// still running when killed.
bool KillApplyAfter(const std::string& db, const std::string& dir,
                    std::chrono::milliseconds delay) {
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    setenv("PGDATABASE", db.c_str(), 1);
    int devnull = open("/dev/null", O_WRONLY);
    dup2(devnull, 1);
    dup2(devnull, 2);
    execl(PlanrunBinary().c_str(), "planrun", "--plans", dir.c_str(), "apply", nullptr);
    _exit(127);
  }
  std::this_thread::sleep_for(delay);
  int status = 0;
  const bool running = waitpid(pid, &status, WNOHANG) == 0;
  kill(pid, SIGKILL);
  waitpid(pid, &status, 0);
  return running;
}

TEST_CASE("a SIGKILLed copy and transform resume to exactly the uninterrupted result") {
  const std::string setup =
      "CREATE TABLE src (id bigint PRIMARY KEY, name text, score int);"
      "INSERT INTO src SELECT i, 'Name ' || i, i % 97 FROM generate_series(1, 60000) i;"
      "CREATE TABLE dst (id bigint PRIMARY KEY, label text, score int);";
  const std::string plan = R"P(version: 1
name: killme
steps:
  - id: copy_rows
    copy:
      from: {table: src, key: id}
      to: {table: dst, columns: [id, label, score]}
      batch_size: 500
      lua: |
        function transform(row, ctx)
          return {id = row.id, label = string.upper(row.name), score = row.score * 2}
        end
  - id: relabel
    transform:
      table: dst
      key: id
      columns: [label]
      set: [label]
      batch_size: 700
      lua: |
        function transform(row, ctx)
          if row.id % 5 == 0 then return nil end
          return {label = row.label .. "!"}
        end
)P";
  // The reference: one uninterrupted run.
  const std::string ref_conn = FreshDatabase("data_kill_ref");
  ExecSql(ref_conn, setup);
  const std::string ref_dir = TempDir("planrun-kill-ref");
  WriteFile(ref_dir + "/001.yaml", plan);
  CommandResult ref = Planrun("data_kill_ref", {"--plans", ref_dir, "apply"});
  INFO(ref.err);
  REQUIRE(ref.exit_code == 0);
  const std::string expected = TableChecksums(ref_conn, {"planrun", "planrun_backup"});

  const std::string conn = FreshDatabase("data_kill");
  ExecSql(conn, setup);
  const std::string dir = TempDir("planrun-kill");
  WriteFile(dir + "/001.yaml", plan);
  int kills = 0;
  // Short enough that at least three kills land while the run is under a
  // second on an idle machine; each resumed run gets a little further.
  for (int delay_ms : {120, 250, 160, 300, 200, 400, 220}) {
    if (KillApplyAfter("data_kill", dir, std::chrono::milliseconds(delay_ms))) ++kills;
  }
  CommandResult finish = Planrun("data_kill", {"--plans", dir, "apply"});
  INFO(finish.err);
  REQUIRE(finish.exit_code == 0);
  CHECK(kills >= 3);
  CHECK(TableChecksums(conn, {"planrun", "planrun_backup"}) == expected);
  CHECK(QueryValue(conn, "SELECT count(*) FROM dst") == "60000");
  CHECK(QueryValue(conn, "SELECT count(*) FROM dst WHERE label LIKE '%!!'") == "0");

  // Rollback restores both steps' previous contents exactly.
  CommandResult rb = Planrun("data_kill", {"--plans", dir, "rollback"});
  INFO(rb.err);
  REQUIRE(rb.exit_code == 0);
  CHECK(QueryValue(conn, "SELECT count(*) FROM dst") == "0");
}

TEST_CASE("transform in place with SQL and with Lua, rolled back exactly") {
  const std::string db = "data_transform";
  const std::string conn = FreshDatabase(db);
  ExecSql(conn,
          "CREATE TABLE users (id bigint PRIMARY KEY, username text NOT NULL, slug text, "
          "nick text);"
          "INSERT INTO users SELECT i, 'User ' || i || ' Name', CASE WHEN i % 4 = 0 THEN 'keep-' "
          "|| i END, NULL FROM generate_series(1, 3000) i;");
  const std::string before = TableChecksums(conn, {"planrun", "planrun_backup"});
  const std::string dir = TempDir("planrun-transform");
  WriteFile(dir + "/001.yaml", R"P(version: 1
name: slugs
steps:
  - id: slugs
    transform:
      table: users
      key: id
      where: slug IS NULL
      set: {slug: "lower(replace(username, ' ', '-')) || '.' || id"}
      batch_size: 1000
  - id: nicks
    transform:
      table: users
      key: id
      columns: [username, slug]
      set: [nick]
      lua: |
        function transform(row, ctx)
          return {nick = text.slugify(row.username) .. "/" .. row.slug, nick_typo = 1}
        end
)P");
  CommandResult r = Planrun(db, {"--plans", dir, "apply"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(QueryValue(conn, "SELECT slug FROM users WHERE id = 3") == "user-3-name.3");
  CHECK(QueryValue(conn, "SELECT slug FROM users WHERE id = 4") == "keep-4");
  CHECK(QueryValue(conn, "SELECT nick FROM users WHERE id = 4") == "user-4-name/keep-4");
  CHECK(r.err.find("transform nicks: the hook returned keys that are not in set, and they were "
                   "ignored: nick_typo") != std::string::npos);
  CHECK(QueryValue(conn, "SELECT count(*) FROM users WHERE nick IS NULL") == "0");
  CommandResult rb = Planrun(db, {"--plans", dir, "rollback"});
  INFO(rb.err);
  REQUIRE(rb.exit_code == 0);
  CHECK(TableChecksums(conn, {"planrun", "planrun_backup"}) == before);
}

TEST_CASE("copy across two databases of the cluster through a named connection") {
  const std::string src_conn = FreshDatabase("data_legacy");
  const std::string conn = FreshDatabase("data_target");
  ExecSql(src_conn,
          "CREATE TABLE accounts (id int PRIMARY KEY, email text);"
          "INSERT INTO accounts SELECT i, 'a' || i || '@x.org' FROM generate_series(1, 1234) i;");
  ExecSql(conn, "CREATE TABLE accounts (id int PRIMARY KEY, email text);");
  const std::string dir = TempDir("planrun-xdb");
  WriteFile(dir + "/001.yaml", R"P(version: 1
name: xdb
connections:
  legacy: {url: env:LEGACY_DATABASE_URL}
steps:
  - id: pull
    copy:
      from: {connection: legacy, table: accounts, key: id, columns: [id, email]}
      to: {table: accounts}
      batch_size: 500
)P");
  CommandResult missing = Planrun("data_target", {"--plans", dir, "apply"});
  CHECK(missing.exit_code == 1);
  CHECK(missing.err.find("connection 'legacy' of plan 1 reads the environment variable "
                         "LEGACY_DATABASE_URL, which is not set") != std::string::npos);
  CommandResult r =
      Planrun("data_target", {"--plans", dir, "apply"}, {{"LEGACY_DATABASE_URL", src_conn}});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(TableChecksums(conn, {"planrun", "planrun_backup"}) ==
        TableChecksums(src_conn, {"planrun", "planrun_backup"}));
}

TEST_CASE("dry run with --sample runs hooks over the first rows and writes nothing") {
  const std::string db = "data_sample";
  const std::string conn = FreshDatabase(db);
  ExecSql(conn, kUsersSetup);
  const std::string dir = TempDir("planrun-sample");
  WriteFile(dir + "/contacts.lua", R"(function transform(row, ctx)
  if not check.email(row.email) then error("invalid email: " .. row.email, 0) end
  if row.id % 2 == 0 then return nil end
  return {user_id = row.id, email = row.email, slug = text.slugify(row.username)}
end
)");
  WriteFile(dir + "/001_contacts.yaml", ContactsPlan("0"));
  const std::string before = SchemaDump(db);
  CommandResult r = Planrun(db, {"--plans", dir, "apply", "--dry-run", "--sample", "10"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.err.find("copy contacts (dry run, sample of 10 rows): 4 would be written, 5 skipped, "
                   "1 rejected") != std::string::npos);
  CHECK(r.err.find("rejected key [\"7\"]: invalid email: broken") != std::string::npos);
  CHECK(r.err.find("row {\"user_id\":1,\"email\":\"u1@example.com\",\"slug\":\"user-1\"}") !=
        std::string::npos);
  CHECK(SchemaDump(db) == before);
  CHECK(QueryValue(conn, "SELECT count(*) FROM contacts") == "0");
}

TEST_CASE("rollback undoes the committed batches of a data step that failed") {
  const std::string db = "data_failed_rollback";
  const std::string conn = FreshDatabase(db);
  ExecSql(conn, kUsersSetup);
  const std::string before = TableChecksums(conn, {"planrun", "planrun_backup"});
  const std::string dir = TempDir("planrun-failed-rb");
  WriteFile(dir + "/contacts.lua", kStrictHook);
  WriteFile(dir + "/001_contacts.yaml", ContactsPlan("0"));
  CommandResult failed = Planrun(db, {"--plans", dir, "apply"});
  CHECK(failed.exit_code == 1);
  CHECK(QueryValue(conn, "SELECT count(*) FROM contacts") == "98");
  CommandResult rb = Planrun(db, {"--plans", dir, "rollback"});
  INFO(rb.err);
  REQUIRE(rb.exit_code == 0);
  CHECK(TableChecksums(conn, {"planrun", "planrun_backup"}) == before);
  CHECK(QueryValue(conn, "SELECT state FROM planrun.schema_migrations") == "rolled_back");
}

TEST_CASE("--retry-rejects runs a transform's rejected rows through the fixed hook") {
  const std::string db = "data_transform_retry";
  const std::string conn = FreshDatabase(db);
  ExecSql(conn, std::string(kUsersSetup) + "ALTER TABLE users ADD COLUMN domain text;");
  const std::string dir = TempDir("planrun-transform-retry");
  const std::string plan = R"P(version: 1
name: domains
steps:
  - id: domains
    transform:
      table: users
      key: id
      columns: [email]
      set: [domain]
      transform: domain.lua
      max_rejects: 5
)P";
  WriteFile(dir + "/001.yaml", plan);
  WriteFile(dir + "/domain.lua", R"(function transform(row, ctx)
  local domain = row.email:match("@(.+)$")
  if not domain then error("no domain in " .. row.email, 0) end
  return {domain = domain}
end
)");
  CommandResult first = Planrun(db, {"--plans", dir, "apply"});
  INFO(first.err);
  REQUIRE(first.exit_code == 0);
  CHECK(first.err.find("transform domains: 1000 read, 997 written, 0 skipped, 3 rejected") !=
        std::string::npos);
  CHECK(QueryValue(conn, "SELECT count(domain) FROM users") == "997");
  WriteFile(dir + "/domain.lua", R"(function transform(row, ctx)
  return {domain = row.email:match("@(.+)$") or "unknown"}
end
)");
  CommandResult retried = Planrun(db, {"--plans", dir, "apply", "--retry-rejects"});
  INFO(retried.err);
  REQUIRE(retried.exit_code == 0);
  CHECK(retried.err.find("transform domains: retried 3 rejected rows, 0 still rejected") !=
        std::string::npos);
  CHECK(QueryValue(conn,
                   "SELECT string_agg(domain, ',' ORDER BY id) FROM users WHERE id IN (7, "
                   "70, 700)") == "unknown,unknown,unknown");
  // Rollback restores every domain, retried rows included, to NULL.
  REQUIRE(Planrun(db, {"--plans", dir, "rollback"}).exit_code == 0);
  CHECK(QueryValue(conn, "SELECT count(domain) FROM users") == "0");
}

TEST_CASE("on_conflict: update upserts, and rollback restores the updated rows exactly") {
  for (const bool hook : {false, true}) {
    const std::string db = hook ? "data_upsert_hook" : "data_upsert_sql";
    const std::string conn = FreshDatabase(db);
    ExecSql(conn,
            "CREATE TABLE prices (sku text PRIMARY KEY, cents int NOT NULL);"
            "INSERT INTO prices SELECT 'sku' || i, i * 100 FROM generate_series(1, 1500) i;"
            "CREATE TABLE catalog (id bigserial PRIMARY KEY, sku text UNIQUE, cents int, "
            "note text);"
            "INSERT INTO catalog (sku, cents, note) SELECT 'sku' || i, 1, 'old ' || i FROM "
            "generate_series(1000, 2000) i;");
    const std::string before = TableChecksums(conn, {"planrun", "planrun_backup"});
    const std::string dir = TempDir("planrun-upsert");
    std::string plan = R"P(version: 1
name: upsert
steps:
  - id: prices
    copy:
      from: {table: prices, key: sku}
      to: {table: catalog, columns: [sku, cents], on_conflict: update, conflict_key: [sku]}
      batch_size: 400
)P";
    if (hook) {
      plan +=
          "      lua: |\n"
          "        function transform(row, ctx)\n"
          "          return {sku = row.sku, cents = row.cents}\n"
          "        end\n";
    }
    WriteFile(dir + "/001.yaml", plan);
    CommandResult r = Planrun(db, {"--plans", dir, "apply"});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    CHECK(QueryValue(conn, "SELECT count(*) FROM catalog") == "2000");
    CHECK(QueryValue(conn, "SELECT cents || ' ' || note FROM catalog WHERE sku = 'sku1200'") ==
          "120000 old 1200");
    CHECK(QueryValue(conn, "SELECT cents FROM catalog WHERE sku = 'sku5'") == "500");
    CommandResult rb = Planrun(db, {"--plans", dir, "rollback"});
    INFO(rb.err);
    REQUIRE(rb.exit_code == 0);
    CHECK(TableChecksums(conn, {"planrun", "planrun_backup"}) == before);
  }
}

TEST_CASE("editing a module the hook requires is drift") {
  const std::string db = "data_module_drift";
  const std::string conn = FreshDatabase(db);
  ExecSql(conn, kUsersSetup);
  const std::string dir = TempDir("planrun-module");
  WriteFile(dir + "/lib/mail.lua", "return {domain = 'example.com'}\n");
  WriteFile(dir + "/contacts.lua", R"(local mail = require("lib.mail")
function transform(row, ctx)
  return {user_id = row.id, email = "u" .. row.id .. "@" .. mail.domain, slug = "s" .. row.id}
end
)");
  WriteFile(dir + "/001_contacts.yaml", ContactsPlan("0"));
  CommandResult r = Planrun(db, {"--plans", dir, "apply"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(QueryValue(conn, "SELECT email FROM contacts WHERE user_id = 9") == "u9@example.com");
  WriteFile(dir + "/lib/mail.lua", "return {domain = 'example.org'}\n");
  CommandResult status = Planrun(db, {"--plans", dir, "status"});
  CHECK(status.out.find("! file changed since it was applied (drift)") != std::string::npos);
  CHECK(Planrun(db, {"--plans", dir, "apply"}).exit_code == 4);
}

TEST_CASE("a --sample dry run shows a transform's new values and skips verify steps") {
  const std::string db = "data_sample_transform";
  const std::string conn = FreshDatabase(db);
  ExecSql(conn, kUsersSetup);
  const std::string dir = TempDir("planrun-sample-transform");
  WriteFile(dir + "/001.yaml", R"P(version: 1
name: sample
steps:
  - id: lower_names
    transform:
      table: users
      key: id
      set: {username: "lower(username)"}
  - id: upper_names
    transform:
      table: users
      key: id
      columns: [username]
      set: [username]
      lua: |
        function transform(row, ctx)
          if row.id == 2 then return nil end
          return {username = string.upper(row.username)}
        end
  - id: check
    verify:
      - name: all lower case
        sql: SELECT count(*) FROM users WHERE username <> lower(username)
        expect: 0
)P");
  CommandResult r = Planrun(db, {"--plans", dir, "apply", "--dry-run", "--sample", "3"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.err.find("transform lower_names (dry run, sample of 3 rows): 3 would change, 0 skipped, "
                   "0 rejected") != std::string::npos);
  CHECK(r.err.find("id=1, username=user_1") != std::string::npos);
  CHECK(r.err.find("transform upper_names (dry run, sample of 3 rows): 2 would change, 1 "
                   "skipped, 0 rejected") != std::string::npos);
  CHECK(r.err.find("key [\"3\"] -> {\"username\":\"USER_3\"}") != std::string::npos);
  CHECK(r.err.find("verify step check not checked: a dry run with --sample writes no rows") !=
        std::string::npos);
  CHECK(QueryValue(conn, "SELECT username FROM users WHERE id = 1") == "User_1");
}

TEST_CASE("a data step's key must be unique in its table") {
  const std::string db = "data_key_unique";
  const std::string conn = FreshDatabase(db);
  ExecSql(conn,
          "CREATE TABLE tags (k int NOT NULL, v text NOT NULL, n int);"
          "INSERT INTO tags SELECT i / 2, 'v' || i, 0 FROM generate_series(1, 20) i;");
  const std::string dir = TempDir("planrun-key-unique");
  auto plan = [&](const std::string& key) {
    WriteFile(dir + "/001.yaml",
              "version: 1\nname: bump\nsteps:\n  - id: bump\n    transform:\n"
              "      table: tags\n      key: " +
                  key + "\n      batch_size: 3\n      set: {n: n + 1}\n");
  };
  plan("[k]");
  CommandResult dup = Planrun(db, {"--plans", dir, "apply"});
  CHECK(dup.exit_code == 1);
  CHECK_THAT(dup.err,
             Catch::EndsWith(
                 "\nerror: step 'bump' of plan 1 bump failed to apply: transform: key (k) of "
                 "table tags is not unique: no primary key or unique index (without WHERE) is on "
                 "these columns. Batches are read in key order after the last key done, so rows "
                 "sharing a key could be skipped; name a unique key, or add a unique index on "
                 "it\n"));
  CHECK(QueryValue(conn, "SELECT sum(n) FROM tags") == "0");

  // A unique index on some of the key's columns makes the key unique. Each
  // row is updated once: with a composite key, a batch's last key used to be
  // taken with "ORDER BY k, v DESC", which repeated rows (sum 31, not 20).
  ExecSql(conn, "CREATE UNIQUE INDEX tags_v ON tags (v)");
  ExecSql(conn, "DROP SCHEMA planrun CASCADE");
  plan("[k, v]");
  CommandResult ok = Planrun(db, {"--plans", dir, "apply"});
  INFO(ok.err);
  CHECK(ok.exit_code == 0);
  CHECK(QueryValue(conn, "SELECT sum(n) FROM tags") == "20");
}

}  // namespace
}  // namespace testing
}  // namespace planrun
