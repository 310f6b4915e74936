// EncodeField: typed Values to the raw text of a COPY field (the rules are
// in data/copy_text.h).
#include <algorithm>
#include <charconv>
#include <cmath>

#include "data/copy_text.h"
#include "data/field_errors.h"

namespace planrun {
namespace {

using Kind = Value::Kind;

/// Appends `i` in decimal.
void AppendInt(std::string* out, int64_t i) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, i);
  out->append(buf, r.ptr - buf);
}

/// Appends `f` as PostgreSQL's float8out writes it: the shortest digits that
/// read back exactly, in fixed notation for decimal exponents -4..14 and
/// scientific otherwise ("1e+15", "1.5e-05"), and NaN, Infinity, -Infinity.
void AppendFloat(std::string* out, double f) {
  if (std::isnan(f)) {
    out->append("NaN");
    return;
  }
  if (std::isinf(f)) {
    out->append(f > 0 ? "Infinity" : "-Infinity");
    return;
  }
  char buf[32];
  const char* end = std::to_chars(buf, buf + sizeof buf, f, std::chars_format::scientific).ptr;
  const char* e = std::find(static_cast<const char*>(buf), end, 'e');
  int exp = 0;
  std::from_chars(e + (e[1] == '+' ? 2 : 1), end, exp);
  if (exp < -4 || exp >= 15) {
    out->append(buf, end - buf);
    return;
  }
  const char* p = buf;
  if (*p == '-') out->push_back(*p++);
  char digits[20];  // at most 17 significant digits
  int n = 0;
  for (; p != e; ++p) {
    if (*p != '.') digits[n++] = *p;
  }
  if (exp < 0) {
    out->append("0.");
    out->append(-exp - 1, '0');
    out->append(digits, n);
  } else if (n <= exp + 1) {
    out->append(digits, n);
    out->append(exp + 1 - n, '0');
  } else {
    out->append(digits, exp + 1);
    out->push_back('.');
    out->append(digits + exp + 1, n - exp - 1);
  }
}

/// What a value is, for "cannot take <what>" messages.
std::string Describe(const Value& v) {
  switch (v.kind) {
    case Kind::kNull:
      return "NULL";
    case Kind::kBool:
      return v.b ? "the boolean true" : "the boolean false";
    case Kind::kInt:
      return "the number " + std::to_string(v.i);
    case Kind::kFloat: {
      std::string s = "the number ";
      AppendFloat(&s, v.f);
      return s;
    }
    case Kind::kString:
      return "the text " + QuoteSample(v.s);
    case Kind::kArray:
      break;
  }
  return "a list";
}

/// Appends `s` as a JSON string.
void AppendJsonString(std::string* out, std::string_view s) {
  out->push_back('"');
  for (char c : s) {
    unsigned char u = static_cast<unsigned char>(c);
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\b':
        out->append("\\b");
        break;
      case '\f':
        out->append("\\f");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      default:
        if (u < 0x20) {
          out->append("\\u00");
          out->push_back(kHexDigits[u >> 4]);
          out->push_back(kHexDigits[u & 0xf]);
        } else {
          out->push_back(c);
        }
    }
  }
  out->push_back('"');
}

/// Appends `v` as JSON (strings as JSON strings, lists as arrays); fails on
/// NaN and infinities, which JSON cannot spell.
bool AppendJson(const Value& v, std::string* out, std::string* why) {
  switch (v.kind) {
    case Kind::kNull:
      out->append("null");
      return true;
    case Kind::kBool:
      out->append(v.b ? "true" : "false");
      return true;
    case Kind::kInt:
      AppendInt(out, v.i);
      return true;
    case Kind::kFloat:
      if (!std::isfinite(v.f)) break;
      AppendFloat(out, v.f);
      return true;
    case Kind::kString:
      AppendJsonString(out, v.s);
      return true;
    case Kind::kArray:
      out->push_back('[');
      for (size_t k = 0; k < v.items.size(); ++k) {
        if (k > 0) out->push_back(',');
        if (!AppendJson(v.items[k], out, why)) return false;
      }
      out->push_back(']');
      return true;
  }
  *why = "cannot take " + Describe(v);
  return false;
}

bool EncodeText(TypeClass cls, TypeClass element, const Value& v, std::string* out,
                std::string* why);

/// Appends the list `v` as an array literal of `element` texts.
bool AppendArray(TypeClass element, const Value& v, std::string* out, std::string* why) {
  std::vector<RawField> texts(v.items.size());
  for (size_t k = 0; k < v.items.size(); ++k) {
    if (v.items[k].IsNull()) continue;
    if (!EncodeText(element, TypeClass::kText, v.items[k], &texts[k].emplace(), why)) {
      *why += " in element " + std::to_string(k + 1);
      return false;
    }
  }
  out->append(FormatArrayLiteral(texts));
  return true;
}

/// True when a kString goes into a `cls` column as it is (PostgreSQL checks
/// it): everywhere but bytea (raw bytes) and boolean (only its spellings).
bool TakesTextAsIs(TypeClass cls, const std::string& s) {
  if (cls == TypeClass::kBytea) return false;
  return cls != TypeClass::kBool || s == "t" || s == "f" || s == "true" || s == "false";
}

/// Appends the non-NULL `v` as text for a column of class `cls`; on failure
/// sets *why to "cannot take <what>".
bool EncodeText(TypeClass cls, TypeClass element, const Value& v, std::string* out,
                std::string* why) {
  if (v.kind == Kind::kString && TakesTextAsIs(cls, v.s)) {
    out->append(v.s);
    return true;
  }
  switch (cls) {
    case TypeClass::kText:
      if (v.kind == Kind::kArray) return AppendArray(TypeClass::kText, v, out, why);
      if (v.kind == Kind::kInt) AppendInt(out, v.i);
      if (v.kind == Kind::kFloat) AppendFloat(out, v.f);
      if (v.kind == Kind::kBool) out->append(v.b ? "true" : "false");
      return true;
    case TypeClass::kBool:
      if (v.kind != Kind::kBool) break;
      out->push_back(v.b ? 't' : 'f');
      return true;
    case TypeClass::kInt:
      if (v.kind == Kind::kInt) {
        AppendInt(out, v.i);
        return true;
      }
      // 2^63 is exact as a double; the bounds are [-2^63, 2^63).
      if (v.kind != Kind::kFloat || std::trunc(v.f) != v.f || v.f < -9223372036854775808.0 ||
          v.f >= 9223372036854775808.0) {
        break;
      }
      AppendInt(out, static_cast<int64_t>(v.f));
      return true;
    case TypeClass::kFloat:
      if (v.kind == Kind::kFloat) {
        AppendFloat(out, v.f);
        return true;
      }
      if (v.kind != Kind::kInt) break;
      AppendInt(out, v.i);
      return true;
    case TypeClass::kJson:
      return AppendJson(v, out, why);
    case TypeClass::kBytea:
      if (v.kind != Kind::kString) break;
      out->reserve(out->size() + 2 + 2 * v.s.size());
      out->append("\\x");
      for (char c : v.s) {
        out->push_back(kHexDigits[static_cast<unsigned char>(c) >> 4]);
        out->push_back(kHexDigits[c & 0xf]);
      }
      return true;
    case TypeClass::kArray:
      if (v.kind != Kind::kArray) break;
      return AppendArray(element, v, out, why);
  }
  *why = "cannot take " + Describe(v);
  return false;
}

}  // namespace

Status EncodeField(const ColumnSpec& col, const Value& v, RawField* out) {
  if (v.IsNull()) {
    out->reset();
    return Status::OK();
  }
  std::string& text = *out ? **out : out->emplace();
  text.clear();
  std::string why;
  if (EncodeText(col.cls, col.element, v, &text, &why)) return Status::OK();
  out->reset();
  return ColumnError(col, why);
}

}  // namespace planrun
