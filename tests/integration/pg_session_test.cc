#include <catch2/catch.hpp>
#include <cstdlib>

#include "pg/session.h"
#include "support.h"
#include "util/redact.h"
#include "util/strings.h"

namespace Catch {
/// Prints a pg::Value in failure messages.
template <>
struct StringMaker<planrun::pg::Value> {
  static std::string convert(const planrun::pg::Value& v) {
    return v ? StringMaker<std::string>::convert(*v) : "NULL";
  }
};
}  // namespace Catch

namespace planrun {
namespace {

using pg::Result;
using pg::Value;

/// The test database, created once per run.
const std::string& Db() {
  static const std::string db = testing::FreshDatabase("pg_session_test");
  return db;
}

/// Runs `sql` and returns its result; fails the test on error.
Result Must(pg::Session& s, const std::string& sql) {
  Result r;
  Status st = s.Exec(sql, &r);
  INFO(sql << ": " << st.message());
  REQUIRE(st.ok());
  return r;
}

/// Everything CopyOut sends, checking that each chunk is whole lines.
std::string CopyOutAll(pg::Session& s, const std::string& sql, int* chunks = nullptr) {
  std::string all;
  int n = 0;
  Status st = s.CopyOut(sql, [&](std::string_view chunk) {
    CHECK(!chunk.empty());
    CHECK(chunk.back() == '\n');
    CHECK(chunk.size() <= 64 * 1024 + 100);
    all.append(chunk);
    ++n;
    return Status::OK();
  });
  INFO(st.message());
  REQUIRE(st.ok());
  if (chunks != nullptr) *chunks = n;
  return all;
}

/// A CopyIn source handing out `text` in pieces of `piece` bytes.
std::function<Status(std::string*, bool*)> Pieces(const std::string& text, size_t piece) {
  auto pos = std::make_shared<size_t>(0);
  return [text, piece, pos](std::string* chunk, bool* done) {
    chunk->append(text.substr(*pos, piece));
    *pos += piece;
    *done = *pos >= text.size();
    return Status::OK();
  };
}

TEST_CASE("Exec returns text values, NULLs and column names") {
  auto s = testing::Connect(Db());
  Result r = Must(*s,
                  "SELECT 1 AS a, NULL::text AS b, 'x''y' AS c, 0.1::float8 AS d, "
                  "timestamptz '2024-01-02 03:04:05+00' AT TIME ZONE 'UTC' AS e, "
                  "interval '1 day 2 hours' AS f, date '2024-02-29' AS g, '' AS h");
  CHECK(r.columns == std::vector<std::string>{"a", "b", "c", "d", "e", "f", "g", "h"});
  REQUIRE(r.rows.size() == 1);
  CHECK(r.rows[0] == std::vector<Value>{"1", std::nullopt, "x'y", "0.1", "2024-01-02 03:04:05",
                                        "P1DT2H", "2024-02-29", ""});
  CHECK(r.get(0, 1, "fallback") == "fallback");
  CHECK(r.get(0, 7, "fallback") == "");
  CHECK(r.command == "SELECT 1");
  CHECK(r.affected == 0);
}

TEST_CASE("Exec runs several statements and reports the last one") {
  auto s = testing::Connect(Db());
  Result r = Must(*s,
                  "DROP TABLE IF EXISTS counts; CREATE TABLE counts (id int PRIMARY KEY, v text);"
                  "INSERT INTO counts VALUES (1, 'a'), (2, 'b'), (3, NULL)");
  CHECK(r.command == "INSERT 0 3");
  CHECK(r.affected == 3);
  CHECK(r.rows.empty());

  r = Must(*s, "UPDATE counts SET v = 'z' WHERE id < 3");
  CHECK(r.command == "UPDATE 2");
  CHECK(r.affected == 2);

  r = Must(*s, "INSERT INTO counts VALUES (4, 'd') RETURNING id, v");
  CHECK(r.affected == 1);
  CHECK(r.rows == std::vector<std::vector<Value>>{{"4", "d"}});

  r = Must(*s,
           "DROP TABLE IF EXISTS counts_copy; CREATE TABLE counts_copy AS SELECT * FROM counts");
  CHECK(r.command == "SELECT 4");
  CHECK(r.affected == 4);

  r = Must(*s, "DELETE FROM counts WHERE v IS NULL");
  CHECK(r.command == "DELETE 1");
  CHECK(r.affected == 1);

  r = Must(*s, "SELECT 1; SELECT id FROM counts ORDER BY id");
  CHECK(r.rows == std::vector<std::vector<Value>>{{"1"}, {"2"}, {"4"}});
  CHECK(r.affected == 0);

  r = Must(*s, "CREATE INDEX ON counts (v)");
  CHECK(r.command == "CREATE INDEX");
  CHECK(r.affected == 0);
}

TEST_CASE("Query binds text parameters and NULL") {
  auto s = testing::Connect(Db());
  Result r;
  Status st = s->Query("SELECT $1::text, $2::text, $3::int + 1, $4::text IS NULL",
                       {"a'b\\c\t\"d\"", "é漢🎉", "41", std::nullopt}, &r);
  INFO(st.message());
  REQUIRE(st.ok());
  CHECK(r.rows == std::vector<std::vector<Value>>{{"a'b\\c\t\"d\"", "é漢🎉", "42", "t"}});

  st = s->Query("SELECT $1::int", {"nope"}, &r);
  CHECK(st.code() == StatusCode::kDatabase);
  CHECK(st.sqlstate() == "22P02");
  CHECK(st.message() ==
        "invalid input syntax for type integer: \"nope\"\n"
        "CONTEXT:  unnamed portal parameter $1 = '...'");
}

TEST_CASE("errors carry SQLSTATE and PostgreSQL's whole message") {
  auto s = testing::Connect(Db());
  Status st = s->Exec("SELECT * FROM nope");
  CHECK(st.code() == StatusCode::kDatabase);
  CHECK(st.sqlstate() == "42P01");
  CHECK(st.message() ==
        "relation \"nope\" does not exist\n"
        "LINE 1: SELECT * FROM nope\n"
        "                      ^");

  Must(*s,
       "DROP TABLE IF EXISTS uniq; CREATE TABLE uniq (id int PRIMARY KEY); "
       "INSERT INTO uniq VALUES (1)");
  st = s->Exec("INSERT INTO uniq VALUES (1)");
  CHECK(st.sqlstate() == "23505");
  CHECK(st.message() ==
        "duplicate key value violates unique constraint \"uniq_pkey\"\n"
        "DETAIL:  Key (id)=(1) already exists.");

  st = s->Exec("SELECT no_such_function(1)");
  CHECK(st.sqlstate() == "42883");
  CHECK(st.message() ==
        "function no_such_function(integer) does not exist\n"
        "LINE 1: SELECT no_such_function(1)\n"
        "               ^\n"
        "HINT:  No function matches the given name and argument types. You might need to add "
        "explicit type casts.");

  st = s->Exec("DO $$BEGIN RAISE EXCEPTION 'custom %', 7 USING ERRCODE = 'P0001'; END$$");
  CHECK(st.sqlstate() == "P0001");
  CHECK(st.message() ==
        "custom 7\n"
        "CONTEXT:  PL/pgSQL function inline_code_block line 1 at RAISE");

  // An error in the middle of a multi-statement string stops it and rolls
  // back the implicit transaction; the session stays usable.
  st = s->Exec("INSERT INTO uniq VALUES (10); SELECT 1/0; INSERT INTO uniq VALUES (11)");
  CHECK(st.sqlstate() == "22012");
  CHECK(st.message() == "division by zero");
  CHECK(Must(*s, "SELECT count(*) FROM uniq WHERE id >= 10").get(0, 0) == "0");
}

TEST_CASE("BEGIN, COMMIT and ROLLBACK are plain statements") {
  auto s = testing::Connect(Db());
  Must(*s, "DROP TABLE IF EXISTS tx; CREATE TABLE tx (id int PRIMARY KEY)");
  Must(*s, "BEGIN");
  Must(*s, "INSERT INTO tx VALUES (1)");
  Must(*s, "ROLLBACK");
  CHECK(Must(*s, "SELECT count(*) FROM tx").get(0, 0) == "0");

  Must(*s, "BEGIN");
  Must(*s, "INSERT INTO tx VALUES (2)");
  CHECK(s->Exec("INSERT INTO tx VALUES (2)").sqlstate() == "23505");
  Status st = s->Exec("SELECT 1");
  CHECK(st.sqlstate() == "25P02");
  CHECK(st.message() ==
        "current transaction is aborted, commands ignored until end of transaction block");
  CHECK(Must(*s, "ROLLBACK").command == "ROLLBACK");

  Must(*s, "BEGIN");
  Must(*s, "INSERT INTO tx VALUES (3)");
  CHECK(Must(*s, "COMMIT").command == "COMMIT");
  CHECK(Must(*s, "SELECT id FROM tx").rows == std::vector<std::vector<Value>>{{"3"}});
}

TEST_CASE("CopyOut and CopyIn round-trip tricky values byte for byte") {
  auto s = testing::Connect(Db());
  Must(*s,
       "DROP TABLE IF EXISTS src, dst; CREATE TABLE src (id int, v text); "
       "CREATE TABLE dst (id int, v text)");
  const std::vector<Value> values = {"tab\there", "new\nline", "back\\slash", "cr\rreturn",
                                     "é 漢字 🎉",  "",          std::nullopt,  "\\N",
                                     "end\\",     "a\\tb",     " spaces "};
  for (size_t i = 0; i < values.size(); ++i) {
    Status st = s->Query("INSERT INTO src VALUES ($1, $2)", {std::to_string(i), values[i]});
    REQUIRE(st.ok());
  }
  std::string text = CopyOutAll(*s, "COPY src TO STDOUT");
  CHECK(text ==
        "0\ttab\\there\n"
        "1\tnew\\nline\n"
        "2\tback\\\\slash\n"
        "3\tcr\\rreturn\n"
        "4\té 漢字 🎉\n"
        "5\t\n"
        "6\t\\N\n"
        "7\t\\\\N\n"
        "8\tend\\\\\n"
        "9\ta\\\\tb\n"
        "10\t spaces \n");

  // Seven-byte pieces split lines and escapes across chunks.
  int64_t rows = 0;
  Status st = s->CopyIn("COPY dst FROM STDIN", Pieces(text, 7), &rows);
  INFO(st.message());
  REQUIRE(st.ok());
  CHECK(rows == 11);
  Result r = Must(*s, "SELECT v FROM dst ORDER BY id");
  REQUIRE(r.rows.size() == values.size());
  for (size_t i = 0; i < values.size(); ++i) CHECK(r.rows[i][0] == values[i]);
  CHECK(CopyOutAll(*s, "COPY dst TO STDOUT") == text);
  CHECK(CopyOutAll(*s, "COPY (SELECT v FROM dst WHERE id = 4) TO STDOUT") == "é 漢字 🎉\n");
}

TEST_CASE("CopyOut delivers large tables in bounded whole-line chunks") {
  auto s = testing::Connect(Db());
  int chunks = 0;
  std::string text = CopyOutAll(
      *s, "COPY (SELECT g, repeat('x', 20) FROM generate_series(1, 20000) g) TO STDOUT", &chunks);
  CHECK(chunks > 5);
  std::vector<std::string> lines = Split(text, '\n');
  REQUIRE(lines.size() == 20001);
  CHECK(lines[0] == "1\txxxxxxxxxxxxxxxxxxxx");
  CHECK(lines[19999] == "20000\txxxxxxxxxxxxxxxxxxxx");
  CHECK(lines[20000] == "");
}

TEST_CASE("an error from the CopyOut callback stops the copy") {
  auto s = testing::Connect(Db());
  int calls = 0;
  Status st = s->CopyOut("COPY (SELECT g FROM generate_series(1, 3000000) g) TO STDOUT",
                         [&](std::string_view) {
                           ++calls;
                           return Status::Io("disk full");
                         });
  CHECK(st.code() == StatusCode::kIo);
  CHECK(st.message() == "disk full");
  CHECK(calls == 1);
  CHECK(Must(*s, "SELECT 42").get(0, 0) == "42");
}

TEST_CASE("CopyIn aborts cleanly when the source fails or the data is bad") {
  auto s = testing::Connect(Db());
  Must(*s, "DROP TABLE IF EXISTS sink; CREATE TABLE sink (id int, v text)");

  int calls = 0;
  Status st = s->CopyIn("COPY sink FROM STDIN", [&](std::string* chunk, bool* done) {
    if (++calls == 2) return Status::Io("read failed");
    chunk->append("1\ta\n");
    *done = false;
    return Status::OK();
  });
  CHECK(st.code() == StatusCode::kIo);
  CHECK(st.message() == "read failed");
  CHECK(Must(*s, "SELECT count(*) FROM sink").get(0, 0) == "0");

  st = s->CopyIn("COPY sink FROM STDIN", Pieces("1\tx\nnotanint\ty\n", 100));
  CHECK(st.sqlstate() == "22P02");
  CHECK(st.message() ==
        "invalid input syntax for type integer: \"notanint\"\n"
        "CONTEXT:  COPY sink, line 2, column id: \"notanint\"");
  CHECK(Must(*s, "SELECT count(*) FROM sink").get(0, 0) == "0");

  // Bad data first, then far more than the server reads before it gives up.
  std::string good;
  for (int i = 0; i < 5000; ++i) good += "7\tfiller filler filler filler\n";
  calls = 0;
  st = s->CopyIn("COPY sink FROM STDIN", [&](std::string* chunk, bool* done) {
    *chunk = ++calls == 1 ? "x\ty\n" : good;
    *done = calls == 2000;
    return Status::OK();
  });
  CHECK(st.sqlstate() == "22P02");
  CHECK(StartsWith(st.message(), "invalid input syntax for type integer: \"x\""));

  Must(*s, "BEGIN");
  st = s->CopyIn("COPY sink FROM STDIN", Pieces("5\tin tx\n", 100));
  REQUIRE(st.ok());
  Must(*s, "ROLLBACK");
  CHECK(Must(*s, "SELECT count(*) FROM sink").get(0, 0) == "0");
}

TEST_CASE("COPY in the wrong call is refused and the session stays usable") {
  auto s = testing::Connect(Db());
  Must(*s, "DROP TABLE IF EXISTS c; CREATE TABLE c (id int); INSERT INTO c VALUES (1)");
  Status st = s->Exec("COPY c TO STDOUT");
  CHECK(st.code() == StatusCode::kInvalid);
  CHECK(st.message() == "COPY TO STDOUT needs Session::CopyOut");
  st = s->Exec("COPY c FROM STDIN");
  CHECK(st.sqlstate() == "57014");
  CHECK(st.message() ==
        "COPY from stdin failed: COPY FROM STDIN needs Session::CopyIn\n"
        "CONTEXT:  COPY c, line 1");
  st = s->CopyOut("SELECT 1", [](std::string_view) { return Status::OK(); });
  CHECK(st.code() == StatusCode::kInvalid);
  CHECK(st.message() == "not a COPY TO STDOUT statement: SELECT 1");
  st = s->CopyIn("COPY c TO STDOUT", Pieces("2\n", 10));
  CHECK(st.message() == "not a COPY FROM STDIN statement: COPY c TO STDOUT");
  st = s->CopyOut("COPY missing TO STDOUT", [](std::string_view) { return Status::OK(); });
  CHECK(st.sqlstate() == "42P01");
  CHECK(st.message() == "relation \"missing\" does not exist");
  CHECK(Must(*s, "SELECT id FROM c").rows == std::vector<std::vector<Value>>{{"1"}});
}

TEST_CASE("sessions are set up for exact text round trips") {
  pg::ConnectOptions options;
  options.conninfo = Db() + " application_name=from_conninfo";
  options.application_name = "planrun test (pid 1)";
  std::unique_ptr<pg::Session> s;
  REQUIRE(pg::Connect(options, &s).ok());
  Result r = Must(*s,
                  "SELECT current_setting('application_name'), current_setting('DateStyle'), "
                  "current_setting('IntervalStyle'), current_setting('extra_float_digits'), "
                  "current_setting('client_encoding'), "
                  "current_setting('standard_conforming_strings'), pg_backend_pid()");
  CHECK(r.rows[0] == std::vector<Value>{"planrun test (pid 1)", "ISO, YMD", "iso_8601", "3", "UTF8",
                                        "on", std::to_string(s->BackendPid())});
  CHECK(s->IsOpen());

  auto killer = testing::Connect(Db());
  Must(*killer, "SELECT pg_terminate_backend(" + std::to_string(s->BackendPid()) + ", 5000)");
  Status st = s->Exec("SELECT 1");
  CHECK(st.code() == StatusCode::kDatabase);
  CHECK(!s->IsOpen());
}

TEST_CASE("URL conninfo and the session factory connect") {
  const char* host = std::getenv("PGHOST");
  const char* port = std::getenv("PGPORT");
  const char* user = std::getenv("PGUSER");
  std::string h = host != nullptr ? host : "localhost";
  for (size_t i = h.find('/'); i != std::string::npos; i = h.find('/', i)) h.replace(i, 1, "%2F");
  std::string url = std::string("postgresql://") + (user ? user : "postgres") + "@" + h + ":" +
                    (port ? port : "5432") + "/pg_session_test?connect_timeout=5";
  pg::ConnectOptions options;
  options.conninfo = url;
  pg::SessionFactory factory = pg::MakeSessionFactory(options);
  std::unique_ptr<pg::Session> s;
  Status st = factory("planrun worker 3", &s);
  INFO(st.message());
  REQUIRE(st.ok());
  Result r = Must(*s, "SELECT current_database(), current_setting('application_name')");
  CHECK(r.rows[0] == std::vector<Value>{"pg_session_test", "planrun worker 3"});
}

TEST_CASE("a failed connection names the target but never the password") {
  ClearSecretsForTesting();
  const char* host = std::getenv("PGHOST");
  std::string h = host != nullptr && host[0] != '/' ? host : "localhost";
  pg::ConnectOptions options;
  options.conninfo = "postgresql://migrator:Sup3r%2FS3cret@" + h + ":1/app";
  options.connect_timeout_s = 3;
  std::unique_ptr<pg::Session> s;
  Status st = pg::Connect(options, &s);
  INFO(st.message());
  CHECK(st.code() == StatusCode::kDatabase);
  CHECK(StartsWith(st.message(), "cannot connect to PostgreSQL (" + h +
                                     ":1/app as migrator): connection to server at \"" + h + "\""));
  CHECK(st.message().find("S3cret") == std::string::npos);
  CHECK(s == nullptr);
  CHECK(Redact("pw Sup3r/S3cret and Sup3r%2FS3cret") == "pw *** and ***");

  options.conninfo = "host=" + h + " port=1 dbname=app user=migrator password='kv pass 42'";
  st = pg::Connect(options, &s);
  CHECK(StartsWith(st.message(), "cannot connect to PostgreSQL (" + h + ":1/app as migrator): "));
  CHECK(Redact("said kv pass 42") == "said ***");

  // Under pg_virtualenv PGPASSWORD is the real password; elsewhere trust
  // authentication ignores a made-up one. Either way it becomes a secret.
  const char* prior = std::getenv("PGPASSWORD");
  const std::string env_password = prior ? prior : "env-pass-77";
  setenv("PGPASSWORD", env_password.c_str(), 1);
  options.conninfo = Db();
  st = pg::Connect(options, &s);
  if (!prior) unsetenv("PGPASSWORD");
  REQUIRE(st.ok());
  CHECK(Redact(env_password) == "***");
  ClearSecretsForTesting();
}

TEST_CASE("a malformed conninfo is refused before connecting") {
  pg::ConnectOptions options;
  options.conninfo = "host=localhost port";
  std::unique_ptr<pg::Session> s;
  Status st = pg::Connect(options, &s);
  CHECK(st.code() == StatusCode::kInvalid);
  CHECK(st.message() ==
        "invalid connection string: missing \"=\" after \"port\" in connection info string");

  options.conninfo = "postgresql://u:pa55word@host:5432/db?nosuchoption=1";
  st = pg::Connect(options, &s);
  CHECK(st.code() == StatusCode::kInvalid);
  CHECK(st.message() == "invalid connection string: invalid URI query parameter: \"nosuchoption\"");
}

}  // namespace
}  // namespace planrun
