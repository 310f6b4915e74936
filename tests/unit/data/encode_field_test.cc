// EncodeField (engine/data/encode_field.cc), and DecodeField followed by
// EncodeField. COPY lines and DecodeField alone are in copy_text_test.cc.
#include <catch2/catch.hpp>
#include <cmath>
#include <limits>

#include "data/copy_text.h"
#include "unit/data/test_values.h"

namespace planrun {
namespace {

using testing::Col;
using testing::List;
using namespace testing::columns;
const RawField kNull = std::nullopt;
const double kNaN = std::numeric_limits<double>::quiet_NaN();
const double kInf = std::numeric_limits<double>::infinity();

/// The raw text EncodeField makes of `v`; fails the test on error.
RawField Encode(const ColumnSpec& col, const Value& v) {
  RawField out;
  Status st = EncodeField(col, v, &out);
  INFO(col.name << ": " << st.message());
  REQUIRE(st.ok());
  return out;
}

/// The error message EncodeField gives for `v`; checks *out is left NULL.
std::string EncodeError(const ColumnSpec& col, const Value& v) {
  RawField out = std::string("stale");
  Status st = EncodeField(col, v, &out);
  CHECK_FALSE(st.ok());
  CHECK(st.code() == StatusCode::kFailed);
  CHECK(out == kNull);
  return st.message();
}

TEST_CASE("EncodeField writes kNull as NULL for every class") {
  for (const ColumnSpec* col :
       {&kTextCol, &kBoolCol, &kIntCol, &kFloatCol, &kJsonCol, &kByteaCol, &kIntsCol}) {
    RawField out = std::string("stale");
    REQUIRE(EncodeField(*col, Value::Null(), &out).ok());
    CHECK(out == kNull);
  }
}

TEST_CASE("EncodeField into text takes every kind") {
  CHECK(Encode(kTextCol, Value::String("a\tb\\N é")) == RawField("a\tb\\N é"));
  CHECK(Encode(kTextCol, Value::String("")) == RawField(""));
  CHECK(Encode(kTextCol, Value::Int(-5)) == RawField("-5"));
  CHECK(Encode(kTextCol, Value::Int(std::numeric_limits<int64_t>::min())) ==
        RawField("-9223372036854775808"));
  CHECK(Encode(kTextCol, Value::Bool(true)) == RawField("true"));
  CHECK(Encode(kTextCol, Value::Bool(false)) == RawField("false"));
  CHECK(Encode(kTextCol, List({Value::Int(1), Value::Null(), Value::String("a b"),
                               Value::Bool(true), Value::Float(1.5), List({Value::Int(2)})})) ==
        RawField(R"({1,NULL,"a b",true,1.5,"{2}"})"));
}

TEST_CASE("EncodeField writes floats as their shortest exact text, laid out like float8out") {
  CHECK(Encode(kTextCol, Value::Float(0)) == RawField("0"));
  CHECK(Encode(kTextCol, Value::Float(12.5)) == RawField("12.5"));
  CHECK(Encode(kTextCol, Value::Float(-100000)) == RawField("-100000"));
  CHECK(Encode(kTextCol, Value::Float(1e14)) == RawField("100000000000000"));
  CHECK(Encode(kTextCol, Value::Float(999999999999999)) == RawField("999999999999999"));
  CHECK(Encode(kTextCol, Value::Float(1e15)) == RawField("1e+15"));
  CHECK(Encode(kTextCol, Value::Float(1234567890123456)) == RawField("1.234567890123456e+15"));
  CHECK(Encode(kTextCol, Value::Float(123456789012345678.0)) == RawField("1.2345678901234568e+17"));
  CHECK(Encode(kTextCol, Value::Float(0.0001)) == RawField("0.0001"));
  CHECK(Encode(kTextCol, Value::Float(-0.00012345)) == RawField("-0.00012345"));
  CHECK(Encode(kTextCol, Value::Float(1e-5)) == RawField("1e-05"));
  CHECK(Encode(kTextCol, Value::Float(1.5e-5)) == RawField("1.5e-05"));
  CHECK(Encode(kTextCol, Value::Float(0.1)) == RawField("0.1"));
  CHECK(Encode(kTextCol, Value::Float(1e308)) == RawField("1e+308"));
  CHECK(Encode(kTextCol, Value::Float(std::numeric_limits<double>::max())) ==
        RawField("1.7976931348623157e+308"));
  CHECK(Encode(kTextCol, Value::Float(std::numeric_limits<double>::denorm_min())) ==
        RawField("5e-324"));
  CHECK(Encode(kTextCol, Value::Float(-0.0)) == RawField("-0"));
  CHECK(Encode(kTextCol, Value::Float(kNaN)) == RawField("NaN"));
  CHECK(Encode(kTextCol, Value::Float(kInf)) == RawField("Infinity"));
  CHECK(Encode(kTextCol, Value::Float(-kInf)) == RawField("-Infinity"));
  CHECK(Encode(kFloatCol, Value::Float(1.0 / 3)) == RawField("0.3333333333333333"));
}

TEST_CASE("EncodeField into boolean takes booleans and their spellings") {
  CHECK(Encode(kBoolCol, Value::Bool(true)) == RawField("t"));
  CHECK(Encode(kBoolCol, Value::Bool(false)) == RawField("f"));
  for (const char* s : {"t", "f", "true", "false"}) {
    CHECK(Encode(kBoolCol, Value::String(s)) == RawField(s));
  }
  CHECK(EncodeError(kBoolCol, Value::String("yes")) ==
        "column 'ok' (boolean) cannot take the text \"yes\"");
  CHECK(EncodeError(kBoolCol, Value::Int(1)) == "column 'ok' (boolean) cannot take the number 1");
  CHECK(EncodeError(kBoolCol, Value::Float(1.5)) ==
        "column 'ok' (boolean) cannot take the number 1.5");
  CHECK(EncodeError(kBoolCol, List({})) == "column 'ok' (boolean) cannot take a list");
}

TEST_CASE("EncodeField into integer takes integers and integral floats") {
  CHECK(Encode(kIntCol, Value::Int(42)) == RawField("42"));
  CHECK(Encode(kIntCol, Value::Int(std::numeric_limits<int64_t>::max())) ==
        RawField("9223372036854775807"));
  CHECK(Encode(kIntCol, Value::Float(3.0)) == RawField("3"));
  CHECK(Encode(kIntCol, Value::Float(-0.0)) == RawField("0"));
  CHECK(Encode(kIntCol, Value::Float(1e18)) == RawField("1000000000000000000"));
  CHECK(Encode(kIntCol, Value::Float(-9223372036854775808.0)) == RawField("-9223372036854775808"));
  CHECK(Encode(kIntCol, Value::String("42")) == RawField("42"));
  CHECK(Encode(kIntCol, Value::String("not checked here")) == RawField("not checked here"));
}

TEST_CASE("EncodeField into integer refuses fractions, huge floats and other kinds") {
  CHECK(EncodeError(kIntCol, Value::Bool(true)) ==
        "column 'age' (integer) cannot take the boolean true");
  CHECK(EncodeError(kIntCol, Value::Bool(false)) ==
        "column 'age' (integer) cannot take the boolean false");
  CHECK(EncodeError(kIntCol, Value::Float(1.5)) ==
        "column 'age' (integer) cannot take the number 1.5");
  CHECK(EncodeError(kIntCol, Value::Float(9223372036854775808.0)) ==
        "column 'age' (integer) cannot take the number 9.223372036854776e+18");
  CHECK(EncodeError(kIntCol, Value::Float(-1e19)) ==
        "column 'age' (integer) cannot take the number -1e+19");
  CHECK(EncodeError(kIntCol, Value::Float(kNaN)) ==
        "column 'age' (integer) cannot take the number NaN");
  CHECK(EncodeError(kIntCol, Value::Float(kInf)) ==
        "column 'age' (integer) cannot take the number Infinity");
  CHECK(EncodeError(kIntCol, List({Value::Int(1)})) == "column 'age' (integer) cannot take a list");
}

TEST_CASE("EncodeField into float takes numbers and text") {
  CHECK(Encode(kFloatCol, Value::Float(0.1)) == RawField("0.1"));
  CHECK(Encode(kFloatCol, Value::Float(-kInf)) == RawField("-Infinity"));
  CHECK(Encode(kFloatCol, Value::Int(-7)) == RawField("-7"));
  CHECK(Encode(kFloatCol, Value::String("1e5")) == RawField("1e5"));
  CHECK(EncodeError(kFloatCol, Value::Bool(true)) ==
        "column 'score' (double precision) cannot take the boolean true");
  CHECK(EncodeError(kFloatCol, List({})) == "column 'score' (double precision) cannot take a list");
}

TEST_CASE("EncodeField into JSON passes text through and writes JSON literals") {
  CHECK(Encode(kJsonCol, Value::String(R"({"a": [1]})")) == RawField(R"({"a": [1]})"));
  CHECK(Encode(kJsonCol, Value::Int(-42)) == RawField("-42"));
  CHECK(Encode(kJsonCol, Value::Float(1.5)) == RawField("1.5"));
  CHECK(Encode(kJsonCol, Value::Float(1e308)) == RawField("1e+308"));
  CHECK(Encode(kJsonCol, Value::Bool(true)) == RawField("true"));
  CHECK(Encode(kJsonCol, Value::Bool(false)) == RawField("false"));
  CHECK(EncodeError(kJsonCol, Value::Float(kNaN)) ==
        "column 'doc' (jsonb) cannot take the number NaN");
  CHECK(EncodeError(kJsonCol, Value::Float(-kInf)) ==
        "column 'doc' (jsonb) cannot take the number -Infinity");
}

TEST_CASE("EncodeField into JSON writes a list as a JSON array with escaped strings") {
  CHECK(Encode(kJsonCol, List({})) == RawField("[]"));
  Value list = List({Value::Int(1), Value::Null(), Value::Bool(false), Value::Float(0.5),
                     Value::String("q\" b\\ \b\f\n\r\t \x01\x1f\x7f é🎉"),
                     List({Value::String("x"), List({})})});
  CHECK(Encode(kJsonCol, list) ==
        RawField("[1,null,false,0.5,\"q\\\" b\\\\ \\b\\f\\n\\r\\t \\u0001\\u001f\x7f é🎉\","
                 "[\"x\",[]]]"));
  CHECK(EncodeError(kJsonCol, List({Value::Int(1), List({Value::Float(kInf)})})) ==
        "column 'doc' (jsonb) cannot take the number Infinity");
}

TEST_CASE("EncodeField into bytea writes raw bytes as lower-case hex, all 256 values") {
  CHECK(Encode(kByteaCol, Value::String("")) == RawField("\\x"));
  CHECK(Encode(kByteaCol, Value::String(std::string("\0\xab\n", 3))) == RawField("\\x00ab0a"));
  std::string all;
  std::string hex = "\\x";
  for (int c = 0; c < 256; ++c) {
    all.push_back(static_cast<char>(c));
    hex += "0123456789abcdef"[c >> 4];
    hex += "0123456789abcdef"[c & 15];
  }
  CHECK(Encode(kByteaCol, Value::String(all)) == RawField(hex));
  CHECK(EncodeError(kByteaCol, Value::Int(1)) == "column 'blob' (bytea) cannot take the number 1");
  CHECK(EncodeError(kByteaCol, Value::Bool(true)) ==
        "column 'blob' (bytea) cannot take the boolean true");
  CHECK(EncodeError(kByteaCol, List({})) == "column 'blob' (bytea) cannot take a list");
}

TEST_CASE("EncodeField into an array formats elements by the element class") {
  CHECK(Encode(kIntsCol, List({})) == RawField("{}"));
  CHECK(Encode(kIntsCol, List({Value::Int(1), Value::Null(), Value::Float(3.0)})) ==
        RawField("{1,NULL,3}"));
  CHECK(Encode(kTextsCol, List({Value::String("a\"b"), Value::String("c\\d"), Value::String(""),
                                Value::String("NULL"), Value::Null(), Value::String("x y"),
                                Value::String("plain")})) ==
        RawField(R"({"a\"b","c\\d","","NULL",NULL,"x y",plain})"));
  CHECK(Encode(Col("flags", "boolean[]", TypeClass::kArray, TypeClass::kBool),
               List({Value::Bool(true), Value::Bool(false)})) == RawField("{t,f}"));
  CHECK(Encode(Col("xs", "double precision[]", TypeClass::kArray, TypeClass::kFloat),
               List({Value::Float(kNaN), Value::Float(-kInf), Value::Float(0.1)})) ==
        RawField("{NaN,-Infinity,0.1}"));
  CHECK(Encode(Col("blobs", "bytea[]", TypeClass::kArray, TypeClass::kBytea),
               List({Value::String("\x01\xff")})) == RawField(R"({"\\x01ff"})"));
  CHECK(Encode(Col("docs", "jsonb[]", TypeClass::kArray, TypeClass::kJson),
               List({List({Value::Int(1), Value::String("a")})})) == RawField(R"({"[1,\"a\"]"})"));
  CHECK(Encode(kIntsCol, Value::String("{{1,2},{3,4}}")) == RawField("{{1,2},{3,4}}"));
}

TEST_CASE("EncodeField into an array names the element it cannot take") {
  CHECK(EncodeError(kIntsCol, List({Value::Int(1), Value::Bool(true)})) ==
        "column 'ids' (integer[]) cannot take the boolean true in element 2");
  CHECK(EncodeError(kIntsCol, List({List({})})) ==
        "column 'ids' (integer[]) cannot take a list in element 1");
  CHECK(EncodeError(kIntsCol, Value::Int(5)) ==
        "column 'ids' (integer[]) cannot take the number 5");
  CHECK(EncodeError(kIntsCol, Value::Bool(false)) ==
        "column 'ids' (integer[]) cannot take the boolean false");
}

TEST_CASE("EncodeField names the class when the column has no type name") {
  CHECK(EncodeError(Col("i", "", TypeClass::kInt), Value::Bool(true)) ==
        "column 'i' (integer) cannot take the boolean true");
  CHECK(EncodeError(Col("b", "", TypeClass::kBool), Value::Int(2)) ==
        "column 'b' (boolean) cannot take the number 2");
  CHECK(EncodeError(Col("f", "", TypeClass::kFloat), List({})) ==
        "column 'f' (float) cannot take a list");
  CHECK(EncodeError(Col("j", "", TypeClass::kJson), Value::Float(kNaN)) ==
        "column 'j' (json) cannot take the number NaN");
  CHECK(EncodeError(Col("y", "", TypeClass::kBytea), Value::Int(0)) ==
        "column 'y' (bytea) cannot take the number 0");
  CHECK(EncodeError(Col("a", "", TypeClass::kArray, TypeClass::kInt), Value::Int(0)) ==
        "column 'a' (array) cannot take the number 0");
}

TEST_CASE("EncodeField quotes long or multi-line text briefly in errors") {
  CHECK(EncodeError(kBoolCol, Value::String(std::string(45, 'y'))) ==
        "column 'ok' (boolean) cannot take the text \"" + std::string(40, 'y') + "...\"");
  CHECK(EncodeError(kBoolCol, Value::String("a\nb")) ==
        "column 'ok' (boolean) cannot take the text \"a\\nb\"");
}

TEST_CASE("EncodeField replaces what a reused field held") {
  RawField out = std::string("a long previous value");
  REQUIRE(EncodeField(kIntCol, Value::Int(7), &out).ok());
  CHECK(out == RawField("7"));
}

TEST_CASE("DecodeField then EncodeField gives back PostgreSQL's text") {
  const std::pair<ColumnSpec, std::vector<std::string>> cases[] = {
      {kTextCol, {"", "a\tb\nc", "\\N", "é 漢字 🎉"}},
      {kBoolCol, {"t", "f"}},
      {kIntCol, {"0", "-1", "9223372036854775807", "-9223372036854775808"}},
      {kFloatCol,
       {"0.1", "-0", "1e+308", "5e-324", "NaN", "Infinity", "-Infinity", "1.2345678901234568e+17",
        "2.225073858507201e-308", "123.456"}},
      {kJsonCol, {R"({"a": {"b": [1, "x\"y"]}})", "null", "[]"}},
      {kByteaCol, {"\\x", "\\x00ff7f80"}},
      {kIntsCol, {"{}", "{1,NULL,-3}", "{{1,2},{3,4}}", "[0:1]={5,6}"}},
      {kTextsCol, {R"({a,"b c","",NULL,"NULL","q\"\\",é})"}},
      {Col("docs", "jsonb[]", TypeClass::kArray, TypeClass::kJson),
       {R"({"{\"a\": 1}",NULL,"[1, 2]"})"}},
      {Col("blobs", "bytea[]", TypeClass::kArray, TypeClass::kBytea), {R"({"\\x0102",NULL})"}},
  };
  for (const auto& [col, texts] : cases) {
    for (const std::string& text : texts) {
      INFO(col.name << ": " << text);
      Value v;
      REQUIRE(DecodeField(col, text, &v).ok());
      CHECK(Encode(col, v) == RawField(text));
    }
  }
}

}  // namespace
}  // namespace planrun
