// Secrets and trust against a real PostgreSQL: planrun works as a role that
// is not a superuser with exactly the grants docs/security.md lists (and
// fails clearly without one), a password given in any of the ways libpq and
// planrun accept never shows in any output or tracking table, and TLS
// settings reach libpq.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>

#include "support.h"

namespace planrun {
namespace testing {
namespace {

const std::vector<std::string> kPlanrunSchemas = {"planrun", "planrun_backup"};

std::string Examples() { return SourceDir() + "/plans/examples/registry"; }

/// The variable `name`, or `fallback` when unset or empty.
std::string EnvOr(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? v : fallback;
}

/// The password of the roles that only need to log in.
const char kRolePassword[] = "role-pw-not-secret";

/// Drops role `role` when it exists, then creates it as a plain login role
/// with `password`.
void FreshRole(const std::string& role, const std::string& password = kRolePassword) {
  ExecSql("dbname=postgres", "DO $$BEGIN IF EXISTS (SELECT FROM pg_roles WHERE rolname = '" + role +
                                 "') THEN EXECUTE 'DROP OWNED BY " + role +
                                 "'; EXECUTE 'DROP ROLE " + role + "'; END IF; END$$");
  ExecSql("dbname=postgres",
          "CREATE ROLE " + role +
              " LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION PASSWORD '" + password +
              "'");
}

/// The environment that makes libpq log in as `role` (set up by FreshRole).
std::map<std::string, std::string> AsRole(const std::string& role) {
  return {{"PGUSER", role}, {"PGPASSWORD", kRolePassword}};
}

/// Loads plans/examples/registry/sample_data.sql as `role`, so the role owns the tables.
void LoadSampleAs(const std::string& db, const std::string& role) {
  CommandResult r =
      Run({"psql", "-q", "-v", "ON_ERROR_STOP=1", "-d", db, "-f", Examples() + "/sample_data.sql"},
          AsRole(role));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
}

/// The grants docs/security.md lists, on database `db` for `role`, after
/// taking every default privilege away from PUBLIC.
void GrantDocumented(const std::string& db, const std::string& role) {
  ExecSql("dbname=" + db, "REVOKE ALL ON DATABASE " + db +
                              " FROM PUBLIC;"
                              "REVOKE ALL ON SCHEMA public FROM PUBLIC;"
                              "GRANT CONNECT, CREATE, TEMPORARY ON DATABASE " +
                              db + " TO " + role + ";GRANT USAGE, CREATE ON SCHEMA public TO " +
                              role);
}

TEST_CASE("a role that is not a superuser applies, reports and rolls back every example") {
  const std::string db = "security_role";
  const std::string role = "planrun_sec_migrator";
  const std::string conn = FreshDatabase(db);
  FreshRole(role);
  GrantDocumented(db, role);
  LoadSampleAs(db, role);
  const std::string dump_before = SchemaDump(db, kPlanrunSchemas);
  const std::string sums_before = TableChecksums(conn, kPlanrunSchemas);
  const std::map<std::string, std::string> as_role = AsRole(role);

  CommandResult apply = Planrun(db, {"--plans", Examples(), "apply"}, as_role);
  INFO(apply.err);
  REQUIRE(apply.exit_code == 0);
  CHECK(QueryValue(conn,
                   "SELECT string_agg(version || ':' || state || ':' || applied_by_role, ',' "
                   "ORDER BY version_key) FROM planrun.schema_migrations") ==
        "1:applied:" + role + ",2:applied:" + role + ",3:applied:" + role + ",4:applied:" + role +
            ",5:applied:" + role);
  CHECK(QueryValue(conn,
                   "SELECT rolsuper OR rolcreatedb OR rolcreaterole FROM pg_roles WHERE "
                   "rolname = '" +
                       role + "'") == "f");
  CHECK(QueryValue(conn,
                   "SELECT string_agg(DISTINCT pg_get_userbyid(nspowner), ',') FROM "
                   "pg_namespace WHERE nspname IN ('planrun', 'planrun_backup')") == role);

  CommandResult status = Planrun(db, {"--plans", Examples(), "status"}, as_role);
  INFO(status.err);
  CHECK(status.exit_code == 0);
  CHECK(status.out.find("5        kv_to_tables") != std::string::npos);

  CommandResult rollback = Planrun(db, {"--plans", Examples(), "rollback", "--to", "0"}, as_role);
  INFO(rollback.err);
  REQUIRE(rollback.exit_code == 0);
  CHECK(SchemaDump(db, kPlanrunSchemas) == dump_before);
  CHECK(TableChecksums(conn, kPlanrunSchemas) == sums_before);
}

/// Database `db` with table `items` owned by the superuser, a role `role`
/// that may connect and change its rows, and a plan adding a column to it
/// in the returned plans directory.
std::string LimitedSetup(const std::string& db, const std::string& role) {
  const std::string conn = FreshDatabase(db);
  FreshRole(role);
  ExecSql(conn,
          "CREATE TABLE items (id int PRIMARY KEY); INSERT INTO items VALUES (1), (2);"
          "REVOKE ALL ON DATABASE " +
              db +
              " FROM PUBLIC;"
              "GRANT CONNECT ON DATABASE " +
              db + " TO " + role +
              ";"
              "GRANT SELECT, INSERT, UPDATE, DELETE ON items TO " +
              role);
  const std::string dir = TempDir("planrun-sec-grants");
  WriteFile(dir + "/001_cols.yaml", R"(version: 1
name: cols
steps:
  - id: add
    add_columns: {table: items, columns: [{name: note, type: text}]}
)");
  return dir;
}

// A role without CREATE on the database: the error says planrun was creating
// its tracking tables, and nothing changes.
TEST_CASE("without CREATE on the database, apply says it cannot create its schema") {
  const std::string db = "security_role_missing";
  const std::string role = "planrun_sec_limited";
  const std::string dir = LimitedSetup(db, role);
  const std::string dump_before = SchemaDump(db);
  CommandResult r = Planrun(db, {"--plans", dir, "apply"}, AsRole(role));
  CHECK(r.exit_code == 1);
  CHECK(SchemaDump(db) == dump_before);
  CHECK(r.err ==
        "error: cannot create the tracking tables in schema planrun: permission "
        "denied for database " +
            db + "\n");
}

TEST_CASE("without owning the migrated table, the step fails clearly and resumes later") {
  const std::string db = "security_role_owner";
  const std::string role = "planrun_sec_limited2";
  const std::string dir = LimitedSetup(db, role);
  const std::string conn = "dbname=" + db;
  const std::map<std::string, std::string> as_role = AsRole(role);
  ExecSql(conn, "GRANT CREATE, TEMPORARY ON DATABASE " + db + " TO " + role);
  const std::string dump_before = SchemaDump(db, kPlanrunSchemas);
  CommandResult r = Planrun(db, {"--plans", dir, "apply"}, as_role);
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("error: step 'add' of plan 1 cols failed to apply: must be owner of table "
                   "items") != std::string::npos);
  CHECK(QueryValue(conn, "SELECT state FROM planrun.schema_migrations") == "failed");
  CHECK(SchemaDump(db, kPlanrunSchemas) == dump_before);
  // The owner hands the table over; the same command resumes and finishes.
  ExecSql(conn, "ALTER TABLE items OWNER TO " + role);
  CommandResult again = Planrun(db, {"--plans", dir, "apply"}, as_role);
  INFO(again.err);
  CHECK(again.exit_code == 0);
  CHECK(QueryValue(conn,
                   "SELECT count(*) FROM information_schema.columns WHERE table_name = "
                   "'items' AND column_name = 'note'") == "1");
}

const char kSecretRole[] = "planrun_sec_pw";
/// The role's password, with characters a URL must percent-encode and the
/// ones a password= pattern would stop at.
const char kPassword[] = "s3c!Pw@4471 zq&x";
const char kPasswordInUrl[] = "s3c%21Pw%404471%20zq%26x";
/// A wrong password, for the refused logins.
const char kWrongPassword[] = "W0ng!Pw@8812 yy";
const char kWrongPasswordInUrl[] = "W0ng%21Pw%408812%20yy";

/// Parts of both passwords, raw and encoded: none may appear anywhere, not
/// even half masked.
const std::vector<std::string> kFragments = {"s3c!Pw",  "s3c%21Pw", "4471 zq", "4471%20zq",
                                             "zq&x",    "zq%26x",   "W0ng!Pw", "W0ng%21Pw",
                                             "8812 yy", "8812%20yy"};

/// The first password fragment found in `text`, or "" when there is none.
std::string LeakIn(const std::string& text) {
  for (const std::string& f : kFragments) {
    if (text.find(f) != std::string::npos) return f;
  }
  return "";
}

/// host, port and database of the test server as libpq key=value pairs.
std::string ServerPairs(const std::string& db) {
  return "host=" + EnvOr("PGHOST", "localhost") + " port=" + EnvOr("PGPORT", "5432") +
         " dbname=" + db;
}

/// A postgresql:// URL for the secret role with `password_in_url`.
std::string Url(const std::string& db, const std::string& password_in_url) {
  return "postgresql://" + std::string(kSecretRole) + ":" + password_in_url + "@" +
         EnvOr("PGHOST", "localhost") + ":" + EnvOr("PGPORT", "5432") + "/" + db;
}

/// One way to hand planrun a password: extra arguments and environment.
struct PasswordSource {
  std::string label;
  std::vector<std::string> args;
  std::map<std::string, std::string> env;
};

/// Every way a password reaches planrun, each giving `password` (raw and as
/// `in_url`); `pgpass` is the .pgpass file to write it to.
std::vector<PasswordSource> Sources(const std::string& db, const std::string& password,
                                    const std::string& in_url, const std::string& pgpass) {
  WriteFile(pgpass, "*:*:*:" + std::string(kSecretRole) + ":" + password + "\n");
  REQUIRE(chmod(pgpass.c_str(), 0600) == 0);
  // PGPASSWORD="" hides a PGPASSWORD the test runner may have set for the
  // superuser; libpq then reads .pgpass.
  const std::map<std::string, std::string> as_role = {{"PGUSER", kSecretRole}, {"PGPASSWORD", ""}};
  std::map<std::string, std::string> database_url = as_role;
  database_url["DATABASE_URL"] = Url(db, in_url);
  std::map<std::string, std::string> pgpassword = as_role;
  pgpassword["PGPASSWORD"] = password;
  std::map<std::string, std::string> pgpassfile = as_role;
  pgpassfile["PGPASSFILE"] = pgpass;
  return {
      {"--db URL", {"--db", Url(db, in_url)}, as_role},
      {"--db key=value",
       {"--db", ServerPairs(db) + " user=" + kSecretRole + " password='" + password + "'"},
       as_role},
      {"DATABASE_URL", {}, database_url},
      {"PGPASSWORD", {}, pgpassword},
      {"PGPASSFILE", {}, pgpassfile},
  };
}

/// A plan whose copy steps read through two `connections:` entries that carry
/// the password (one written in the plan, one from $SEC_SOURCE_URL), with a
/// hook that rejects even rows and a verify expecting `expected` items.
std::string SecretPlan(const std::string& db, const std::string& expected) {
  return R"(version: 1
name: secrets
connections:
  inline: {url: ")" +
         Url(db, kPasswordInUrl) + R"("}
  from_env: {url: env:SEC_SOURCE_URL}
steps:
  - id: add
    add_columns: {table: items, columns: [{name: note, type: text}]}
  - id: copy_inline
    copy:
      from: {connection: inline, table: source_items, key: [id], columns: [label]}
      to: {table: items_copy, columns: [id, label]}
      max_rejects: 10
      lua: |
        function transform(row, ctx)
          if row.id % 2 == 0 then error("even row " .. row.id) end
          return {id = row.id, label = row.label}
        end
  - id: copy_env
    copy:
      from: {connection: from_env, table: source_items, key: [id], columns: [label]}
      to: {table: items_env, columns: [id, label]}
  - id: check
    verify:
      reads: [items]
      assertions:
        - {name: items, sql: SELECT count(*) FROM items, expect: )" +
         expected + R"(}
)";
}

/// Every row of every table in the tracking and backup schemas, as text.
std::string TrackingDump(const std::string& conn) {
  auto s = Connect(conn);
  pg::Result tables;
  REQUIRE(s->Exec("SELECT quote_ident(schemaname) || '.' || quote_ident(tablename) FROM "
                  "pg_tables WHERE schemaname IN ('planrun', 'planrun_backup') ORDER BY 1",
                  &tables)
              .ok());
  REQUIRE(tables.rows.size() >= 5);
  std::string out;
  for (const auto& row : tables.rows) {
    pg::Result r;
    REQUIRE(s->Exec("SELECT coalesce(string_agg(x::text, E'\\n'), '') FROM " + *row[0] + " x", &r)
                .ok());
    out += *row[0] + "\n" + r.get(0, 0) + "\n";
  }
  return out;
}

/// True when the server checks passwords for the secret role over TCP (the
/// test runner's cluster does; a developer's trust cluster does not).
bool ServerChecksPasswords(const std::string& db) {
  CommandResult r = Run({"psql", "-w", "-X", "-A", "-t", "-c", "SELECT 1", "-d",
                         ServerPairs(db) + " user=" + kSecretRole + " password=not-the-password"},
                        {{"PGPASSWORD", ""}});
  return r.exit_code != 0;
}

TEST_CASE("no password from any source appears in output, logs or tracking tables") {
  const std::string db = "security_secrets";
  const std::string conn = FreshDatabase(db);
  FreshRole(kSecretRole, kPassword);
  ExecSql(conn, "ALTER DATABASE " + db + " OWNER TO " + kSecretRole);
  ExecSql(conn,
          "CREATE TABLE items (id int PRIMARY KEY); INSERT INTO items SELECT generate_series(1, 3);"
          "CREATE TABLE source_items (id int PRIMARY KEY, label text NOT NULL);"
          "INSERT INTO source_items SELECT i, 'label ' || i FROM generate_series(1, 6) i;"
          "CREATE TABLE items_copy (id int PRIMARY KEY, label text);"
          "CREATE TABLE items_env (id int PRIMARY KEY, label text);");
  ExecSql(conn, "ALTER TABLE items OWNER TO " + std::string(kSecretRole) +
                    "; ALTER TABLE items_copy OWNER TO " + kSecretRole +
                    "; ALTER TABLE items_env OWNER TO " + kSecretRole +
                    "; ALTER TABLE source_items OWNER TO " + kSecretRole);
  const std::string dir = TempDir("planrun-sec-secrets");
  const std::string plans = dir + "/plans";
  const std::string source_url =
      ServerPairs(db) + " user=" + kSecretRole + " password='" + kPassword + "'";
  int runs = 0;
  for (const PasswordSource& source : Sources(db, kPassword, kPasswordInUrl, dir + "/pgpass")) {
    INFO("password source: " << source.label);
    std::map<std::string, std::string> env = source.env;
    env["SEC_SOURCE_URL"] = source_url;
    auto run = [&](std::vector<std::string> args) {
      args.insert(args.begin(), source.args.begin(), source.args.end());
      args.insert(args.begin(), {"--plans", plans});
      CommandResult r = Planrun(db, args, env);
      INFO("planrun " << args.back() << " exit " << r.exit_code << "\nstdout:\n"
                      << r.out << "\nstderr:\n"
                      << r.err);
      CHECK(LeakIn(r.out + r.err).empty());
      ++runs;
      return r;
    };
    WriteFile(plans + "/001_secrets.yaml", SecretPlan(db, "999"));
    CHECK(run({"apply"}).exit_code == 1);  // the verify fails; the copies ran
    CHECK(run({"status"}).out.find("! failed") != std::string::npos);
    CHECK(run({"status", "--json"}).exit_code == 0);
    WriteFile(plans + "/001_secrets.yaml", SecretPlan(db, "3"));
    CHECK(run({"--log-format", "json", "-v", "apply"}).exit_code == 0);
    CHECK(run({"plan"}).exit_code == 0);
    CHECK(run({"plan", "--format", "json"}).exit_code == 0);
    CHECK(run({"validate"}).exit_code == 0);
    CommandResult rejects = run({"rejects", "1"});
    CHECK(rejects.out.find("even row 2") != std::string::npos);
    CHECK(run({"rejects", "1", "--json"}).exit_code == 0);
    CHECK(QueryValue(conn, "SELECT string_agg(id || label, ',' ORDER BY id) FROM items_copy") ==
          "1label 1,3label 3,5label 5");
    CHECK(QueryValue(conn, "SELECT count(*) FROM items_env") == "6");
    CHECK(run({"rollback", "--to", "0"}).exit_code == 0);
    CHECK(QueryValue(conn, "SELECT count(*) FROM items_copy") == "0");
    CHECK(LeakIn(TrackingDump(conn)).empty());
  }
  CHECK(runs == 50);
  CHECK(QueryValue(conn,
                   "SELECT string_agg(DISTINCT applied_by_role, ',') FROM "
                   "planrun.schema_migrations") == kSecretRole);

  // A wrong password from each source: refused when the server checks
  // passwords, and never echoed either way.
  const bool checked = ServerChecksPasswords(db);
  if (!checked) WARN("the server trusts every login; wrong passwords are only checked for echo");
  for (const PasswordSource& source :
       Sources(db, kWrongPassword, kWrongPasswordInUrl, dir + "/pgpass-wrong")) {
    INFO("password source: " << source.label);
    std::vector<std::string> args = {"--plans", plans};
    args.insert(args.end(), source.args.begin(), source.args.end());
    args.push_back("status");
    CommandResult r = Planrun(db, args, source.env);
    INFO(r.err);
    CHECK(LeakIn(r.out + r.err).empty());
    if (checked) {
      CHECK(r.exit_code == 1);
      CHECK(r.err.find("password authentication failed for user \"" + std::string(kSecretRole) +
                       "\"") != std::string::npos);
    } else {
      CHECK(r.exit_code == 0);
    }
  }
}

TEST_CASE("a password libpq cannot read is masked in libpq's errors") {
  const std::string db = "security_bad_url";
  FreshDatabase(db);
  const std::string plans = TempDir("planrun-sec-bad-url");
  auto status = [&](const std::string& conninfo) {
    CommandResult r = Planrun(db, {"--plans", plans, "--db", conninfo, "status"});
    CHECK(LeakIn(r.out + r.err).empty());
    return r;
  };
  // libpq quotes a bad percent escape, and with it the password.
  CommandResult escape = status("postgresql://u:s3c!Pw%zz4471 zq@localhost/x");
  CHECK(escape.exit_code == 2);
  CHECK(escape.err == "error: invalid connection string: invalid percent-encoded token: \"***\"\n");
  // An unencoded '/' makes libpq read host u, port s3c!Pw, database 4471zq@localhost/x.
  CommandResult slash = status("postgresql://u:s3c!Pw/4471zq@localhost/x");
  CHECK(slash.exit_code == 1);
  CHECK(slash.err.rfind("error: cannot connect to PostgreSQL (u:***@localhost/x as ", 0) == 0);
  const std::string tail = "): invalid integer value \"***\" for connection option \"port\"\n";
  CHECK(slash.err.size() > tail.size());
  CHECK(slash.err.substr(slash.err.size() - std::min(slash.err.size(), tail.size())) == tail);
  // Spaces without quotes: libpq quotes the second word.
  CommandResult spaces = status("host=localhost password=s3c!Pw 4471 zq dbname=x");
  CHECK(spaces.exit_code == 2);
  CHECK(spaces.err ==
        "error: invalid connection string: missing \"=\" after \"***\" in connection info "
        "string\n");
}

TEST_CASE("TLS settings reach libpq") {
  const std::string db = "security_tls";
  const std::string conn = FreshDatabase(db);
  const std::string plans = TempDir("planrun-sec-tls");
  const std::string home = TempDir("planrun-sec-home");  // no ~/.postgresql/root.crt
  const std::string pairs = ServerPairs(db) + " password='" + kPassword + "'";
  // What libpq says when it cannot verify the server: the server has no TLS
  // at all, or (with TLS on) there is no root certificate to check it with.
  const bool tls = QueryValue(conn, "SHOW ssl") == "on";
  auto expect_refused = [&](const CommandResult& r, const std::string& root_cert) {
    INFO(r.err);
    CHECK(r.exit_code == 1);
    CHECK(r.err.rfind("error: cannot connect to PostgreSQL (", 0) == 0);
    if (tls) {
      CHECK(r.err.find("root certificate file \"" + root_cert + "\" does not exist") !=
            std::string::npos);
      CHECK(r.err.find("change sslmode to disable server certificate verification") !=
            std::string::npos);
    } else {
      CHECK(r.err.find("server does not support SSL, but SSL was required") != std::string::npos);
    }
    CHECK(LeakIn(r.out + r.err).empty());
  };
  const std::map<std::string, std::string> no_root = {{"HOME", home}, {"PGSSLROOTCERT", ""}};

  expect_refused(
      Planrun(db, {"--plans", plans, "--db", pairs + " sslmode=verify-full", "status"}, no_root),
      home + "/.postgresql/root.crt");
  expect_refused(
      Planrun(db, {"--plans", plans, "--db",
                   Url(db, kPasswordInUrl) + "?sslmode=verify-ca&sslrootcert=/nonexistent/ca.crt",
                   "status"}),
      "/nonexistent/ca.crt");
  std::map<std::string, std::string> env = no_root;
  env["PGSSLMODE"] = "verify-full";
  expect_refused(Planrun(db, {"--plans", plans, "status"}, env), home + "/.postgresql/root.crt");

  CommandResult off =
      Planrun(db, {"--plans", plans, "--db", ServerPairs(db) + " sslmode=disable", "status"});
  INFO(off.err);
  CHECK(off.exit_code == 0);
  CHECK(off.out.find("database " + EnvOr("PGHOST", "localhost") + ":" + EnvOr("PGPORT", "5432") +
                     "/" + db) == 0);
}

/// A throwaway PostgreSQL cluster that accepts TCP connections only over TLS,
/// with a certificate for "localhost" signed by its own CA. Stopped and
/// removed on destruction.
class TlsCluster {
 public:
  /// Starts the cluster on `port`; started() is false (with why()) when the
  /// tools are missing or a command fails.
  explicit TlsCluster(int port) : port_(port), dir_(TempDir("planrun-sec-tls-cluster")) {
    bindir_ = Trim(Run({"pg_config", "--bindir"}).out);
    as_postgres_ = geteuid() == 0;
    WriteFile(dir_ + "/san.ext", "subjectAltName=DNS:localhost\n");
    const std::vector<std::vector<std::string>> setup = {
        {"openssl", "req", "-new", "-x509", "-days", "2", "-nodes", "-subj", "/CN=planrun test CA",
         "-keyout", dir_ + "/ca.key", "-out", dir_ + "/ca.crt"},
        {"openssl", "req", "-new", "-x509", "-days", "2", "-nodes", "-subj", "/CN=other CA",
         "-keyout", dir_ + "/other.key", "-out", dir_ + "/other.crt"},
        {"openssl", "req", "-new", "-nodes", "-subj", "/CN=localhost", "-keyout",
         dir_ + "/server.key", "-out", dir_ + "/server.csr"},
        {"openssl", "x509", "-req", "-in", dir_ + "/server.csr", "-CA", dir_ + "/ca.crt", "-CAkey",
         dir_ + "/ca.key", "-CAcreateserial", "-days", "2", "-extfile", dir_ + "/san.ext", "-out",
         dir_ + "/server.crt"},
        {"chmod", "0600", dir_ + "/server.key"},
    };
    for (const auto& argv : setup) {
      if (!Step(argv, false)) return;
    }
    if (as_postgres_ && !Step({"chown", "-R", "postgres:postgres", dir_}, false)) return;
    if (!Step({bindir_ + "/initdb", "-D", dir_ + "/data", "-A", "trust", "-U", "postgres"}, true)) {
      return;
    }
    WriteFile(dir_ + "/data/pg_hba.conf",
              "local all all trust\nhostssl all all 127.0.0.1/32 trust\n"
              "hostssl all all ::1/128 trust\n");
    started_ = Step({bindir_ + "/pg_ctl", "-D", dir_ + "/data", "-l", dir_ + "/log", "-w", "-o",
                     "-p " + std::to_string(port_) + " -k " + dir_ +
                         " -c listen_addresses=localhost -c ssl=on -c ssl_cert_file=" + dir_ +
                         "/server.crt -c ssl_key_file=" + dir_ + "/server.key",
                     "start"},
                    true);
  }
  ~TlsCluster() {
    if (started_)
      Step({bindir_ + "/pg_ctl", "-D", dir_ + "/data", "-m", "immediate", "stop"}, true);
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  bool started() const { return started_; }
  const std::string& why() const { return why_; }
  const std::string& dir() const { return dir_; }
  /// key=value pairs reaching the cluster as postgres over TCP to `host`.
  std::string Pairs(const std::string& host) const {
    return "host=" + host + " port=" + std::to_string(port_) + " dbname=postgres user=postgres";
  }

 private:
  static std::string Trim(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    return s;
  }
  /// Runs `argv` (as the postgres user when `server` and we are root).
  bool Step(std::vector<std::string> argv, bool server) {
    if (server && as_postgres_) argv.insert(argv.begin(), {"runuser", "-u", "postgres", "--"});
    CommandResult r = Run(argv, {}, dir_);
    if (r.exit_code != 0) why_ = argv[server && as_postgres_ ? 3 : 0] + ": " + r.err;
    return r.exit_code == 0;
  }

  int port_;
  std::string dir_;
  std::string bindir_;
  bool as_postgres_ = false;
  bool started_ = false;
  std::string why_;
};

TEST_CASE("sslmode=verify-full connects to a server whose certificate checks out") {
  TlsCluster cluster(5400 + getpid() % 90);
  if (!cluster.started()) {
    WARN("cannot start a TLS cluster, skipped: " << cluster.why());
    return;
  }
  const std::string plans = TempDir("planrun-sec-verify-full");
  const std::string ca = " sslrootcert=" + cluster.dir() + "/ca.crt";
  const std::string password = std::string(" password='") + kPassword + "'";
  // The cluster refuses TCP without TLS, so a working connection used TLS.
  CommandResult plain = Planrun(
      "postgres",
      {"--plans", plans, "--db", cluster.Pairs("localhost") + " sslmode=disable", "status"});
  CHECK(plain.exit_code == 1);
  CHECK(plain.err.find("no encryption") != std::string::npos);

  CommandResult full =
      Planrun("postgres", {"--plans", plans, "--db",
                           cluster.Pairs("localhost") + " sslmode=verify-full" + ca, "status"});
  INFO(full.err);
  CHECK(full.exit_code == 0);
  CHECK(full.out.rfind("database localhost:", 0) == 0);

  CommandResult wrong_ca =
      Planrun("postgres", {"--plans", plans, "--db",
                           cluster.Pairs("localhost") +
                               " sslmode=verify-full sslrootcert=" + cluster.dir() + "/other.crt",
                           "status"});
  CHECK(wrong_ca.exit_code == 1);
  CHECK(wrong_ca.err.find("certificate verify failed") != std::string::npos);
  CHECK(LeakIn(wrong_ca.out + wrong_ca.err).empty());

  CommandResult wrong_host = Planrun(
      "postgres", {"--plans", plans, "--db",
                   cluster.Pairs("127.0.0.1") + password + " sslmode=verify-full" + ca, "status"});
  INFO(wrong_host.err);
  CHECK(wrong_host.exit_code == 1);
  CHECK(wrong_host.err.find("server certificate for \"localhost\"") != std::string::npos);
  CHECK(wrong_host.err.find("does not match host name \"127.0.0.1\"") != std::string::npos);
  CHECK(LeakIn(wrong_host.out + wrong_host.err).empty());
}

}  // namespace
}  // namespace testing
}  // namespace planrun
