#include "util/strings.h"

#include <catch2/catch.hpp>

namespace planrun {
namespace {

TEST_CASE("Join puts the separator between parts only") {
  CHECK(Join({}, ", ") == "");
  CHECK(Join({"a"}, ", ") == "a");
  CHECK(Join({"a", "", "c"}, ", ") == "a, , c");
}

TEST_CASE("Split keeps empty parts") {
  CHECK(Split("a,,b", ',') == std::vector<std::string>{"a", "", "b"});
  CHECK(Split("", ',') == std::vector<std::string>{""});
  CHECK(Split(",", ',') == std::vector<std::string>{"", ""});
  CHECK(Split("abc", ',') == std::vector<std::string>{"abc"});
}

TEST_CASE("Trim removes ASCII white space at both ends") {
  CHECK(Trim("  a b \t\n") == "a b");
  CHECK(Trim(" \r\n ") == "");
  CHECK(Trim("x") == "x");
}

TEST_CASE("StartsWith compares a prefix") {
  CHECK(StartsWith("planrun", "plan"));
  CHECK(StartsWith("plan", ""));
  CHECK_FALSE(StartsWith("pl", "plan"));
  CHECK_FALSE(StartsWith("xplan", "plan"));
}

TEST_CASE("EditDistance counts insertions, deletions, substitutions and swaps") {
  CHECK(EditDistance("", "") == 0);
  CHECK(EditDistance("", "abc") == 3);
  CHECK(EditDistance("backup", "bakup") == 1);
  CHECK(EditDistance("tables", "tabels") == 1);
  CHECK(EditDistance("down", "dwon") == 1);
  CHECK(EditDistance("ab", "ba") == 1);
  CHECK(EditDistance("ca", "abc") == 3);
  CHECK(EditDistance("kitten", "sitting") == 3);
}

TEST_CASE("ClosestMatch suggests only likely typos") {
  std::vector<std::string> keys{"tables", "mode", "backup", "needs"};
  CHECK(ClosestMatch("tabels", keys) == "tables");
  CHECK(ClosestMatch("bakup", keys) == "backup");
  CHECK(ClosestMatch("neds", keys) == "needs");
  CHECK(ClosestMatch("zebra", keys) == "");
  CHECK(ClosestMatch("x", {"y"}) == "y");
  CHECK(ClosestMatch("ab", {"xy"}) == "");
  CHECK(ClosestMatch("mode", keys) == "mode");
  CHECK(ClosestMatch("anything", {}) == "");
}

TEST_CASE("ParseDuration reads the units plans use") {
  int64_t ms = -1;
  REQUIRE(ParseDuration("250ms", &ms));
  CHECK(ms == 250);
  REQUIRE(ParseDuration("2s", &ms));
  CHECK(ms == 2000);
  REQUIRE(ParseDuration("10min", &ms));
  CHECK(ms == 600000);
  REQUIRE(ParseDuration("3m", &ms));
  CHECK(ms == 180000);
  REQUIRE(ParseDuration("1h", &ms));
  CHECK(ms == 3600000);
  REQUIRE(ParseDuration("1d", &ms));
  CHECK(ms == 86400000);
  REQUIRE(ParseDuration("7", &ms));
  CHECK(ms == 7000);
  REQUIRE(ParseDuration(" 5 s ", &ms));
  CHECK(ms == 5000);
  REQUIRE(ParseDuration("0", &ms));
  CHECK(ms == 0);
}

TEST_CASE("ParseDuration refuses other text and leaves the output alone") {
  int64_t ms = 42;
  for (const char* bad :
       {"", "s", "-1s", "1.5s", "2 weeks", "2sec extra", "1w", "0x10", "1000000000000s"}) {
    INFO(bad);
    CHECK_FALSE(ParseDuration(bad, &ms));
  }
  CHECK(ms == 42);
}

TEST_CASE("ParseDuration refuses durations that overflow milliseconds") {
  int64_t ms = 42;
  CHECK_FALSE(ParseDuration("999999999999d", &ms));
  CHECK_FALSE(ParseDuration("106751991168d", &ms));
  CHECK(ms == 42);
  REQUIRE(ParseDuration("106751991167d", &ms));
  CHECK(ms == 9223372036828800000);
  REQUIRE(ParseDuration("999999999999h", &ms));
  CHECK(ms == 3599999999996400000);
}

TEST_CASE("PgDuration writes milliseconds for SET") {
  CHECK(PgDuration(2000) == "2000ms");
  CHECK(PgDuration(0) == "0ms");
}

TEST_CASE("HumanDuration picks a readable unit") {
  CHECK(HumanDuration(0) == "0ms");
  CHECK(HumanDuration(850) == "850ms");
  CHECK(HumanDuration(1000) == "1.0s");
  CHECK(HumanDuration(12449) == "12.4s");
  CHECK(HumanDuration(59999) == "59.9s");
  CHECK(HumanDuration(60000) == "1m00s");
  CHECK(HumanDuration(185000) == "3m05s");
  CHECK(HumanDuration(3600000) == "1h00m");
  CHECK(HumanDuration(7260000) == "2h01m");
}

TEST_CASE("HexEncode writes lower-case pairs") {
  CHECK(HexEncode("") == "");
  CHECK(HexEncode(std::string("\x00\x0f\xab\xff", 4)) == "000fabff");
}

TEST_CASE("PercentDecode decodes %XX and keeps malformed escapes") {
  CHECK(PercentDecode("p%40ss%2Fw%3ad") == "p@ss/w:d");
  CHECK(PercentDecode("100%") == "100%");
  CHECK(PercentDecode("%4") == "%4");
  CHECK(PercentDecode("%zz%41") == "%zzA");
}

}  // namespace
}  // namespace planrun
