// Shared by the data/ unit tests: Catch2 printers that show raw fields and
// Values readably (NULL, kinds, escaped bytes), and builders for columns and
// lists.
#pragma once

#include <catch2/catch.hpp>
#include <optional>
#include <string>
#include <vector>

#include "data/value.h"

namespace Catch {

/// Prints a raw field: NULL or the quoted text.
template <>
struct StringMaker<std::optional<std::string>> {
  static std::string convert(const std::optional<std::string>& v) {
    return v ? StringMaker<std::string>::convert(*v) : "NULL";
  }
};

/// Prints a Value with its kind: Int(3), String("a"), [Int(1), NULL].
template <>
struct StringMaker<planrun::Value> {
  static std::string convert(const planrun::Value& v) {
    using Kind = planrun::Value::Kind;
    switch (v.kind) {
      case Kind::kNull:
        return "NULL";
      case Kind::kBool:
        return v.b ? "Bool(true)" : "Bool(false)";
      case Kind::kInt:
        return "Int(" + std::to_string(v.i) + ")";
      case Kind::kFloat:
        return "Float(" + StringMaker<double>::convert(v.f) + ")";
      case Kind::kString:
        return "String(" + StringMaker<std::string>::convert(v.s) + ")";
      case Kind::kArray:
        break;
    }
    std::string out = "[";
    for (size_t k = 0; k < v.items.size(); ++k) out += (k ? ", " : "") + convert(v.items[k]);
    return out + "]";
  }
};

}  // namespace Catch

namespace planrun {
namespace testing {

/// A column named `name` of class `cls` (`element` for arrays).
inline ColumnSpec Col(std::string name, std::string type_name, TypeClass cls,
                      TypeClass element = TypeClass::kText) {
  ColumnSpec c;
  c.name = std::move(name);
  c.type_name = std::move(type_name);
  c.cls = cls;
  c.element = element;
  return c;
}

/// A list Value holding `items`.
inline Value List(std::vector<Value> items) {
  Value v;
  v.kind = Value::Kind::kArray;
  v.items = std::move(items);
  return v;
}

/// Columns of each class, as the tests name them in expected messages.
namespace columns {
inline const ColumnSpec kTextCol = Col("note", "text", TypeClass::kText);
inline const ColumnSpec kBoolCol = Col("ok", "boolean", TypeClass::kBool);
inline const ColumnSpec kIntCol = Col("age", "integer", TypeClass::kInt);
inline const ColumnSpec kFloatCol = Col("score", "double precision", TypeClass::kFloat);
inline const ColumnSpec kJsonCol = Col("doc", "jsonb", TypeClass::kJson);
inline const ColumnSpec kByteaCol = Col("blob", "bytea", TypeClass::kBytea);
inline const ColumnSpec kIntsCol = Col("ids", "integer[]", TypeClass::kArray, TypeClass::kInt);
inline const ColumnSpec kTextsCol = Col("tags", "text[]", TypeClass::kArray, TypeClass::kText);
}  // namespace columns

}  // namespace testing
}  // namespace planrun
