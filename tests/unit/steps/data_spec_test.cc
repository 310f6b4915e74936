// The pure helpers data steps share (steps/data_spec.h): keyset pagination
// text, reject keys and rows as JSON and back, and which errors reject a row.
#include "steps/data_spec.h"

#include <catch2/catch.hpp>

namespace planrun {
namespace {

std::vector<ColumnSpec> Columns() {
  ColumnSpec id{"id", 20, "bigint", TypeClass::kInt};
  ColumnSpec name{"user name", 25, "text", TypeClass::kText};
  return {name, id};
}

TEST_CASE("KeyAfter pages by the key columns, typed, and starts with true") {
  CHECK(KeyAfter(Columns(), {1}, std::nullopt) == "true");
  CHECK(KeyAfter(Columns(), {1, 0}, std::vector<std::string>{"17", "o'hara"}) ==
        "(\"id\", \"user name\") > ('17'::bigint, 'o''hara'::text)");
}

TEST_CASE("a reject's key goes to JSON and back to a typed SQL row value") {
  const std::string json = KeyJson({"17", "o'hara"});
  CHECK(json == "[\"17\",\"o'hara\"]");
  CHECK(KeyTuple(Columns(), {1, 0}, json) == "('17'::bigint, 'o''hara'::text)");
  CHECK(KeyJson({std::string("a\xff", 2)}) == "[\"a\xef\xbf\xbd\"]");  // invalid UTF-8 replaced
}

TEST_CASE("KeyOf takes the key fields and refuses a NULL key") {
  std::vector<std::string> key;
  REQUIRE(KeyOf({RawField("x"), RawField("7")}, {1, 0}, &key).ok());
  CHECK(key == std::vector<std::string>{"7", "x"});
  const Status st = KeyOf({RawField("x"), std::nullopt}, {1}, &key);
  CHECK(st.message() == "a key column is NULL; keys must be unique and not null");
}

TEST_CASE("only data exceptions and constraint violations reject a row") {
  CHECK(IsRowRefused(Status::Database("duplicate key value", "23505")));
  CHECK(IsRowRefused(Status::Database("invalid input syntax for type uuid", "22P02")));
  CHECK(IsRowRefused(Status::Database("value too long", "22001")));
  CHECK_FALSE(IsRowRefused(Status::Database("canceling statement due to lock timeout", "55P03")));
  CHECK_FALSE(IsRowRefused(Status::Database("deadlock detected", "40P01")));
  CHECK_FALSE(IsRowRefused(Status::Failed("server closed the connection", "08006")));
  CHECK_FALSE(IsRowRefused(Status::Failed("no SQLSTATE")));
  CHECK_FALSE(IsRowRefused(Status::OK()));
}

}  // namespace
}  // namespace planrun
