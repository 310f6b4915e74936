#include "plan/map_reader.h"

#include <catch2/catch.hpp>
#include <string>

namespace planrun {
namespace {

/// A parsed mapping for a MapReader to read, named "t.yaml".
struct Doc {
  explicit Doc(const std::string& text) : file{"t.yaml", text} {
    Status s = ParseYaml(file, &root);
    INFO(s.message());
    REQUIRE(s.ok());
  }
  SourceFile file;
  Node root;
};

/// The first line of a diagnostic: "file:line:col: error: message".
std::string FirstLine(const Status& s) { return s.message().substr(0, s.message().find('\n')); }

TEST_CASE("MapReader::CheckIsMap names what it got") {
  Doc map("a: 1\n");
  CHECK(MapReader(map.file, map.root, "plan").CheckIsMap().ok());
  Doc list("- a\n");
  CHECK(MapReader(list.file, list.root, "backup step").CheckIsMap().message() ==
        "t.yaml:1:1: error: backup step must be a mapping, got a list\n- a\n^");
  Doc scalar("hello\n");
  CHECK(MapReader(scalar.file, scalar.root, "plan").CheckIsMap().message() ==
        "t.yaml:1:1: error: plan must be a mapping, got 'hello'\nhello\n^");
}

TEST_CASE("MapReader getters leave absent optional keys alone") {
  Doc d("other: 1\n");
  MapReader r(d.file, d.root, "step 'a'");
  std::string s = "keep";
  bool b = true;
  int64_t i = 7, ms = 9;
  std::vector<std::string> list{"keep"};
  TableName t{"", "keep"};
  CHECK(r.String("s", &s).ok());
  CHECK(r.Bool("b", &b).ok());
  CHECK(r.Int("i", &i).ok());
  CHECK(r.Duration("d", &ms).ok());
  CHECK(r.Identifier("id", &s).ok());
  CHECK(r.IdentifierList("ids", &list).ok());
  CHECK(r.StringList("strs", &list).ok());
  CHECK(r.Table("t", &t).ok());
  CHECK(s == "keep");
  CHECK(b);
  CHECK(i == 7);
  CHECK(ms == 9);
  CHECK(list == std::vector<std::string>{"keep"});
  CHECK(t.name == "keep");
  CHECK(r.Raw("missing") == nullptr);
}

TEST_CASE("MapReader reports a missing required key at the mapping") {
  Doc d("steps:\n  - id: a\n    backup: {tabels: [p]}\n");
  const Node& body = *d.root.Get("steps")->seq[0].Get("backup");
  MapReader r(d.file, body, "backup step");
  std::vector<TableName> tables;
  CHECK(r.TableList("tables", &tables, true).message() ==
        "t.yaml:3:13: error: backup step needs 'tables'\n    backup: {tabels: [p]}\n            ^");
  std::string s;
  CHECK(FirstLine(r.String("sql", &s, true)) == "t.yaml:3:13: error: backup step needs 'sql'");
}

TEST_CASE("MapReader::String accepts any scalar") {
  Doc d("a: text\nb: 5\nc: 'true'\nd: [x]\ne:\n");
  MapReader r(d.file, d.root, "plan");
  std::string s;
  REQUIRE(r.String("a", &s).ok());
  CHECK(s == "text");
  REQUIRE(r.String("b", &s).ok());
  CHECK(s == "5");
  REQUIRE(r.String("c", &s).ok());
  CHECK(s == "true");
  CHECK(r.String("d", &s).message() ==
        "t.yaml:4:4: error: 'd' must be a string, got a list\nd: [x]\n   ^");
  CHECK(r.String("e", &s).message() == "t.yaml:5:1: error: 'e' must be a string, got null\ne:\n^");
}

TEST_CASE("MapReader::Bool accepts unquoted true and false") {
  Doc d("a: true\nb: false\nc: yes\nd: \"true\"\n");
  MapReader r(d.file, d.root, "verify step");
  bool b = false;
  REQUIRE(r.Bool("a", &b).ok());
  CHECK(b);
  REQUIRE(r.Bool("b", &b).ok());
  CHECK_FALSE(b);
  CHECK(r.Bool("c", &b).message() ==
        "t.yaml:3:4: error: 'c' must be true or false, got 'yes'\nc: yes\n   ^");
  CHECK(r.Bool("d", &b).message() ==
        "t.yaml:4:4: error: 'd' must be true or false, got the string 'true'; remove the "
        "quotes\nd: \"true\"\n   ^");
}

TEST_CASE("MapReader::Int accepts plain decimal integers") {
  Doc d(
      "a: 5000\nb: -3\nc: 0x10\nd: '5'\ne: 1.5\nf: 9223372036854775807\n"
      "g: -9223372036854775808\nh: 9223372036854775808\ni: {}\n");
  MapReader r(d.file, d.root, "defaults");
  int64_t i = 0;
  REQUIRE(r.Int("a", &i).ok());
  CHECK(i == 5000);
  REQUIRE(r.Int("b", &i).ok());
  CHECK(i == -3);
  CHECK(r.Int("c", &i).message() ==
        "t.yaml:3:4: error: 'c' must be an integer, got '0x10'\nc: 0x10\n   ^");
  CHECK(r.Int("d", &i).message() ==
        "t.yaml:4:4: error: 'd' must be an integer, got the string '5'; remove the quotes\n"
        "d: '5'\n   ^");
  CHECK(FirstLine(r.Int("e", &i)) == "t.yaml:5:4: error: 'e' must be an integer, got '1.5'");
  REQUIRE(r.Int("f", &i).ok());
  CHECK(i == INT64_MAX);
  REQUIRE(r.Int("g", &i).ok());
  CHECK(i == INT64_MIN);
  CHECK(FirstLine(r.Int("h", &i)) ==
        "t.yaml:8:4: error: 'h' must be an integer that fits in 64 bits, got "
        "'9223372036854775808'");
  CHECK(FirstLine(r.Int("i", &i)) == "t.yaml:9:4: error: 'i' must be an integer, got a mapping");
  CHECK(i == INT64_MIN);
}

TEST_CASE("MapReader::Duration reads units into milliseconds") {
  Doc d("a: 2s\nb: 10min\nc: 250ms\nd: 5\ne: soon\nf: [1s]\n");
  MapReader r(d.file, d.root, "defaults");
  int64_t ms = 0;
  REQUIRE(r.Duration("a", &ms).ok());
  CHECK(ms == 2000);
  REQUIRE(r.Duration("b", &ms).ok());
  CHECK(ms == 600000);
  REQUIRE(r.Duration("c", &ms).ok());
  CHECK(ms == 250);
  REQUIRE(r.Duration("d", &ms).ok());
  CHECK(ms == 5000);
  CHECK(r.Duration("e", &ms).message() ==
        "t.yaml:5:4: error: 'e' must be a duration like 2s or 10min, got 'soon'\ne: soon\n   ^");
  CHECK(FirstLine(r.Duration("f", &ms)) ==
        "t.yaml:6:4: error: 'f' must be a duration like 2s or 10min, got a list");
}

TEST_CASE("MapReader::Identifier checks plain identifiers") {
  Doc d("a: users\nb: \"a b\"\nc: [x]\n");
  MapReader r(d.file, d.root, "backup step");
  std::string s;
  REQUIRE(r.Identifier("a", &s).ok());
  CHECK(s == "users");
  CHECK(r.Identifier("b", &s).message() ==
        "t.yaml:2:4: error: invalid identifier 'a b' in backup step: use letters, digits, _ and "
        "$, starting with a letter or _ (at most 63 bytes)\nb: \"a b\"\n   ^");
  CHECK(r.Identifier("c", &s).message() ==
        "t.yaml:3:4: error: 'c' must be an identifier, got a list\nc: [x]\n   ^");
  CHECK(s == "users");
}

TEST_CASE("MapReader::IdentifierList takes a list or one scalar") {
  Doc d("a: [x, y]\nb: z\nc: []\nd: [x, 2x]\ne: [x, [y]]\nf: {x: 1}\n");
  MapReader r(d.file, d.root, "step 's'");
  std::vector<std::string> ids;
  REQUIRE(r.IdentifierList("a", &ids).ok());
  CHECK(ids == std::vector<std::string>{"x", "y"});
  REQUIRE(r.IdentifierList("b", &ids).ok());
  CHECK(ids == std::vector<std::string>{"z"});
  REQUIRE(r.IdentifierList("c", &ids).ok());
  CHECK(ids.empty());
  ids = {"keep"};
  CHECK(r.IdentifierList("d", &ids).message() ==
        "t.yaml:4:8: error: invalid identifier '2x' in step 's': use letters, digits, _ and $, "
        "starting with a letter or _ (at most 63 bytes)\nd: [x, 2x]\n       ^");
  CHECK(ids == std::vector<std::string>{"keep"});
  CHECK(r.IdentifierList("e", &ids).message() ==
        "t.yaml:5:8: error: each item of 'e' must be an identifier, got a list\n"
        "e: [x, [y]]\n       ^");
  CHECK(r.IdentifierList("f", &ids).message() ==
        "t.yaml:6:4: error: 'f' must be a list of identifiers, got a mapping\nf: {x: 1}\n   ^");
}

TEST_CASE("MapReader::Table and TableList read schema-qualified names") {
  Doc d("a: auth.users\nb: [users, auth.roles]\nc: packages\nd: a.b.c\ne: [x, {}]\nf:\ng: [1]\n");
  MapReader r(d.file, d.root, "backup step");
  TableName t;
  REQUIRE(r.Table("a", &t).ok());
  CHECK(t.Display() == "auth.users");
  std::vector<TableName> tables;
  REQUIRE(r.TableList("b", &tables).ok());
  REQUIRE(tables.size() == 2);
  CHECK(tables[0].Key() == "public.users");
  CHECK(tables[1].Key() == "auth.roles");
  REQUIRE(r.TableList("c", &tables).ok());
  REQUIRE(tables.size() == 1);
  CHECK(tables[0].name == "packages");
  CHECK(r.Table("d", &t).message() ==
        "t.yaml:4:4: error: invalid table name 'a.b.c' in backup step: write name or "
        "schema.name, each part using letters, digits, _ and $, starting with a letter or _ (at "
        "most 63 bytes)\nd: a.b.c\n   ^");
  CHECK(r.TableList("e", &tables).message() ==
        "t.yaml:5:8: error: each item of 'e' must be a table name, got a mapping\n"
        "e: [x, {}]\n       ^");
  CHECK(r.TableList("f", &tables).message() ==
        "t.yaml:6:1: error: 'f' must be a list of table names, got null\nf:\n^");
  CHECK(FirstLine(r.Table("f", &t)) == "t.yaml:6:1: error: 'f' must be a table name, got null");
  CHECK(FirstLine(r.TableList("g", &tables)) ==
        "t.yaml:7:5: error: invalid table name '1' in backup step: write name or schema.name, "
        "each part using letters, digits, _ and $, starting with a letter or _ (at most 63 "
        "bytes)");
}

TEST_CASE("MapReader::StringList takes a list or one scalar") {
  Doc d("a: [x, 'y z', 3]\nb: one\nc: [[x]]\nd: {}\n");
  MapReader r(d.file, d.root, "verify step");
  std::vector<std::string> strings;
  REQUIRE(r.StringList("a", &strings).ok());
  CHECK(strings == std::vector<std::string>{"x", "y z", "3"});
  REQUIRE(r.StringList("b", &strings).ok());
  CHECK(strings == std::vector<std::string>{"one"});
  CHECK(r.StringList("c", &strings).message() ==
        "t.yaml:3:5: error: each item of 'c' must be a string, got a list\nc: [[x]]\n    ^");
  CHECK(r.StringList("d", &strings).message() ==
        "t.yaml:4:4: error: 'd' must be a list of strings, got a mapping\nd: {}\n   ^");
}

TEST_CASE("MapReader::Finish suggests the closest known key") {
  Doc d("backup: {tabels: [p], mode: copy}\n");
  MapReader r(d.file, *d.root.Get("backup"), "backup step");
  std::vector<TableName> tables;
  CHECK(r.TableList("tables", &tables).ok());
  r.Allow("mode");
  CHECK(r.Finish().message() ==
        "t.yaml:1:10: error: unknown key 'tabels' in backup step; did you mean 'tables'?\n"
        "backup: {tabels: [p], mode: copy}\n"
        "         ^");
}

TEST_CASE("MapReader::Finish lists the valid keys when nothing is close") {
  Doc d("a: 1\nzebra: 2\n");
  MapReader r(d.file, d.root, "defaults");
  int64_t i;
  CHECK(r.Int("lock_retries", &i).ok());
  r.Allow("batch_size");
  r.Allow("a");
  CHECK(r.Finish().message() ==
        "t.yaml:2:1: error: unknown key 'zebra' in defaults; expected one of: a, batch_size, "
        "lock_retries\nzebra: 2\n^");
  Doc none("x: 1\n");
  CHECK(MapReader(none.file, none.root, "hook").Finish().message() ==
        "t.yaml:1:1: error: unknown key 'x' in hook\nx: 1\n^");
}

TEST_CASE("MapReader::Finish passes when every key is known") {
  Doc d("a: 1\nb: 2\n");
  MapReader r(d.file, d.root, "plan");
  r.Raw("a");
  r.Allow("b");
  r.Allow("b");
  CHECK(r.Finish().ok());
  CHECK(r.what() == "plan");
  CHECK(&r.node() == &d.root);
  CHECK(&r.file() == &d.file);
}

TEST_CASE("MapReader::Error and CheckIdentifier locate their messages") {
  Doc d("id: [x]\n");
  MapReader r(d.file, d.root, "plan");
  CHECK(r.Error(Loc{1, 5}, "something is wrong").message() ==
        "t.yaml:1:5: error: something is wrong\nid: [x]\n    ^");
  CHECK(CheckIdentifier(d.file, *d.root.Get("id"), "plan").message() ==
        "t.yaml:1:5: error: expected an identifier in plan, got a list\nid: [x]\n    ^");
  CHECK(CheckIdentifier(d.file, d.root.Get("id")->seq[0], "plan").ok());
}

}  // namespace
}  // namespace planrun
