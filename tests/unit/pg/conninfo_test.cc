#include "pg/conninfo.h"

#include <catch2/catch.hpp>
#include <cstdlib>
#include <map>
#include <optional>
#include <utility>

#include "util/redact.h"
#include "util/strings.h"

namespace planrun {
namespace pg {
namespace {

/// Sets (or, for nullptr, unsets) environment variables for one test and
/// restores them afterwards.
class ScopedEnv {
 public:
  explicit ScopedEnv(std::initializer_list<std::pair<const char*, const char*>> vars) {
    for (const auto& [name, value] : vars) {
      const char* old = std::getenv(name);
      saved_[name] = old != nullptr ? std::optional<std::string>(old) : std::nullopt;
      Set(name, value);
    }
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;
  ~ScopedEnv() {
    for (const auto& [name, value] : saved_) Set(name, value ? value->c_str() : nullptr);
  }

 private:
  static void Set(const std::string& name, const char* value) {
    if (value != nullptr) {
      setenv(name.c_str(), value, 1);
    } else {
      unsetenv(name.c_str());
    }
  }
  std::map<std::string, std::optional<std::string>> saved_;
};

TEST_CASE("ResolveConninfo prefers --db, then DATABASE_URL, then libpq's variables") {
  {
    ScopedEnv env({{"DATABASE_URL", "postgresql://from-env/db"}});
    CHECK(ResolveConninfo("dbname=flag") == "dbname=flag");
    CHECK(ResolveConninfo("") == "postgresql://from-env/db");
  }
  ScopedEnv env({{"DATABASE_URL", nullptr}});
  CHECK(ResolveConninfo("") == "");
}

TEST_CASE("DescribeTarget names host, port and database, never the password") {
  ScopedEnv env({{"PGHOST", "envhost"},
                 {"PGPORT", "6000"},
                 {"PGDATABASE", "envdb"},
                 {"PGUSER", "alice"},
                 {"PGHOSTADDR", nullptr},
                 {"PGSERVICE", nullptr}});
  CHECK(DescribeTarget("postgresql://u:s3cret@db.example:6543/prod?sslmode=disable") ==
        "db.example:6543/prod");
  CHECK(DescribeTarget("host=h port=7 dbname=d password=s3cret") == "h:7/d");
  CHECK(DescribeTarget("postgresql://[::1]:5/x") == "[::1]:5/x");
  CHECK(DescribeTarget("host=a,b port=1,2 dbname=d") == "a,b:1,2/d");
  CHECK(DescribeTarget("") == "envhost:6000/envdb");
  CHECK(DescribeTarget("dbname=other") == "envhost:6000/other");
  CHECK(DescribeTarget("postgresql:///x") == "envhost:6000/x");
  CHECK(DescribeTarget("host=/tmp/sock dbname=d") == "/tmp/sock:6000/d");
  CHECK(DescribeTarget("host=localhost port") == "(invalid connection string)");
  {
    ScopedEnv no_db({{"PGDATABASE", nullptr}});
    CHECK(DescribeTarget("") == "envhost:6000/alice");
  }
  ScopedEnv no_host({{"PGHOST", nullptr}});
  std::string local = DescribeTarget("dbname=d");
  CHECK(StartsWith(local, "/"));
  CHECK(local.substr(local.find(':')) == ":6000/d");
}

TEST_CASE("FormatTarget brackets IPv6 addresses only") {
  CHECK(FormatTarget("db", "5432", "app") == "db:5432/app");
  CHECK(FormatTarget("fe80::1", "5432", "app") == "[fe80::1]:5432/app");
  CHECK(FormatTarget("/var/run/postgresql", "5432", "app") == "/var/run/postgresql:5432/app");
}

TEST_CASE("RegisterConninfoSecrets registers every form of the password") {
  ClearSecretsForTesting();
  ScopedEnv env({{"PGPASSWORD", "from-env-1"}});
  RegisterConninfoSecrets("postgresql://u:p%40ss%2Fw0rd@h:5432/db");
  CHECK(Redact("a p%40ss%2Fw0rd b p@ss/w0rd c from-env-1") == "a *** b *** c ***");

  RegisterConninfoSecrets("host=h user=u password='it\\'s long'");
  CHECK(Redact("said it's long") == "said ***");

  // No password: nothing from the URL is taken for one.
  ClearSecretsForTesting();
  RegisterConninfoSecrets("postgresql://h:5432?user=a@b");
  RegisterConninfoSecrets("postgresql://user@h:5432/db");
  CHECK(Redact("h:5432 user=a@b user@h") == "h:5432 user=a@b user@h");
  ClearSecretsForTesting();
}

TEST_CASE("RegisterConninfoSecrets masks the pieces of a password libpq misreads") {
  ClearSecretsForTesting();
  // An unencoded '/': libpq reads host u, port sec and database ret123@h/db.
  RegisterConninfoSecrets("postgresql://u:sec/ret123@h/db");
  CHECK(Redact("(u:sec/ret123@h/db as me): invalid integer value \"sec\" for port") ==
        "(u:***@h/db as me): invalid integer value \"***\" for port");
  CHECK(Redact("ret123") == "***");

  // An unquoted password with spaces: libpq quotes its second word.
  RegisterConninfoSecrets("host=h password=my secret words dbname=x");
  CHECK(Redact("missing \"=\" after \"secret\" in connection info string") ==
        "missing \"=\" after \"***\" in connection info string");
  CHECK(Redact("my secret words") == "***");

  // A port and an '@' later in the URL, or keywords after the password: no
  // password was misread, nothing more is registered.
  ClearSecretsForTesting();
  RegisterConninfoSecrets("postgresql://h:5432/db?application_name=a@b");
  RegisterConninfoSecrets("host=h password=pw12 dbname=db user=u");
  CHECK(Redact("h:5432/db application_name=a@b dbname db u") ==
        "h:5432/db application_name=a@b dbname db u");
  ClearSecretsForTesting();
}

}  // namespace
}  // namespace pg
}  // namespace planrun
