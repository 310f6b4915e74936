#include <catch2/catch.hpp>
#include <string>

#include "plan/node.h"

namespace planrun {
namespace {

/// Parses `text` as "t.yaml"; REQUIREs success.
Node Parse(const std::string& text) {
  Node root;
  Status s = ParseYaml(SourceFile{"t.yaml", text}, &root);
  INFO(s.message());
  REQUIRE(s.ok());
  return root;
}

/// The error ParseYaml gives for `text`.
std::string ErrorOf(const std::string& text, const YamlLimits& limits = YamlLimits()) {
  Node root;
  Status s = ParseYaml(SourceFile{"t.yaml", text}, &root, limits);
  CHECK(s.code() == StatusCode::kInvalid);
  return s.message();
}

/// The first line of `s`: the "file:line:col: error: message" of a diagnostic.
std::string FirstLine(const std::string& s) { return s.substr(0, s.find('\n')); }

std::string Repeat(const std::string& s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += s;
  return out;
}

TEST_CASE("ParseYaml builds the tree with locations, kinds and quoting") {
  Node root = Parse(
      "version: 2\n"
      "name: \"2\"\n"
      "steps:\n"
      "  - id: a\n"
      "    sql: |\n"
      "      SELECT 1;\n"
      "empty:\n"
      "tilde: ~\n"
      "flow: {k: [x, 'y']}\n");
  REQUIRE(root.IsMap());
  CHECK(root.loc.line == 1);
  CHECK(root.loc.col == 1);
  REQUIRE(root.map.size() == 6);
  CHECK(root.map[0].first.scalar == "version");
  const Node& version = root.map[0].second;
  CHECK(version.scalar == "2");
  CHECK_FALSE(version.quoted);
  CHECK(version.loc.line == 1);
  CHECK(version.loc.col == 10);
  const Node* name = root.Get("name");
  REQUIRE(name != nullptr);
  CHECK(name->quoted);
  CHECK(name->scalar == "2");
  CHECK(name->loc.col == 7);

  const Node* steps = root.Get("steps");
  REQUIRE(steps != nullptr);
  REQUIRE(steps->IsSeq());
  CHECK(steps->loc.line == 4);
  CHECK(steps->loc.col == 3);
  const Node& step = steps->seq.at(0);
  CHECK(step.loc.col == 5);
  const Node* sql = step.Get("sql");
  REQUIRE(sql != nullptr);
  CHECK(sql->scalar == "SELECT 1;\n");
  CHECK(sql->quoted);

  const Node* empty = root.Get("empty");
  REQUIRE(empty != nullptr);
  CHECK(empty->IsNull());
  // An empty value points at its key, not at the next line.
  CHECK(empty->loc.line == 7);
  CHECK(empty->loc.col == 1);
  CHECK(root.Get("tilde")->IsNull());
  CHECK(root.Get("tilde")->loc.col == 8);

  const Node* flow = root.Get("flow");
  REQUIRE(flow->IsMap());
  const Node* k = flow->Get("k");
  REQUIRE(k->IsSeq());
  REQUIRE(k->seq.size() == 2);
  CHECK_FALSE(k->seq[0].quoted);
  CHECK(k->seq[1].quoted);
  CHECK(k->seq[1].loc.col == 15);
}

TEST_CASE("ParseYaml treats !!str as quoted and other tags as plain") {
  Node root = Parse("a: !!str 5\nb: !!int 5\n");
  CHECK(root.Get("a")->quoted);
  CHECK_FALSE(root.Get("b")->quoted);
  CHECK(root.Get("b")->scalar == "5");
}

TEST_CASE("ParseYaml gives a null root for an empty or comment-only file") {
  Node root = Parse("");
  CHECK(root.IsNull());
  CHECK(root.loc.line == 1);
  CHECK(Parse("# nothing yet\n").IsNull());
}

TEST_CASE("ParseYaml expands aliases into copies") {
  Node root = Parse("a: &t {x: 1}\nb: *t\n");
  CHECK(CanonicalText(root) == R"({"a":{"x":"1"},"b":{"x":"1"}})");
}

TEST_CASE("ParseYaml reports duplicate keys at the second one") {
  CHECK(ErrorOf("version: 2\nname: a\nname: b\n") ==
        "t.yaml:3:1: error: duplicate key 'name'; first at 2:1\nname: b\n^");
  CHECK(ErrorOf("s: {a: 1, \"a\": 2}\n") ==
        "t.yaml:1:11: error: duplicate key 'a'; first at 1:5\ns: {a: 1, \"a\": 2}\n          ^");
}

TEST_CASE("ParseYaml prefixes yaml-cpp syntax errors at yaml-cpp's mark") {
  CHECK(ErrorOf("a: b: c\n") ==
        "t.yaml:1:5: error: invalid YAML: unexpected ':'; quote a value that contains ': ' "
        "(for example \"a: b\")\na: b: c\n    ^");
  CHECK(ErrorOf("a: *nope\n") ==
        "t.yaml:1:4: error: invalid YAML: the referenced anchor is not defined\na: *nope\n   ^");
}

TEST_CASE("ParseYaml refuses a second document") {
  CHECK(ErrorOf("a: 1\n---\nb: 2\n") ==
        "t.yaml:2:1: error: a second YAML document starts here; put each plan in its own file\n"
        "---\n^");
  CHECK(ErrorOf("- a\nb: 1\n") ==
        "t.yaml:2:1: error: unexpected text after the end of the document; check its "
        "indentation\nb: 1\n^");
}

TEST_CASE("ParseYaml refuses keys that are not text") {
  CHECK(ErrorOf("? [a]\n: 1\n") ==
        "t.yaml:1:3: error: mapping keys must be text, got a list\n"
        "? [a]\n  ^");
  CHECK(ErrorOf("~: 1\n") == "t.yaml:1:1: error: mapping keys must be text, got null\n~: 1\n^");
}

TEST_CASE("ParseYaml refuses a NUL character in a value or a key") {
  CHECK(ErrorOf("up: \"SELECT 1\\0; DROP TABLE t\"\n") ==
        "t.yaml:1:5: error: a value contains a NUL character (\\0); plans cannot hold NUL "
        "bytes\nup: \"SELECT 1\\0; DROP TABLE t\"\n    ^");
  CHECK(FirstLine(ErrorOf("a: {\"k\\0\": 1}\n")) ==
        "t.yaml:1:5: error: a value contains a NUL character (\\0); plans cannot hold NUL bytes");
}

TEST_CASE("ParseYaml refuses an alias inside the node it names") {
  CHECK(ErrorOf("a: &x [*x]\n") ==
        "t.yaml:1:8: error: an alias cannot refer to the node that contains it\n"
        "a: &x [*x]\n       ^");
}

TEST_CASE("ParseYaml refuses a file over the size limit before parsing") {
  YamlLimits limits;
  limits.max_bytes = 8;
  CHECK(ErrorOf("a: [1, 2, 3]\n", limits) ==
        "t.yaml: error: plan file is 13 bytes, over the limit of 8; split it into smaller plans");
  std::string big(5242880, '#');
  CHECK(ErrorOf(big) ==
        "t.yaml: error: plan file is 5242880 bytes, over the limit of 4194304; split it into "
        "smaller plans");
}

TEST_CASE("ParseYaml allows 64 levels of flow nesting and refuses 65") {
  CHECK(Parse(Repeat("[", 64) + Repeat("]", 64)).IsSeq());
  CHECK(ErrorOf(Repeat("[", 65) + Repeat("]", 65)) ==
        "t.yaml:1:65: error: nesting deeper than 64 levels\n" + Repeat("[", 65) + Repeat("]", 65) +
            "\n" + std::string(64, ' ') + "^");
  CHECK(FirstLine(ErrorOf("a: " + Repeat("{b: ", 64) + "1" + Repeat("}", 64))) ==
        "t.yaml:1:256: error: nesting deeper than 64 levels");
}

TEST_CASE("ParseYaml stops hostile nesting before yaml-cpp recurses into it") {
  std::string deep = Repeat("[", 200000);
  CHECK(FirstLine(ErrorOf(deep)) == "t.yaml:1:65: error: nesting deeper than 64 levels");
  CHECK(FirstLine(ErrorOf(Repeat("- ", 100000) + "x")) ==
        "t.yaml:1:129: error: nesting deeper than 64 levels");
  std::string indented;
  for (int i = 0; i < 1000; ++i) indented += std::string(i, ' ') + "k:\n";
  CHECK(FirstLine(ErrorOf(indented)) == "t.yaml:65:65: error: nesting deeper than 64 levels");
}

TEST_CASE("ParseYaml counts block nesting exactly") {
  std::string ok, deep;
  for (int i = 0; i < 64; ++i) ok += std::string(2 * i, ' ') + "k" + std::to_string(i) + ":\n";
  CHECK(Parse(ok).IsMap());
  deep = ok + std::string(128, ' ') + "k64: 1\n";
  CHECK(ErrorOf(deep) == "t.yaml:65:129: error: nesting deeper than 64 levels\n" +
                             std::string(128, ' ') + "k64: 1\n" + std::string(128, ' ') + "^");
  // A list at its key's indentation is a level of its own too.
  std::string lists;
  for (int i = 0; i < 40; ++i) lists += std::string(2 * i, ' ') + "- k:\n";
  CHECK(FirstLine(ErrorOf(lists)) == "t.yaml:33:65: error: nesting deeper than 64 levels");
}

TEST_CASE("ParseYaml's nesting pre-scan ignores brackets in text") {
  std::string text = "sql: SELECT a[1] FROM t WHERE x = '" + Repeat("[", 70) +
                     "'\n"
                     "hook: |\n  " +
                     Repeat("{", 70) +
                     "\n"
                     "quoted: \"" +
                     Repeat("[", 70) +
                     "\"\n"
                     "multi: 'a\n  " +
                     Repeat("[", 70) +
                     " it''s'\n"
                     "plain: it's " +
                     Repeat("[", 70) + " # " + Repeat("{", 70) + "\n";
  Node root = Parse(text);
  CHECK(root.Get("hook")->scalar == Repeat("{", 70) + "\n");
  CHECK(root.Get("multi")->scalar == "a " + Repeat("[", 70) + " it's");
  CHECK(root.Get("plain")->scalar == "it's " + Repeat("[", 70));
}

TEST_CASE("ParseYaml counts nesting that aliases add") {
  std::string text = "a: &a " + Repeat("[", 40) + Repeat("]", 40) + "\nb: " + Repeat("[", 24) +
                     "*a" + Repeat("]", 24) + "\n";
  CHECK(FirstLine(ErrorOf(text)) == "t.yaml:2:28: error: nesting deeper than 64 levels");
}

TEST_CASE("ParseYaml stops a billion laughs at the node limit") {
  std::string text = "a: &a [x, x, x, x, x, x, x, x, x, x]\n";
  for (char c = 'b'; c <= 'j'; ++c) {
    std::string prev(1, static_cast<char>(c - 1));
    text += std::string(1, c) + ": &" + std::string(1, c) + " [";
    for (int i = 0; i < 10; ++i) text += (i ? ", *" : "*") + prev;
    text += "]\n";
  }
  CHECK(ErrorOf(text) ==
        "t.yaml:6:8: error: document expands to more than 200000 nodes (too many aliases?)\n"
        "f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
        "       ^");
  YamlLimits limits;
  limits.max_nodes = 5;
  CHECK(ErrorOf("[a, b, c, d, e]\n", limits) ==
        "t.yaml:1:14: error: document expands to more than 5 nodes (too many aliases?)\n"
        "[a, b, c, d, e]\n             ^");
}

TEST_CASE("ParseYaml stops aliases that copy too much text") {
  YamlLimits limits;
  limits.max_text_bytes = 25;
  CHECK(ErrorOf("a: &a 0123456789\nb: [*a, *a]\n", limits) ==
        "t.yaml:2:9: error: document expands to more than 25 bytes of text (too many aliases?)\n"
        "b: [*a, *a]\n        ^");
}

TEST_CASE("Node::Get finds a key in a mapping only") {
  Node root = Parse("a: 1\nb: [2]\n");
  REQUIRE(root.Get("b") != nullptr);
  CHECK(root.Get("b")->IsSeq());
  CHECK(root.Get("c") == nullptr);
  CHECK(root.Get("b")->Get("2") == nullptr);
}

TEST_CASE("Node::KindName names the kind or quotes the scalar") {
  Node root = Parse(
      "m: {}\n"
      "l: []\n"
      "n:\n"
      "s: abc\n"
      "long: 0123456789012345678901234567890123456789X\n"
      "lines: \"first\\nsecond\"\n"
      "utf8: \"" +
      std::string(39, 'a') + "\xc3\xa9\"\n");
  CHECK(root.Get("m")->KindName() == "a mapping");
  CHECK(root.Get("l")->KindName() == "a list");
  CHECK(root.Get("n")->KindName() == "null");
  CHECK(root.Get("s")->KindName() == "'abc'");
  CHECK(root.Get("long")->KindName() == "'0123456789012345678901234567890123456789...'");
  CHECK(root.Get("lines")->KindName() == "'first...'");
  CHECK(root.Get("utf8")->KindName() == "'" + std::string(39, 'a') + "...'");
}

TEST_CASE("CanonicalText ignores layout, comments and quoting") {
  std::string one = CanonicalText(Parse("# header\na: 1   # one\nb:\n  - x\n  - 'y'\nc:\n"));
  std::string two = CanonicalText(Parse("{a: '1', b: [x, \"y\"], c: null}"));
  CHECK(one == R"({"a":"1","b":["x","y"],"c":null})");
  CHECK(two == one);
  CHECK(CanonicalText(Parse("{b: [x, y], a: 1, c: ~}")) != one);
}

TEST_CASE("CanonicalText escapes strings as JSON") {
  Node root = Parse("s: \"q\\\"b\\\\n\\n\\t\\r\\x01\\u00e9\"\n");
  CHECK(CanonicalText(root) == "{\"s\":\"q\\\"b\\\\n\\n\\t\\r\\u0001\xc3\xa9\"}");
}

}  // namespace
}  // namespace planrun
