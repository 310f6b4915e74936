#include "util/redact.h"

#include <catch2/catch.hpp>

namespace planrun {
namespace {

/// Starts each test with no registered secrets.
struct Clean {
  Clean() { ClearSecretsForTesting(); }
  ~Clean() { ClearSecretsForTesting(); }
};

TEST_CASE_METHOD(Clean, "Redact leaves text without secrets unchanged") {
  CHECK(Redact("apply plan 2: 3 steps") == "apply plan 2: 3 steps");
  CHECK(Redact("") == "");
}

TEST_CASE_METHOD(Clean, "Redact replaces every registered secret") {
  RegisterSecret("hunter2");
  CHECK(Redact("password hunter2 and again hunter2!") == "password *** and again ***!");
  CHECK(Redact("hunter2hunter2") == "******");
}

TEST_CASE_METHOD(Clean, "RegisterSecret ignores secrets shorter than 3 bytes") {
  RegisterSecret("ab");
  RegisterSecret("");
  CHECK(Redact("ab cab") == "ab cab");
}

TEST_CASE_METHOD(Clean, "Redact replaces a longer secret whole before a shorter one inside it") {
  RegisterSecret("abc");
  RegisterSecret("xxabcxx");
  CHECK(Redact("1 xxabcxx 2 abc") == "1 *** 2 ***");
}

TEST_CASE_METHOD(Clean, "ClearSecretsForTesting forgets secrets") {
  RegisterSecret("s3cret");
  ClearSecretsForTesting();
  CHECK(Redact("s3cret") == "s3cret");
}

TEST_CASE_METHOD(Clean, "Redact hides passwords in connection URLs") {
  CHECK(Redact("postgres://app:pa55@db:5432/main") == "postgres://app:***@db:5432/main");
  CHECK(Redact("connect postgresql://u:x@h/d failed") == "connect postgresql://u:***@h/d failed");
  CHECK(Redact("postgres://app@db/main") == "postgres://app@db/main");
  CHECK(Redact("http://example.com:8080/path") == "http://example.com:8080/path");
}

TEST_CASE_METHOD(Clean, "Redact hides a URL password that contains @") {
  CHECK(Redact("postgres://app:p@ss@db/main") == "postgres://app:***@db/main");
}

TEST_CASE_METHOD(Clean, "Redact hides key=value passwords") {
  CHECK(Redact("host=db password=pa55 user=app") == "host=db password=*** user=app");
  CHECK(Redact("host=db password = 'a b\\'c' user=app") == "host=db password = *** user=app");
  CHECK(Redact("PGPASSWORD=pa55 psql") == "PGPASSWORD=*** psql");
  CHECK(Redact("?sslmode=require&password=pa55&x=1") == "?sslmode=require&password=***&x=1");
}

TEST_CASE_METHOD(Clean, "Redact handles edge cases of key=value passwords") {
  CHECK(Redact("password=") == "password=");
  CHECK(Redact("password= x") == "password= ***");
  CHECK(Redact("password='open end") == "password=***");
  CHECK(Redact("Password='a' and password=b") == "Password=*** and password=***");
  CHECK(Redact("password: x") == "password: x");
  CHECK(Redact("password=password=x y") == "password=*** y");
}

TEST_CASE_METHOD(Clean, "Redact hides several URL passwords in one text") {
  CHECK(Redact("from postgres://a:x@h1/d to postgres://b:y@h2/d") ==
        "from postgres://a:***@h1/d to postgres://b:***@h2/d");
  CHECK(Redact("postgres://a:@h/d") == "postgres://a:***@h/d");
  CHECK(Redact("ends with ://") == "ends with ://");
}

TEST_CASE_METHOD(Clean, "Redact copes with long texts") {
  // std::regex overflowed the stack on these.
  std::string quoted = "password='" + std::string(300000, 'b') + "' tail";
  CHECK(Redact(quoted) == "password=*** tail");
  std::string url = "x://a:" + std::string(300000, 'b') + "@h";
  CHECK(Redact(url) == "x://a:***@h");
  std::string many;
  for (int i = 0; i < 50000; ++i) many += "://a:";
  CHECK(Redact(many) == many);
}

}  // namespace
}  // namespace planrun
