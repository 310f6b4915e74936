// Value: one field of a row in the data-step pipeline, typed by its
// PostgreSQL column (see data/copy_text.h for the conversions). Lua hooks
// see these as Lua values (lua/hook.h). Plain data; copy freely.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace planrun {

/// How a PostgreSQL type travels through the pipeline and into Lua.
enum class TypeClass : uint8_t {
  kText,   // text, varchar, uuid, numeric, dates, times, intervals, enums...: a string
  kBool,   // boolean
  kInt,    // int2, int4, int8, oid: a Lua integer
  kFloat,  // float4, float8: a Lua float
  kJson,   // json, jsonb: the JSON text as a string
  kBytea,  // bytea: the raw bytes as a string
  kArray,  // a one-dimensional array of `element`
};

/// A column as the pipeline sees it.
struct ColumnSpec {
  std::string name;
  uint32_t type_oid = 25;  // PostgreSQL's type OID (25 = text)
  std::string type_name;   // format_type() text, for messages: "integer[]"
  TypeClass cls = TypeClass::kText;
  TypeClass element = TypeClass::kText;  // kArray only: the element class
};

/// The TypeClass of a built-in type OID (arrays: kArray with *element set);
/// unknown OIDs (domains, enums, user types) are kText.
TypeClass ClassifyType(uint32_t type_oid, TypeClass* element);

/// One typed field value.
struct Value {
  enum class Kind : uint8_t { kNull, kBool, kInt, kFloat, kString, kArray };
  Kind kind = Kind::kNull;
  bool b = false;
  int64_t i = 0;
  double f = 0;
  std::string s;             // kString: text, numeric, JSON text, raw bytea bytes...
  std::vector<Value> items;  // kArray: elements (kNull for NULL elements)

  static Value Null() { return Value(); }
  static Value Bool(bool v) {
    Value x;
    x.kind = Kind::kBool;
    x.b = v;
    return x;
  }
  static Value Int(int64_t v) {
    Value x;
    x.kind = Kind::kInt;
    x.i = v;
    return x;
  }
  static Value Float(double v) {
    Value x;
    x.kind = Kind::kFloat;
    x.f = v;
    return x;
  }
  static Value String(std::string v) {
    Value x;
    x.kind = Kind::kString;
    x.s = std::move(v);
    return x;
  }
  bool IsNull() const { return kind == Kind::kNull; }
  bool operator==(const Value& o) const;
  bool operator!=(const Value& o) const { return !(*this == o); }
};

}  // namespace planrun
