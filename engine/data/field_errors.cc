#include "data/field_errors.h"

namespace planrun {
namespace {

/// The class's name, for messages about columns with no type name.
const char* ClassName(TypeClass cls) {
  switch (cls) {
    case TypeClass::kText:
      return "text";
    case TypeClass::kBool:
      return "boolean";
    case TypeClass::kInt:
      return "integer";
    case TypeClass::kFloat:
      return "float";
    case TypeClass::kJson:
      return "json";
    case TypeClass::kBytea:
      return "bytea";
    case TypeClass::kArray:
      break;
  }
  return "array";
}

}  // namespace

std::string QuoteSample(std::string_view text) {
  constexpr size_t kMax = 40;
  size_t cut = text.size();
  if (cut > kMax) {
    cut = kMax;
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  }
  std::string out = "\"";
  for (char c : text.substr(0, cut)) {
    unsigned char u = static_cast<unsigned char>(c);
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\r') {
      out += "\\r";
    } else if (u < 0x20 || u == 0x7f) {
      out += "\\x";
      out += kHexDigits[u >> 4];
      out += kHexDigits[u & 0xf];
    } else {
      out += c;
    }
  }
  if (cut < text.size()) out += "...";
  out += '"';
  return out;
}

Status ColumnError(const ColumnSpec& col, const std::string& why) {
  return Status::Failed("column '" + col.name + "' (" +
                        (col.type_name.empty() ? ClassName(col.cls) : col.type_name) + ") " + why);
}

}  // namespace planrun
