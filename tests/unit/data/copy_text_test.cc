// COPY text lines and DecodeField (engine/data/copy_text.cc). EncodeField is
// tested in encode_field_test.cc, array literals in array_literal_test.cc.
#include "data/copy_text.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <limits>

#include "unit/data/test_values.h"

namespace planrun {
namespace {

using testing::Col;
using testing::List;
using namespace testing::columns;
using Fields = std::vector<RawField>;
const RawField kNull = std::nullopt;
const double kNaN = std::numeric_limits<double>::quiet_NaN();
const double kInf = std::numeric_limits<double>::infinity();

/// The fields of `line`; fails the test when it does not parse.
Fields Parse(std::string_view line) {
  Fields out;
  INFO(line);
  REQUIRE(ParseCopyLine(line, &out));
  return out;
}

/// `raw` escaped by AppendCopyField.
std::string Escaped(std::string_view raw) {
  std::string out;
  AppendCopyField(&out, raw);
  return out;
}

/// Every byte value 0..255 once, in order.
std::string AllBytes() {
  std::string s;
  for (int c = 0; c < 256; ++c) s.push_back(static_cast<char>(c));
  return s;
}

TEST_CASE("ParseCopyLine splits fields at tabs") {
  CHECK(Parse("a\tb\tc") == Fields{RawField("a"), RawField("b"), RawField("c")});
  CHECK(Parse("") == Fields{RawField("")});
  CHECK(Parse("\t") == Fields{RawField(""), RawField("")});
  CHECK(Parse("x\t\t") == Fields{RawField("x"), RawField(""), RawField("")});
}

TEST_CASE("ParseCopyLine reads a whole-field \\N as NULL and nothing else") {
  CHECK(Parse("\\N") == Fields{kNull});
  CHECK(Parse("\\N\t\\N") == Fields{kNull, kNull});
  CHECK(Parse("x\t\\N") == Fields{RawField("x"), kNull});
  CHECK(Parse("\\\\N") == Fields{RawField("\\N")});
  CHECK(Parse("\\Nx") == Fields{RawField("Nx")});
  CHECK(Parse("a\\N") == Fields{RawField("aN")});
}

TEST_CASE("ParseCopyLine unescapes every named escape") {
  CHECK(Parse("\\b\\f\\n\\r\\t\\v\\\\") == Fields{RawField("\b\f\n\r\t\v\\")});
  CHECK(Parse("a\\tb\tc") == Fields{RawField("a\tb"), RawField("c")});
}

TEST_CASE("ParseCopyLine unescapes one to three octal digits") {
  CHECK(Parse("\\0") == Fields{RawField(std::string(1, '\0'))});
  CHECK(Parse("\\7") == Fields{RawField("\x07")});
  CHECK(Parse("\\101") == Fields{RawField("A")});
  CHECK(Parse("\\1011") == Fields{RawField("A1")});
  CHECK(Parse("\\12x") == Fields{RawField("\nx")});
  CHECK(Parse("\\08") == Fields{RawField(std::string("\0"
                                                     "8",
                                                     2))});
  CHECK(Parse("\\377") == Fields{RawField("\xff")});
  CHECK(Parse("\\777") == Fields{RawField("\xff")});  // 0x1ff, low byte kept
  CHECK(Parse("\\400") == Fields{RawField(std::string(1, '\0'))});
}

TEST_CASE("ParseCopyLine unescapes \\x with one or two hex digits") {
  CHECK(Parse("\\x41") == Fields{RawField("A")});
  CHECK(Parse("\\x4") == Fields{RawField("\x04")});
  CHECK(Parse("\\x414") == Fields{RawField("A4")});
  CHECK(Parse("\\xfF") == Fields{RawField("\xff")});
  CHECK(Parse("\\xg") == Fields{RawField("xg")});
  CHECK(Parse("\\x") == Fields{RawField("x")});
  CHECK(Parse("\\x\tb") == Fields{RawField("x"), RawField("b")});
}

TEST_CASE("ParseCopyLine takes any other backslashed character as itself") {
  CHECK(Parse("\\a\\.\\\"\\'\\8\\9\\ ") == Fields{RawField("a.\"'89 ")});
  CHECK(Parse("\\\xc3\xa9") == Fields{RawField("é")});
}

TEST_CASE("ParseCopyLine rejects a lone backslash at the end of the line") {
  Fields out;
  CHECK_FALSE(ParseCopyLine("\\", &out));
  CHECK_FALSE(ParseCopyLine("a\\", &out));
  CHECK_FALSE(ParseCopyLine("a\t\\", &out));
  CHECK(ParseCopyLine("a\\\\", &out));
}

TEST_CASE("ParseCopyLine passes UTF-8 and raw bytes through") {
  CHECK(Parse("é\t漢字 🎉") == Fields{RawField("é"), RawField("漢字 🎉")});
  CHECK(Parse(std::string("a\0b", 3)) == Fields{RawField(std::string("a\0b", 3))});
}

TEST_CASE("ParseCopyLine reuses the vector across rows of different shapes") {
  Fields fields;
  REQUIRE(ParseCopyLine("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\t\\N\tc", &fields));
  REQUIRE(ParseCopyLine("b\tx", &fields));
  CHECK(fields == Fields{RawField("b"), RawField("x")});
  REQUIRE(ParseCopyLine("\\N\t\t\\N\td", &fields));
  CHECK(fields == Fields{kNull, RawField(""), kNull, RawField("d")});
}

TEST_CASE("AppendCopyField escapes backslash and every control character COPY names") {
  CHECK(Escaped("\\") == "\\\\");
  CHECK(Escaped("\n") == "\\n");
  CHECK(Escaped("\r") == "\\r");
  CHECK(Escaped("\t") == "\\t");
  CHECK(Escaped("\b") == "\\b");
  CHECK(Escaped("\f") == "\\f");
  CHECK(Escaped("\v") == "\\v");
  CHECK(Escaped("a\tb\\c\nd") == "a\\tb\\\\c\\nd");
}

TEST_CASE("AppendCopyField writes the text \\N so it cannot read as NULL") {
  CHECK(Escaped("\\N") == "\\\\N");
}

TEST_CASE("AppendCopyField leaves other bytes alone and appends") {
  CHECK(Escaped("") == "");
  CHECK(Escaped("plain 'text' \"q\"") == "plain 'text' \"q\"");
  CHECK(Escaped("é 漢字 🎉") == "é 漢字 🎉");
  CHECK(Escaped(std::string("\0\x01\x7f\xff", 4)) == std::string("\0\x01\x7f\xff", 4));
  std::string out = "prefix|";
  AppendCopyField(&out, "a\tb");
  CHECK(out == "prefix|a\\tb");
}

TEST_CASE("AppendCopyRow joins fields with tabs, writes NULL as \\N and ends the line") {
  std::string out;
  AppendCopyRow(&out, {RawField("a"), kNull, RawField(""), RawField("\\N"), RawField("x\ty")});
  CHECK(out == "a\t\\N\t\t\\\\N\tx\\ty\n");
  AppendCopyRow(&out, {kNull});
  CHECK(out == "a\t\\N\t\t\\\\N\tx\\ty\n\\N\n");
  std::string empty;
  AppendCopyRow(&empty, {});
  CHECK(empty == "\n");
}

TEST_CASE("AppendCopyRow and ParseCopyLine round-trip tricky fields exactly") {
  const Fields rows[] = {
      {RawField("")},
      {kNull},
      {RawField(""), kNull, RawField("\\N"), RawField("N"), RawField("\\")},
      {RawField("tab\there"), RawField("line\nbreak"), RawField("cr\rlf\r\n")},
      {RawField("\b\f\v"), RawField("back\\slash\\"), RawField("\\\\\\")},
      {RawField("é"), RawField("漢字"), RawField("🎉👩‍👩‍👧")},
      {RawField(AllBytes()), RawField(std::string(1, '\0'))},
  };
  for (const Fields& row : rows) {
    std::string line;
    AppendCopyRow(&line, row);
    INFO(line);
    REQUIRE(line.back() == '\n');
    line.pop_back();
    CHECK(line.find('\n') == std::string::npos);
    CHECK(Parse(line) == row);
  }
}

// ---- DecodeField ----

/// The Value decoded from `raw`; fails the test on error.
Value Decode(const ColumnSpec& col, const RawField& raw) {
  Value v;
  Status st = DecodeField(col, raw, &v);
  INFO(col.name << ": " << st.message());
  REQUIRE(st.ok());
  return v;
}

/// The error message decoding `raw` gives (empty when it succeeds).
std::string DecodeError(const ColumnSpec& col, const std::string& raw) {
  Value v;
  Status st = DecodeField(col, raw, &v);
  if (!st.ok()) CHECK(st.code() == StatusCode::kFailed);
  return st.message();
}

TEST_CASE("DecodeField reads NULL as kNull for every class") {
  for (const ColumnSpec* col :
       {&kTextCol, &kBoolCol, &kIntCol, &kFloatCol, &kJsonCol, &kByteaCol, &kIntsCol}) {
    CHECK(Decode(*col, kNull) == Value::Null());
  }
}

TEST_CASE("DecodeField keeps text and JSON as strings, byte for byte") {
  CHECK(Decode(kTextCol, RawField("")) == Value::String(""));
  CHECK(Decode(kTextCol, RawField("a\tb\n\\N é🎉")) == Value::String("a\tb\n\\N é🎉"));
  const std::string numeric40 = "1234567890123456789012345678901234567890.000001";
  CHECK(Decode(Col("n", "numeric", TypeClass::kText), numeric40) == Value::String(numeric40));
  const std::string doc = R"({"a": [1, {"b": null}], "c": "\"q\" \\ é"})";
  CHECK(Decode(kJsonCol, doc) == Value::String(doc));
}

TEST_CASE("DecodeField reads booleans") {
  CHECK(Decode(kBoolCol, RawField("t")) == Value::Bool(true));
  CHECK(Decode(kBoolCol, RawField("f")) == Value::Bool(false));
  CHECK(Decode(kBoolCol, RawField("true")) == Value::Bool(true));
  CHECK(Decode(kBoolCol, RawField("false")) == Value::Bool(false));
  CHECK(DecodeError(kBoolCol, "yes") == "column 'ok' (boolean) cannot read \"yes\" as a boolean");
  CHECK(DecodeError(kBoolCol, "T") == "column 'ok' (boolean) cannot read \"T\" as a boolean");
  CHECK(DecodeError(kBoolCol, "") == "column 'ok' (boolean) cannot read \"\" as a boolean");
}

TEST_CASE("DecodeField reads 64-bit integers to both limits") {
  CHECK(Decode(kIntCol, RawField("-12")) == Value::Int(-12));
  CHECK(Decode(kIntCol, RawField("0")) == Value::Int(0));
  CHECK(Decode(kIntCol, RawField("9223372036854775807")) ==
        Value::Int(std::numeric_limits<int64_t>::max()));
  CHECK(Decode(kIntCol, RawField("-9223372036854775808")) ==
        Value::Int(std::numeric_limits<int64_t>::min()));
}

TEST_CASE("DecodeField rejects integers with junk or out of range") {
  const std::string kPrefix = "column 'age' (integer) cannot read ";
  CHECK(DecodeError(kIntCol, "12x") == kPrefix + "\"12x\" as an integer");
  CHECK(DecodeError(kIntCol, "") == kPrefix + "\"\" as an integer");
  CHECK(DecodeError(kIntCol, " 1") == kPrefix + "\" 1\" as an integer");
  CHECK(DecodeError(kIntCol, "1.0") == kPrefix + "\"1.0\" as an integer");
  CHECK(DecodeError(kIntCol, "9223372036854775808") ==
        kPrefix + "\"9223372036854775808\" as an integer");
  CHECK(DecodeError(kIntCol, "-9223372036854775809") ==
        kPrefix + "\"-9223372036854775809\" as an integer");
}

TEST_CASE("DecodeField reads floats exactly, with NaN and the infinities") {
  CHECK(Decode(kFloatCol, RawField("0.1")) == Value::Float(0.1));
  CHECK(Decode(kFloatCol, RawField("1e+308")) == Value::Float(1e308));
  CHECK(Decode(kFloatCol, RawField("1.7976931348623157e+308")) ==
        Value::Float(std::numeric_limits<double>::max()));
  CHECK(Decode(kFloatCol, RawField("5e-324")) ==
        Value::Float(std::numeric_limits<double>::denorm_min()));
  CHECK(Decode(kFloatCol, RawField("2.225073858507201e-308")) ==
        Value::Float(2.225073858507201e-308));
  CHECK(Decode(kFloatCol, RawField("-12")) == Value::Float(-12));
  Value zero = Decode(kFloatCol, RawField("-0"));
  CHECK(zero == Value::Float(0));
  CHECK(std::signbit(zero.f));
  CHECK(std::isnan(Decode(kFloatCol, RawField("NaN")).f));
  CHECK(Decode(kFloatCol, RawField("Infinity")) == Value::Float(kInf));
  CHECK(Decode(kFloatCol, RawField("-Infinity")) == Value::Float(-kInf));
}

TEST_CASE("DecodeField rejects floats with junk or out of range") {
  const std::string kPrefix = "column 'score' (double precision) cannot read ";
  CHECK(DecodeError(kFloatCol, "abc") == kPrefix + "\"abc\" as a number");
  CHECK(DecodeError(kFloatCol, "1.5x") == kPrefix + "\"1.5x\" as a number");
  CHECK(DecodeError(kFloatCol, "") == kPrefix + "\"\" as a number");
  CHECK(DecodeError(kFloatCol, "1e400") == kPrefix + "\"1e400\" as a number");
}

TEST_CASE("DecodeField reads hex bytea into raw bytes, all 256 byte values") {
  CHECK(Decode(kByteaCol, RawField("\\x")) == Value::String(""));
  CHECK(Decode(kByteaCol, RawField("\\x00ff0a")) == Value::String(std::string("\0\xff\n", 3)));
  CHECK(Decode(kByteaCol, RawField("\\xABcd")) == Value::String("\xab\xcd"));
  std::string hex = "\\x";
  for (int c = 0; c < 256; ++c) {
    hex += "0123456789abcdef"[c >> 4];
    hex += "0123456789abcdef"[c & 15];
  }
  CHECK(Decode(kByteaCol, hex) == Value::String(AllBytes()));
}

TEST_CASE("DecodeField rejects bytea that is not well-formed hex") {
  CHECK(DecodeError(kByteaCol, "\\001abc") ==
        "column 'blob' (bytea) cannot read \"\\001abc\" as bytea: expected the hex format "
        "\\x... (bytea_output = 'hex')");
  CHECK(DecodeError(kByteaCol, "") ==
        "column 'blob' (bytea) cannot read \"\" as bytea: expected the hex format "
        "\\x... (bytea_output = 'hex')");
  CHECK(DecodeError(kByteaCol, "\\x0a1") ==
        "column 'blob' (bytea) cannot read \"\\x0a1\" as bytea: odd number of hex digits");
  CHECK(DecodeError(kByteaCol, "\\x0g") ==
        "column 'blob' (bytea) cannot read \"\\x0g\" as bytea: invalid hex digit");
  CHECK(DecodeError(kByteaCol, "\\x 0") ==
        "column 'blob' (bytea) cannot read \"\\x 0\" as bytea: invalid hex digit");
}

TEST_CASE("DecodeField reads one-dimensional arrays by element class") {
  CHECK(Decode(kIntsCol, RawField("{}")) == List({}));
  CHECK(Decode(kIntsCol, RawField("{1,NULL,-3}")) ==
        List({Value::Int(1), Value::Null(), Value::Int(-3)}));
  CHECK(Decode(kTextsCol, RawField(R"({a,"b c","",NULL,"NULL","q\"\\"})")) ==
        List({Value::String("a"), Value::String("b c"), Value::String(""), Value::Null(),
              Value::String("NULL"), Value::String("q\"\\")}));
  CHECK(Decode(Col("flags", "boolean[]", TypeClass::kArray, TypeClass::kBool),
               RawField("{t,f,NULL}")) ==
        List({Value::Bool(true), Value::Bool(false), Value::Null()}));
  CHECK(Decode(Col("xs", "double precision[]", TypeClass::kArray, TypeClass::kFloat),
               RawField("{0.1,Infinity,-Infinity,NaN}")) ==
        List({Value::Float(0.1), Value::Float(kInf), Value::Float(-kInf), Value::Float(kNaN)}));
  CHECK(Decode(Col("blobs", "bytea[]", TypeClass::kArray, TypeClass::kBytea),
               RawField(R"({"\\x0102",NULL})")) ==
        List({Value::String("\x01\x02"), Value::Null()}));
  CHECK(Decode(Col("docs", "jsonb[]", TypeClass::kArray, TypeClass::kJson),
               RawField(R"({"{\"a\": 1}"})")) == List({Value::String(R"({"a": 1})")}));
}

TEST_CASE("DecodeField keeps multi-dimensional and bounds-decorated arrays as text") {
  CHECK(Decode(kIntsCol, RawField("{{1,2},{3,4}}")) == Value::String("{{1,2},{3,4}}"));
  CHECK(Decode(kIntsCol, RawField("[0:1]={1,2}")) == Value::String("[0:1]={1,2}"));
}

TEST_CASE("DecodeField names the element that fails and rejects malformed arrays") {
  CHECK(DecodeError(kIntsCol, "{1,x}") ==
        "column 'ids' (integer[]) cannot read \"x\" as an integer in element 2");
  CHECK(DecodeError(kIntsCol, "{1,2") ==
        "column 'ids' (integer[]) cannot read \"{1,2\" as an array");
  CHECK(DecodeError(kIntsCol, "") == "column 'ids' (integer[]) cannot read \"\" as an array");
}

TEST_CASE("DecodeField names the class when the column has no type name") {
  CHECK(DecodeError(Col("b", "", TypeClass::kBool), "x") ==
        "column 'b' (boolean) cannot read \"x\" as a boolean");
  CHECK(DecodeError(Col("i", "", TypeClass::kInt), "x") ==
        "column 'i' (integer) cannot read \"x\" as an integer");
  CHECK(DecodeError(Col("f", "", TypeClass::kFloat), "x") ==
        "column 'f' (float) cannot read \"x\" as a number");
  CHECK(DecodeError(Col("y", "", TypeClass::kBytea), "x") ==
        "column 'y' (bytea) cannot read \"x\" as bytea: expected the hex format \\x... "
        "(bytea_output = 'hex')");
  CHECK(DecodeError(Col("a", "", TypeClass::kArray), "x") ==
        "column 'a' (array) cannot read \"x\" as an array");
}

TEST_CASE("DecodeField quotes long and control-character text briefly in errors") {
  CHECK(DecodeError(kIntCol, std::string(50, '7') + "x") ==
        "column 'age' (integer) cannot read \"" + std::string(40, '7') + "...\" as an integer");
  // The cut backs off to the start of a UTF-8 character.
  CHECK(DecodeError(kIntCol, std::string(39, '1') + "é") ==
        "column 'age' (integer) cannot read \"" + std::string(39, '1') + "...\" as an integer");
  CHECK(DecodeError(kIntCol, std::string("1\n\t\r\x01\x7f", 6)) ==
        "column 'age' (integer) cannot read \"1\\n\\t\\r\\x01\\x7f\" as an integer");
}

TEST_CASE("DecodeField overwrites a reused Value completely") {
  Value v = Value::String("left over");
  v.items = {Value::Int(1)};
  REQUIRE(DecodeField(kIntCol, RawField("5"), &v).ok());
  CHECK(v == Value::Int(5));
  CHECK(v.s.empty());
  CHECK(v.items.empty());
  REQUIRE(DecodeField(kTextCol, kNull, &v).ok());
  CHECK(v == Value::Null());
  CHECK(v.i == 0);
}

}  // namespace
}  // namespace planrun
