#include "plan/version.h"

#include <catch2/catch.hpp>

namespace planrun {
namespace {

Version V(const std::string& text) {
  Version v;
  INFO(text);
  REQUIRE(Version::Parse(text, &v));
  return v;
}

TEST_CASE("Version::Parse reads integers and dotted numbers") {
  Version v = V("7");
  CHECK(v.text == "7");
  CHECK(v.parts == std::vector<uint64_t>{7});
  v = V("2026.11.21.1");
  CHECK(v.text == "2026.11.21.1");
  CHECK(v.parts == std::vector<uint64_t>{2026, 11, 21, 1});
  CHECK(V("0").parts == std::vector<uint64_t>{0});
  CHECK(V("1.0.2").parts == std::vector<uint64_t>{1, 0, 2});
  CHECK(V("999999999999999999").parts == std::vector<uint64_t>{999999999999999999ULL});
  CHECK(V("1.2.3.4.5.6.7.8").parts.size() == 8);
}

TEST_CASE("Version::Parse refuses anything else and leaves the output alone") {
  Version v = V("3");
  for (const char* bad : {"", "v2", "-1", "+1", "1.", ".1", "1..2", "1.a", "02", "2026.01.05",
                          "1 2", "1.2.3.4.5.6.7.8.9", "1000000000000000000", "2.5e3"}) {
    INFO(bad);
    CHECK_FALSE(Version::Parse(bad, &v));
  }
  CHECK(v.text == "3");
}

TEST_CASE("Version::Compare orders part by part as numbers") {
  CHECK(V("9") < V("10"));
  CHECK_FALSE(V("10") < V("9"));
  CHECK(V("2026.11.21.1") < V("2026.11.21.2"));
  CHECK(V("2026.11.21") < V("2026.11.21.1"));
  CHECK(V("2.9") < V("2.10"));
  CHECK(V("2.99") < V("3"));
  CHECK(V("5").Compare(V("5")) == 0);
  CHECK(V("5").Compare(V("6")) < 0);
  CHECK(V("6").Compare(V("5")) > 0);
}

TEST_CASE("Version: missing trailing parts compare as 0") {
  CHECK(V("2") == V("2.0"));
  CHECK(V("2.0.0") == V("2"));
  CHECK(V("2") != V("2.0.1"));
  CHECK_FALSE(V("2") < V("2.0"));
}

}  // namespace
}  // namespace planrun
