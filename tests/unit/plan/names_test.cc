#include "plan/names.h"

#include <catch2/catch.hpp>
#include <string>

namespace planrun {
namespace {

TEST_CASE("IsPlainIdentifier accepts letters, digits, _ and $ after a letter or _") {
  CHECK(IsPlainIdentifier("users"));
  CHECK(IsPlainIdentifier("_tmp"));
  CHECK(IsPlainIdentifier("Users2"));
  CHECK(IsPlainIdentifier("a$b_9"));
  CHECK(IsPlainIdentifier(std::string(63, 'a')));
}

TEST_CASE("IsPlainIdentifier refuses everything else") {
  CHECK_FALSE(IsPlainIdentifier(""));
  CHECK_FALSE(IsPlainIdentifier("2fast"));
  CHECK_FALSE(IsPlainIdentifier("$x"));
  CHECK_FALSE(IsPlainIdentifier("a b"));
  CHECK_FALSE(IsPlainIdentifier("a-b"));
  CHECK_FALSE(IsPlainIdentifier("a.b"));
  CHECK_FALSE(IsPlainIdentifier("a\"b"));
  CHECK_FALSE(IsPlainIdentifier("caf\xc3\xa9"));
  CHECK_FALSE(IsPlainIdentifier(std::string(64, 'a')));
}

TEST_CASE("ParseTableName splits an optional schema") {
  TableName t;
  REQUIRE(ParseTableName("users", &t));
  CHECK(t.schema.empty());
  CHECK(t.name == "users");
  REQUIRE(ParseTableName("auth.Users", &t));
  CHECK(t.schema == "auth");
  CHECK(t.name == "Users");
}

TEST_CASE("ParseTableName refuses bad parts and leaves the output alone") {
  TableName t{"keep", "me"};
  CHECK_FALSE(ParseTableName("", &t));
  CHECK_FALSE(ParseTableName(".users", &t));
  CHECK_FALSE(ParseTableName("auth.", &t));
  CHECK_FALSE(ParseTableName("a.b.c", &t));
  CHECK_FALSE(ParseTableName("auth.us ers", &t));
  CHECK_FALSE(ParseTableName("1auth.users", &t));
  CHECK(t.schema == "keep");
  CHECK(t.name == "me");
}

TEST_CASE("TableName formats for people, SQL and comparison") {
  TableName plain{"", "users"};
  TableName qualified{"auth", "Users"};
  CHECK(plain.Display() == "users");
  CHECK(qualified.Display() == "auth.Users");
  CHECK(plain.Quoted() == "\"users\"");
  CHECK(qualified.Quoted() == "\"auth\".\"Users\"");
  CHECK(plain.Key() == "public.users");
  CHECK(qualified.Key() == "auth.Users");
}

TEST_CASE("TableName compares by key, so users equals public.users") {
  CHECK(TableName{"", "users"} == TableName{"public", "users"});
  CHECK_FALSE(TableName{"", "users"} == TableName{"auth", "users"});
  CHECK(TableName{"auth", "z"} < TableName{"", "a"});
  CHECK_FALSE(TableName{"", "a"} < TableName{"public", "a"});
}

}  // namespace
}  // namespace planrun
