// COPY text lines (ParseCopyLine, AppendCopyField, AppendCopyRow) and
// DecodeField; EncodeField is in encode_field.cc, array literals in
// array_literal.cc.
#include "data/copy_text.h"

#include <array>
#include <charconv>
#include <limits>

#include "data/field_errors.h"

namespace planrun {
namespace {

using Kind = Value::Kind;

/// The letter COPY writes after a backslash for each byte it escapes; 0 for
/// bytes written as they are.
constexpr std::array<char, 256> kCopyEscapes = [] {
  std::array<char, 256> t{};
  t['\\'] = '\\';
  t['\n'] = 'n';
  t['\r'] = 'r';
  t['\t'] = 't';
  t['\b'] = 'b';
  t['\f'] = 'f';
  t['\v'] = 'v';
  return t;
}();

/// The value of hex digit `c`, or -1.
int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/// Unescapes one COPY field from *pos up to the next tab or `end` into *out,
/// leaving *pos on that tab or `end`. False on a backslash that ends the line.
bool UnescapeField(const char** pos, const char* end, std::string* out) {
  const char* p = *pos;
  for (;;) {
    const char* run = p;
    while (p != end && *p != '\t' && *p != '\\') ++p;
    out->append(run, p - run);
    if (p == end || *p == '\t') break;
    if (++p == end) return false;
    char c = *p++;
    switch (c) {
      case 'b':
        c = '\b';
        break;
      case 'f':
        c = '\f';
        break;
      case 'n':
        c = '\n';
        break;
      case 'r':
        c = '\r';
        break;
      case 't':
        c = '\t';
        break;
      case 'v':
        c = '\v';
        break;
      case 'x':  // \x with one or two hex digits; a bare \x is "x"
        if (p != end && HexValue(*p) >= 0) {
          int v = HexValue(*p++);
          if (p != end && HexValue(*p) >= 0) v = v * 16 + HexValue(*p++);
          c = static_cast<char>(v);
        }
        break;
      default:  // \digits: one to three octal digits; any other \c is c
        if (c >= '0' && c <= '7') {
          int v = c - '0';
          for (int k = 0; k < 2 && p != end && *p >= '0' && *p <= '7'; ++k)
            v = v * 8 + (*p++ - '0');
          c = static_cast<char>(v & 0xff);
        }
        break;
    }
    out->push_back(c);
  }
  *pos = p;
  return true;
}

/// The `n`th field slot of a row, reusing what the previous row left there.
/// REQUIRES: n <= fields->size().
RawField& Slot(std::vector<RawField>* fields, size_t n) {
  if (n == fields->size()) fields->emplace_back();
  return (*fields)[n];
}

/// Makes *v an empty value of `kind`, keeping its buffers for reuse.
void Reset(Value* v, Kind kind) {
  v->kind = kind;
  v->b = false;
  v->i = 0;
  v->f = 0;
  v->s.clear();
  v->items.clear();
}

/// True for a one-dimensional array literal decorated with bounds
/// ("[0:1]={1,2}") or a multi-dimensional one ("{{1,2},{3,4}}").
bool IsDecoratedOrNestedArray(std::string_view text) {
  size_t p = text.find_first_not_of(" \t\n\r\v\f");
  if (p == std::string_view::npos) return false;
  if (text[p] == '[') return true;
  if (text[p] != '{') return false;
  p = text.find_first_not_of(" \t\n\r\v\f", p + 1);
  return p != std::string_view::npos && text[p] == '{';
}

bool DecodeText(TypeClass cls, TypeClass element, std::string_view text, Value* out,
                std::string* why);

/// Decodes hex-format bytea ("\x0a0b") into raw bytes.
bool DecodeBytea(std::string_view text, Value* out, std::string* why) {
  Reset(out, Kind::kString);
  if (text.size() < 2 || text[0] != '\\' || text[1] != 'x') {
    *why = "cannot read " + QuoteSample(text) +
           " as bytea: expected the hex format \\x... (bytea_output = 'hex')";
    return false;
  }
  if (text.size() % 2 != 0) {
    *why = "cannot read " + QuoteSample(text) + " as bytea: odd number of hex digits";
    return false;
  }
  out->s.resize((text.size() - 2) / 2);
  for (size_t k = 2, o = 0; k < text.size(); k += 2, ++o) {
    int hi = HexValue(text[k]), lo = HexValue(text[k + 1]);
    if (hi < 0 || lo < 0) {
      *why = "cannot read " + QuoteSample(text) + " as bytea: invalid hex digit";
      return false;
    }
    out->s[o] = static_cast<char>(hi * 16 + lo);
  }
  return true;
}

/// Decodes an array literal whose elements are of class `element`;
/// multi-dimensional and bounds-decorated literals stay text.
bool DecodeArray(TypeClass element, std::string_view text, Value* out, std::string* why) {
  std::vector<RawField> elements;
  if (!ParseArrayLiteral(text, &elements)) {
    if (!IsDecoratedOrNestedArray(text)) {
      *why = "cannot read " + QuoteSample(text) + " as an array";
      return false;
    }
    Reset(out, Kind::kString);
    out->s.assign(text);
    return true;
  }
  Reset(out, Kind::kArray);
  out->items.resize(elements.size());
  for (size_t k = 0; k < elements.size(); ++k) {
    RawField& e = elements[k];
    if (!e) continue;
    if (element == TypeClass::kText || element == TypeClass::kJson) {
      out->items[k] = Value::String(std::move(*e));
    } else if (!DecodeText(element, TypeClass::kText, *e, &out->items[k], why)) {
      *why += " in element " + std::to_string(k + 1);
      return false;
    }
  }
  return true;
}

/// Decodes the non-NULL field `text` of class `cls`; on failure sets *why.
bool DecodeText(TypeClass cls, TypeClass element, std::string_view text, Value* out,
                std::string* why) {
  const char* end = text.data() + text.size();
  switch (cls) {
    case TypeClass::kText:
    case TypeClass::kJson:
      Reset(out, Kind::kString);
      out->s.assign(text);
      return true;
    case TypeClass::kBool:
      Reset(out, Kind::kBool);
      if (text == "t" || text == "true") {
        out->b = true;
        return true;
      }
      if (text == "f" || text == "false") return true;
      *why = "cannot read " + QuoteSample(text) + " as a boolean";
      return false;
    case TypeClass::kInt: {
      Reset(out, Kind::kInt);
      auto [ptr, ec] = std::from_chars(text.data(), end, out->i);
      if (ec == std::errc() && ptr == end) return true;
      *why = "cannot read " + QuoteSample(text) + " as an integer";
      return false;
    }
    case TypeClass::kFloat: {
      Reset(out, Kind::kFloat);
      if (text == "NaN") {
        out->f = std::numeric_limits<double>::quiet_NaN();
      } else if (text == "Infinity" || text == "-Infinity") {
        out->f = std::numeric_limits<double>::infinity();
        if (text[0] == '-') out->f = -out->f;
      } else {
        auto [ptr, ec] = std::from_chars(text.data(), end, out->f);
        if (ec != std::errc() || ptr != end) {
          *why = "cannot read " + QuoteSample(text) + " as a number";
          return false;
        }
      }
      return true;
    }
    case TypeClass::kBytea:
      return DecodeBytea(text, out, why);
    case TypeClass::kArray:
      break;
  }
  return DecodeArray(element, text, out, why);
}

}  // namespace

bool ParseCopyLine(std::string_view line, std::vector<RawField>* fields) {
  const char* p = line.data();
  const char* end = p + line.size();
  size_t n = 0;
  for (;;) {
    RawField& field = Slot(fields, n++);
    if (end - p >= 2 && p[0] == '\\' && p[1] == 'N' && (end - p == 2 || p[2] == '\t')) {
      field.reset();
      p += 2;
    } else {
      std::string& text = field ? *field : field.emplace();
      text.clear();
      if (!UnescapeField(&p, end, &text)) return false;
    }
    if (p == end) break;
    ++p;  // the tab
  }
  fields->resize(n);
  return true;
}

void AppendCopyField(std::string* out, std::string_view raw) {
  const char* p = raw.data();
  const char* end = p + raw.size();
  while (p != end) {
    const char* run = p;
    while (p != end && kCopyEscapes[static_cast<unsigned char>(*p)] == 0) ++p;
    out->append(run, p - run);
    if (p == end) break;
    const char escape[2] = {'\\', kCopyEscapes[static_cast<unsigned char>(*p++)]};
    out->append(escape, 2);
  }
}

void AppendCopyRow(std::string* out, const std::vector<RawField>& fields) {
  for (size_t k = 0; k < fields.size(); ++k) {
    if (k > 0) out->push_back('\t');
    if (fields[k]) {
      AppendCopyField(out, *fields[k]);
    } else {
      out->append("\\N");
    }
  }
  out->push_back('\n');
}

Status DecodeField(const ColumnSpec& col, const RawField& field, Value* out) {
  if (!field) {
    Reset(out, Kind::kNull);
    return Status::OK();
  }
  std::string why;
  if (DecodeText(col.cls, col.element, *field, out, &why)) return Status::OK();
  return ColumnError(col, why);
}

}  // namespace planrun
