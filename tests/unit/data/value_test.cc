#include "data/value.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <limits>

namespace planrun {
namespace {

/// ClassifyType's class and element for `oid`; the element starts as kBool
/// so a non-array OID can be seen to leave it alone.
std::pair<TypeClass, TypeClass> Classify(uint32_t oid) {
  TypeClass element = TypeClass::kBool;
  TypeClass cls = ClassifyType(oid, &element);
  return {cls, element};
}

TEST_CASE("ClassifyType maps each built-in scalar OID to its class") {
  using P = std::pair<TypeClass, TypeClass>;
  const TypeClass kUntouched = TypeClass::kBool;
  CHECK(Classify(16) == P{TypeClass::kBool, kUntouched});
  CHECK(Classify(20) == P{TypeClass::kInt, kUntouched});
  CHECK(Classify(21) == P{TypeClass::kInt, kUntouched});
  CHECK(Classify(23) == P{TypeClass::kInt, kUntouched});
  CHECK(Classify(26) == P{TypeClass::kInt, kUntouched});
  CHECK(Classify(700) == P{TypeClass::kFloat, kUntouched});
  CHECK(Classify(701) == P{TypeClass::kFloat, kUntouched});
  CHECK(Classify(114) == P{TypeClass::kJson, kUntouched});
  CHECK(Classify(3802) == P{TypeClass::kJson, kUntouched});
  CHECK(Classify(17) == P{TypeClass::kBytea, kUntouched});
}

TEST_CASE("ClassifyType maps each built-in array OID to kArray of its element class") {
  using P = std::pair<TypeClass, TypeClass>;
  CHECK(Classify(1000) == P{TypeClass::kArray, TypeClass::kBool});   // bool[]
  CHECK(Classify(1016) == P{TypeClass::kArray, TypeClass::kInt});    // int8[]
  CHECK(Classify(1005) == P{TypeClass::kArray, TypeClass::kInt});    // int2[]
  CHECK(Classify(1007) == P{TypeClass::kArray, TypeClass::kInt});    // int4[]
  CHECK(Classify(1028) == P{TypeClass::kArray, TypeClass::kInt});    // oid[]
  CHECK(Classify(1021) == P{TypeClass::kArray, TypeClass::kFloat});  // float4[]
  CHECK(Classify(1022) == P{TypeClass::kArray, TypeClass::kFloat});  // float8[]
  CHECK(Classify(199) == P{TypeClass::kArray, TypeClass::kJson});    // json[]
  CHECK(Classify(3807) == P{TypeClass::kArray, TypeClass::kJson});   // jsonb[]
  CHECK(Classify(1001) == P{TypeClass::kArray, TypeClass::kBytea});  // bytea[]
  CHECK(Classify(1009) == P{TypeClass::kArray, TypeClass::kText});   // text[]
  CHECK(Classify(1015) == P{TypeClass::kArray, TypeClass::kText});   // varchar[]
  CHECK(Classify(2951) == P{TypeClass::kArray, TypeClass::kText});   // uuid[]
  CHECK(Classify(1231) == P{TypeClass::kArray, TypeClass::kText});   // numeric[]
  CHECK(Classify(1182) == P{TypeClass::kArray, TypeClass::kText});   // date[]
  CHECK(Classify(1115) == P{TypeClass::kArray, TypeClass::kText});   // timestamp[]
  CHECK(Classify(1185) == P{TypeClass::kArray, TypeClass::kText});   // timestamptz[]
  CHECK(Classify(1014) == P{TypeClass::kArray, TypeClass::kText});   // bpchar[]
}

TEST_CASE("ClassifyType treats text-like and unknown OIDs as kText") {
  using P = std::pair<TypeClass, TypeClass>;
  const TypeClass kUntouched = TypeClass::kBool;
  CHECK(Classify(25) == P{TypeClass::kText, kUntouched});     // text
  CHECK(Classify(1043) == P{TypeClass::kText, kUntouched});   // varchar
  CHECK(Classify(1700) == P{TypeClass::kText, kUntouched});   // numeric
  CHECK(Classify(1184) == P{TypeClass::kText, kUntouched});   // timestamptz
  CHECK(Classify(2950) == P{TypeClass::kText, kUntouched});   // uuid
  CHECK(Classify(0) == P{TypeClass::kText, kUntouched});      // no type
  CHECK(Classify(16384) == P{TypeClass::kText, kUntouched});  // a user type
}

TEST_CASE("ClassifyType accepts a null element pointer") {
  CHECK(ClassifyType(1007, nullptr) == TypeClass::kArray);
  CHECK(ClassifyType(23, nullptr) == TypeClass::kInt);
}

TEST_CASE("Value equality compares the kind and the field of that kind") {
  CHECK(Value::Null() == Value());
  CHECK(Value::Bool(true) == Value::Bool(true));
  CHECK(Value::Bool(true) != Value::Bool(false));
  CHECK(Value::Int(7) == Value::Int(7));
  CHECK(Value::Int(7) != Value::Int(8));
  CHECK(Value::Float(1.5) == Value::Float(1.5));
  CHECK(Value::Float(1.5) != Value::Float(2.5));
  CHECK(Value::Float(0.0) == Value::Float(-0.0));
  CHECK(Value::String("a") == Value::String("a"));
  CHECK(Value::String("a") != Value::String("b"));
  CHECK(Value::String("") != Value::Null());
  CHECK(Value::Int(1) != Value::Float(1.0));
  CHECK(Value::Int(0) != Value::Bool(false));
  CHECK(Value::String("1") != Value::Int(1));
}

TEST_CASE("Value equality treats NaN as equal to NaN") {
  double nan = std::numeric_limits<double>::quiet_NaN();
  CHECK(Value::Float(nan) == Value::Float(nan));
  CHECK(Value::Float(nan) != Value::Float(0));
  CHECK(Value::Float(0) != Value::Float(nan));
  CHECK(Value::Float(INFINITY) == Value::Float(INFINITY));
  CHECK(Value::Float(INFINITY) != Value::Float(-INFINITY));
}

TEST_CASE("Value equality compares list elements in order") {
  Value a;
  a.kind = Value::Kind::kArray;
  a.items = {Value::Int(1), Value::Null(), Value::String("x")};
  Value b = a;
  CHECK(a == b);
  b.items[1] = Value::Int(0);
  CHECK(a != b);
  b = a;
  b.items.pop_back();
  CHECK(a != b);
  Value empty;
  empty.kind = Value::Kind::kArray;
  CHECK(empty != Value::Null());
  CHECK(empty == Value(empty));
}

TEST_CASE("Value equality ignores fields of other kinds") {
  Value a = Value::Int(3);
  Value b = Value::Int(3);
  b.s = "left over";
  b.f = 9;
  CHECK(a == b);
  Value n;
  n.i = 5;
  CHECK(n == Value::Null());
}

}  // namespace
}  // namespace planrun
