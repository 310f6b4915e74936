#include "data/value.h"

namespace planrun {

bool Value::operator==(const Value& o) const {
  if (kind != o.kind) return false;
  switch (kind) {
    case Kind::kNull:
      return true;
    case Kind::kBool:
      return b == o.b;
    case Kind::kInt:
      return i == o.i;
    case Kind::kFloat:
      return f == o.f || (f != f && o.f != o.f);
    case Kind::kString:
      return s == o.s;
    case Kind::kArray:
      return items == o.items;
  }
  return false;
}

TypeClass ClassifyType(uint32_t type_oid, TypeClass* element) {
  switch (type_oid) {
    case 16:  // bool
      return TypeClass::kBool;
    case 20:  // int8
    case 21:  // int2
    case 23:  // int4
    case 26:  // oid
      return TypeClass::kInt;
    case 700:  // float4
    case 701:  // float8
      return TypeClass::kFloat;
    case 114:   // json
    case 3802:  // jsonb
      return TypeClass::kJson;
    case 17:  // bytea
      return TypeClass::kBytea;
  }
  // Array types of the built-in element types above, and text-like ones.
  static const struct {
    uint32_t array_oid;
    TypeClass element;
  } kArrays[] = {
      {1000, TypeClass::kBool},  {1016, TypeClass::kInt},  {1005, TypeClass::kInt},
      {1007, TypeClass::kInt},   {1028, TypeClass::kInt},  {1021, TypeClass::kFloat},
      {1022, TypeClass::kFloat}, {199, TypeClass::kJson},  {3807, TypeClass::kJson},
      {1001, TypeClass::kBytea}, {1009, TypeClass::kText}, {1015, TypeClass::kText},
      {2951, TypeClass::kText},  {1231, TypeClass::kText}, {1182, TypeClass::kText},
      {1115, TypeClass::kText},  {1185, TypeClass::kText}, {1014, TypeClass::kText},
  };
  for (const auto& a : kArrays) {
    if (a.array_oid == type_oid) {
      if (element) *element = a.element;
      return TypeClass::kArray;
    }
  }
  return TypeClass::kText;
}

}  // namespace planrun
