#include "util/sql.h"

#include <catch2/catch.hpp>

namespace planrun {
namespace {

TEST_CASE("QuoteIdent wraps in double quotes and doubles embedded ones") {
  CHECK(QuoteIdent("users") == "\"users\"");
  CHECK(QuoteIdent("Mixed Case") == "\"Mixed Case\"");
  CHECK(QuoteIdent("a\"b") == "\"a\"\"b\"");
  CHECK(QuoteIdent("") == "\"\"");
  CHECK(QuoteIdent("x'y") == "\"x'y\"");
}

TEST_CASE("QuoteLiteral wraps in single quotes and doubles embedded ones") {
  CHECK(QuoteLiteral("core") == "'core'");
  CHECK(QuoteLiteral("it's") == "'it''s'");
  CHECK(QuoteLiteral("'; DROP TABLE users; --") == "'''; DROP TABLE users; --'");
  CHECK(QuoteLiteral("back\\slash") == "'back\\slash'");
  CHECK(QuoteLiteral("") == "''");
}

TEST_CASE("QuoteIdentList joins quoted names with commas") {
  CHECK(QuoteIdentList({}) == "");
  CHECK(QuoteIdentList({"a"}) == "\"a\"");
  CHECK(QuoteIdentList({"a", "b\"c"}) == "\"a\", \"b\"\"c\"");
}

TEST_CASE("QualifiedIdentList qualifies each quoted name by the alias") {
  CHECK(QualifiedIdentList("t", {}) == "");
  CHECK(QualifiedIdentList("t", {"id"}) == "t.\"id\"");
  CHECK(QualifiedIdentList("\"s\"", {"a b", "we\"ird"}) == "\"s\".\"a b\", \"s\".\"we\"\"ird\"");
}

}  // namespace
}  // namespace planrun
