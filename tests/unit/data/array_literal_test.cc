// ParseArrayLiteral and FormatArrayLiteral (engine/data/array_literal.cc).
#include <catch2/catch.hpp>

#include "data/copy_text.h"
#include "unit/data/test_values.h"

namespace planrun {
namespace {

using Fields = std::vector<RawField>;
const RawField kNull = std::nullopt;

/// The elements of `text`; fails the test when it does not parse.
Fields Parse(std::string_view text) {
  Fields out;
  INFO(text);
  REQUIRE(ParseArrayLiteral(text, &out));
  return out;
}

/// True when `text` is rejected.
bool Rejects(std::string_view text) {
  Fields out{RawField("stale")};
  return !ParseArrayLiteral(text, &out);
}

TEST_CASE("ParseArrayLiteral reads empty arrays") {
  CHECK(Parse("{}") == Fields{});
  CHECK(Parse(" { \t} \n") == Fields{});
}

TEST_CASE("ParseArrayLiteral replaces what the vector held") {
  Fields out{RawField("stale"), kNull};
  REQUIRE(ParseArrayLiteral("{a}", &out));
  CHECK(out == Fields{RawField("a")});
}

TEST_CASE("ParseArrayLiteral trims unquoted elements and keeps inner white space") {
  CHECK(Parse("{a,b}") == Fields{RawField("a"), RawField("b")});
  CHECK(Parse("{ a ,\tb\n}") == Fields{RawField("a"), RawField("b")});
  CHECK(Parse("{a b,  c  d  }") == Fields{RawField("a b"), RawField("c  d")});
  CHECK(Parse("{\x0b"
              "a\x0c}") == Fields{RawField("a")});
}

TEST_CASE("ParseArrayLiteral reads quoted elements with backslash escapes") {
  CHECK(Parse(R"({"a\"b","c\\d","e\xf"})") ==
        Fields{RawField("a\"b"), RawField("c\\d"), RawField("exf")});
  CHECK(Parse(R"({"", " x ", "a,b", "{}"})") ==
        Fields{RawField(""), RawField(" x "), RawField("a,b"), RawField("{}")});
}

TEST_CASE("ParseArrayLiteral reads unquoted NULL in any case as NULL, quoted as text") {
  CHECK(Parse(R"({NULL,null,NuLl,"NULL","null"})") ==
        Fields{kNull, kNull, kNull, RawField("NULL"), RawField("null")});
  CHECK(Parse("{ NULL }") == Fields{kNull});
  CHECK(Parse("{NULLS,xNULL}") == Fields{RawField("NULLS"), RawField("xNULL")});
}

TEST_CASE("ParseArrayLiteral honours backslashes in unquoted elements") {
  CHECK(Parse(R"({a\,b})") == Fields{RawField("a,b")});
  CHECK(Parse(R"({\NULL})") == Fields{RawField("NULL")});
  CHECK(Parse(R"({a\ })") == Fields{RawField("a ")});
  CHECK(Parse(R"({\"x\"})") == Fields{RawField("\"x\"")});
}

TEST_CASE("ParseArrayLiteral passes UTF-8 and control bytes through") {
  CHECK(Parse("{é,\"🎉 漢字\"}") == Fields{RawField("é"), RawField("🎉 漢字")});
  CHECK(Parse(std::string("{\"a\0b\"}", 7)) == Fields{RawField(std::string("a\0b", 3))});
}

TEST_CASE("ParseArrayLiteral rejects malformed literals") {
  CHECK(Rejects(""));
  CHECK(Rejects("   "));
  CHECK(Rejects("a"));
  CHECK(Rejects("{"));
  CHECK(Rejects("}"));
  CHECK(Rejects("{a"));
  CHECK(Rejects("{a,"));
  CHECK(Rejects("{a,}"));
  CHECK(Rejects("{,a}"));
  CHECK(Rejects("{a,,b}"));
  CHECK(Rejects("{ , }"));
  CHECK(Rejects(R"({"a})"));
  CHECK(Rejects(R"({"a\"})"));
  CHECK(Rejects(R"({"a"b})"));
  CHECK(Rejects(R"({a"b"})"));
  CHECK(Rejects(R"({a\})"));
  CHECK(Rejects("{a\\"));
  CHECK(Rejects("{a}}"));
  CHECK(Rejects("{a} x"));
  CHECK(Rejects("x{a}"));
  CHECK(Rejects("{a{b}"));
}

TEST_CASE("ParseArrayLiteral rejects multi-dimensional and bounds-decorated arrays") {
  CHECK(Rejects("{{1,2},{3,4}}"));
  CHECK(Rejects("{ {1} }"));
  CHECK(Rejects("[1:2]={1,2}"));
}

TEST_CASE("FormatArrayLiteral writes plain elements bare and NULL as NULL") {
  CHECK(FormatArrayLiteral({}) == "{}");
  CHECK(FormatArrayLiteral({RawField("a"), kNull, RawField("-1.5")}) == "{a,NULL,-1.5}");
  CHECK(FormatArrayLiteral({RawField("é🎉")}) == "{é🎉}");
  CHECK(FormatArrayLiteral({RawField("NULLS")}) == "{NULLS}");
}

TEST_CASE("FormatArrayLiteral quotes each kind of special element") {
  CHECK(FormatArrayLiteral({RawField("")}) == R"({""})");
  CHECK(FormatArrayLiteral({RawField("NULL")}) == R"({"NULL"})");
  CHECK(FormatArrayLiteral({RawField("nUlL")}) == R"({"nUlL"})");
  CHECK(FormatArrayLiteral({RawField("a{")}) == R"({"a{"})");
  CHECK(FormatArrayLiteral({RawField("}")}) == R"({"}"})");
  CHECK(FormatArrayLiteral({RawField("a,b")}) == R"({"a,b"})");
  CHECK(FormatArrayLiteral({RawField("a b")}) == R"({"a b"})");
  CHECK(FormatArrayLiteral({RawField("\t")}) == "{\"\t\"}");
  CHECK(FormatArrayLiteral({RawField("\n")}) == "{\"\n\"}");
  CHECK(FormatArrayLiteral({RawField("\r")}) == "{\"\r\"}");
  CHECK(FormatArrayLiteral({RawField("\v")}) == "{\"\v\"}");
  CHECK(FormatArrayLiteral({RawField("\f")}) == "{\"\f\"}");
}

TEST_CASE("FormatArrayLiteral escapes quotes and backslashes inside quotes") {
  CHECK(FormatArrayLiteral({RawField("a\"b")}) == R"({"a\"b"})");
  CHECK(FormatArrayLiteral({RawField("c\\d")}) == R"({"c\\d"})");
  CHECK(FormatArrayLiteral({RawField("\\\"")}) == R"({"\\\""})");
}

TEST_CASE("FormatArrayLiteral and ParseArrayLiteral round-trip tricky elements") {
  const Fields cases[] = {
      {},
      {kNull},
      {RawField("")},
      {RawField(""), kNull, RawField("NULL"), RawField("null")},
      {RawField("a\"b"), RawField("c\\d"), RawField("\\"), RawField("\"")},
      {RawField(" lead"), RawField("trail "), RawField("in side"), RawField("\t\n")},
      {RawField("{1,2}"), RawField("}{"), RawField(",")},
      {RawField("é"), RawField("漢字"), RawField("🎉")},
      {RawField(std::string("\0\x01\xff", 3))},
  };
  for (const Fields& elements : cases) {
    std::string text = FormatArrayLiteral(elements);
    INFO(text);
    CHECK(Parse(text) == elements);
  }
}

}  // namespace
}  // namespace planrun
