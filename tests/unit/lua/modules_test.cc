// The modules preloaded into hook states: json, uuid, text, check.

#include <catch2/catch.hpp>

#include <regex>

#include "lua_harness.h"

namespace planrun {
namespace testing {
namespace {

// A Lua long-bracket literal of `s` (s must not contain "]=]").
std::string Lit(const std::string& s) { return "[=[" + s + "]=]"; }

Value Str(const std::string& s) { return Value::String(s); }

TEST_CASE("json.encode writes every kind of value") {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"nil", "null"},
      {"json.null", "null"},
      {"ctx.null", "null"},
      {"true", "true"},
      {"false", "false"},
      {"0", "0"},
      {"-7", "-7"},
      {"math.maxinteger", "9223372036854775807"},
      {"math.mininteger", "-9223372036854775808"},
      {"0.1", "0.1"},
      {"3.0", "3.0"},
      {"-2.5e-8", "-2.5e-08"},
      {"1e300", "1e+300"},
      {"2^53", "9007199254740992.0"},
      {"'plain'", R"("plain")"},
      {R"('q"b\\s/')", R"("q\"b\\s/")"},
      {R"('\n\r\t\b\f\0\1\31\127')", R"("\n\r\t\b\f\u0000\u0001\u001f)"
                                     "\x7f"
                                     R"(")"},
      {"'é中😀'", R"("é中😀")"},
      {"{}", "{}"},
      {"json.array()", "[]"},
      {"json.array({})", "[]"},
      {"{1, 'a', true, json.null}", R"([1,"a",true,null])"},
      {"{b = 1, a = {c = {}}, [''] = 0}", R"({"":0,"a":{"c":{}},"b":1})"},
      {"{{1, {2}}, {x = json.array()}}", R"([[1,[2]],{"x":[]}])"},
  };
  for (const auto& [expr, json] : cases) {
    INFO(expr);
    CHECK(Eval("json.encode(" + expr + ")") == Str(json));
  }
}

TEST_CASE("json.encode refuses what JSON cannot hold") {
  CHECK(Reason("json.encode(print)") == "t.lua:2: json.encode: cannot encode a function");
  CHECK(Reason("json.encode({0/0})") == "t.lua:2: json.encode: cannot encode NaN or infinity");
  CHECK(Reason("json.encode(math.huge)") == "t.lua:2: json.encode: cannot encode NaN or infinity");
  CHECK(Reason("json.encode({a = 'ok', b = 'x\\xff'})") ==
        "t.lua:2: json.encode: invalid UTF-8 in a string at byte 2");
  CHECK(Reason("json.encode('\\xed\\xa0\\x80')") ==
        "t.lua:2: json.encode: invalid UTF-8 in a string at byte 1");
  CHECK(Reason("json.encode('\\xc0\\xaf')") ==
        "t.lua:2: json.encode: invalid UTF-8 in a string at byte 1");
  CHECK(Reason("json.encode({1, 2, x = 3})") ==
        "t.lua:2: json.encode: cannot encode a table with mixed keys (neither a sequence 1..n "
        "nor a map with string keys)");
  CHECK(Reason("json.encode({[1.5] = 1})") ==
        "t.lua:2: json.encode: cannot encode a table with mixed keys (neither a sequence 1..n "
        "nor a map with string keys)");
  CHECK(Reason("local t = {}; t.self = t; json.encode(t)") ==
        "t.lua:2: json.encode: tables nested deeper than 128 (a table that contains itself?)");
}

TEST_CASE("json.decode reads values back; null is ctx.null; arrays stay arrays") {
  CHECK(Eval("json.decode('null') == ctx.null") == Value::Bool(true));
  CHECK(Eval("json.decode(' 42 ')") == Value::Int(42));
  CHECK(Eval("math.type(json.decode('9007199254740993'))") == Str("integer"));
  CHECK(Eval("json.decode('9007199254740993')") == Value::Int(9007199254740993));
  CHECK(Eval("math.type(json.decode('1.0'))") == Str("float"));
  CHECK(Eval("json.decode('-1.5e3')") == Value::Float(-1500.0));
  CHECK(Eval("math.type(json.decode('99999999999999999999'))") == Str("float"));
  CHECK(Eval("json.decode('\"a\\\\u00e9\\\\ud83d\\\\ude00\\\\n\\\\u0000b\"')") ==
        Str(std::string("a\xc3\xa9\xf0\x9f\x98\x80\n\0b", 10)));
  CHECK(Eval("#json.decode('[1, null, 3]')") == Value::Int(3));
  CHECK(Eval("json.decode('[1, null, 3]')[2] == json.null") == Value::Bool(true));
  CHECK(Eval("json.decode('{\"a\": {\"b\": [true]}}').a.b[1]") == Value::Bool(true));
  CHECK(Eval("json.encode(json.decode('[]'))") == Str("[]"));
  CHECK(Eval("json.encode(json.decode('{}'))") == Str("{}"));
  CHECK(Eval("json.decode('{\"a\": 1, \"a\": 2}').a") == Value::Int(2));
}

TEST_CASE("json round trips canonical text exactly") {
  const std::vector<std::string> texts = {
      R"({"a":[1,2.5,"x",null,true,false],"b":{"c":"é😀","d":[]},"e":{}})",
      R"([[],[[]],{"":""}])",
      R"("\u0001\"\\")",
      R"(-0.0)",
      R"(123456789012345678)",
      R"(1.7976931348623157e+308)",
  };
  for (const std::string& text : texts) {
    INFO(text);
    CHECK(Eval("json.encode(json.decode(" + Lit(text) + "))") == Str(text));
  }
  CHECK(Eval("json.encode(json.decode(" + Lit(R"({ "b" : "\u00e9\/" , "a" : [ 1 ] })") + "))") ==
        Str(R"({"a":[1],"b":"é/"})"));
}

TEST_CASE("json.decode errors give the position") {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "unexpected end of input at position 1"},
      {"x", "unexpected character at position 1"},
      {"[1 2]", "expected ',' or ']' at position 4"},
      {R"({"a":1,})", "expected a string key at position 8"},
      {R"({"a" 1})", "expected ':' at position 6"},
      {R"({"a":1 "b":2})", "expected ',' or '}' at position 8"},
      {R"("abc)", "unterminated string at position 5"},
      {R"("a\qb")", "invalid escape at position 4"},
      {R"("\u12G4")", "invalid \\u escape at position 3"},
      {R"("\ud800")", "lone surrogate in \\u escape at position 3"},
      {R"("\udc00x")", "lone surrogate in \\u escape at position 3"},
      {"\"a\tb\"", "control character in a string at position 3"},
      {"tru", "invalid literal at position 1"},
      {"01", "unexpected text after the value at position 2"},
      {"-", "invalid number at position 2"},
      {"1.e5", "invalid number at position 3"},
      {"1e400", "number out of range at position 1"},
      {"[1] x", "unexpected text after the value at position 5"},
      {std::string(200, '['), "nesting deeper than 128 at position 129"},
  };
  for (const auto& [text, error] : cases) {
    INFO(text);
    CHECK(Reason("json.decode(" + Lit(text) + ")") == "t.lua:2: json.decode: " + error);
  }
}

TEST_CASE("uuid.v5 matches RFC 4122 vectors; v4 is random and well formed") {
  CHECK(Eval("uuid.v5('6ba7b810-9dad-11d1-80b4-00c04fd430c8', 'python.org')") ==
        Str("886313e1-3b8a-5372-9b90-0c9aee199e5d"));
  CHECK(Eval("uuid.v5('6BA7B811-9DAD-11D1-80B4-00C04FD430C8', 'https://example.com/a')") ==
        Str("6639460f-3425-5329-8097-a58f06127860"));
  CHECK(Eval("uuid.v5('6ba7b812-9dad-11d1-80b4-00c04fd430c8', '')") ==
        Str("0a68eb57-c88a-5f34-9e9d-27f85e68af4f"));
  CHECK(Reason("uuid.v5('not-a-uuid', 'x')") ==
        "t.lua:2: uuid.v5: the namespace 'not-a-uuid' is not a UUID");

  const std::regex v4("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");
  const Value a = Eval("uuid.v4()");
  const Value b = Eval("uuid.v4()");
  CHECK(std::regex_match(a.s, v4));
  CHECK(std::regex_match(b.s, v4));
  CHECK(a != b);
  CHECK(Eval("uuid.is_valid(uuid.v4())") == Value::Bool(true));
}

TEST_CASE("uuid.is_valid and check.uuid accept the 8-4-4-4-12 hex form only") {
  const std::vector<std::pair<std::string, bool>> cases = {
      {"'00000000-0000-0000-0000-000000000000'", true},
      {"'886313E1-3B8A-5372-9B90-0C9AEE199E5D'", true},
      {"'886313e13b8a53729b900c9aee199e5d'", false},
      {"'{886313e1-3b8a-5372-9b90-0c9aee199e5d}'", false},
      {"'886313e1-3b8a-5372-9b90-0c9aee199e5g'", false},
      {"'886313e1-3b8a-5372-9b90-0c9aee199e5'", false},
      {"'886313e1+3b8a-5372-9b90-0c9aee199e5d'", false},
      {"42", false},
      {"nil", false},
  };
  for (const auto& [expr, valid] : cases) {
    INFO(expr);
    CHECK(Eval("uuid.is_valid(" + expr + ")") == Value::Bool(valid));
    CHECK(Eval("check.uuid(" + expr + ")") == Value::Bool(valid));
  }
}

TEST_CASE("text functions") {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"text.trim(' \\t\\n a b \\r\\f\\v')", "a b"},
      {"text.trim('')", ""},
      {"text.trim('   ')", ""},
      {"text.trim('\\xc2\\xa0x')", "\xc2\xa0x"},
      {"text.strip_nul('a\\0b\\0\\0c')", "abc"},
      {"text.strip_nul('plain')", "plain"},
      {"text.slugify('Hello, World!')", "hello-world"},
      {"text.slugify('  --Crème Brûlée 2024--  ')", "crme-brle-2024"},
      {"text.slugify('already-a-slug')", "already-a-slug"},
      {"text.slugify('___')", ""},
      {"text.slugify('A_B  c')", "a-b-c"},
      {"text.normalize_whitespace('  a \\t\\n b  c ')", "a b c"},
      {"text.normalize_whitespace('one')", "one"},
      {"text.normalize_whitespace(' \\n ')", ""},
      {"text.trim(12)", "12"},
  };
  for (const auto& [expr, want] : cases) {
    INFO(expr);
    CHECK(Eval(expr) == Str(want));
  }
  CHECK(Reason("text.trim(nil)") ==
        "t.lua:2: bad argument #1 to 'trim' (string expected, got nil)");
}

TEST_CASE("check functions") {
  const std::vector<std::pair<std::string, bool>> cases = {
      {"check.email('ada@example.com')", true},
      {"check.email('first.last+tag@mail.example.co.uk')", true},
      {"check.email('o\\'hara@example.org')", true},
      {"check.email('ada@localhost')", false},
      {"check.email('ada@@example.com')", false},
      {"check.email('ada @example.com')", false},
      {"check.email('.ada@example.com')", false},
      {"check.email('a..b@example.com')", false},
      {"check.email('ada@-example.com')", false},
      {"check.email('ada@example..com')", false},
      {"check.email('@example.com')", false},
      {"check.email('ada@')", false},
      {"check.email(string.rep('a', 65) .. '@example.com')", false},
      {"check.email(42)", false},
      {"check.slug('a-b-1')", true},
      {"check.slug('abc')", true},
      {"check.slug('A-b')", false},
      {"check.slug('a--b')", false},
      {"check.slug('-a')", false},
      {"check.slug('a-')", false},
      {"check.slug('')", false},
      {"check.url('https://example.com')", true},
      {"check.url('HTTP://Example.com:8080/a/b?q=1#f')", true},
      {"check.url('http://[::1]:5432/x')", true},
      {"check.url('http://localhost')", true},
      {"check.url('ftp://example.com')", false},
      {"check.url('https://')", false},
      {"check.url('https:///path')", false},
      {"check.url('https://exa mple.com')", false},
      {"check.url('https://example.com/a b')", false},
      {"check.url('https://example.com:99999')", false},
      {"check.url('https://example.com:')", false},
      {"check.url('https://user@example.com')", false},
      {"check.url('example.com')", false},
      {"check.non_empty('x')", true},
      {"check.non_empty(' \\t ')", false},
      {"check.non_empty('')", false},
      {"check.non_empty(nil)", false},
      {"check.non_empty(ctx.null)", false},
      {"check.non_empty({})", false},
      {"check.non_empty({0})", true},
      {"check.non_empty(0)", true},
      {"check.non_empty(false)", true},
  };
  for (const auto& [expr, want] : cases) {
    INFO(expr);
    CHECK(Eval(expr) == Value::Bool(want));
  }
}

}  // namespace
}  // namespace testing
}  // namespace planrun
