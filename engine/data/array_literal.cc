// Array literals as PostgreSQL's array_in reads them and array_out writes
// them, for one-dimensional arrays with the comma delimiter. Declared in
// data/copy_text.h.
#include "data/copy_text.h"

namespace planrun {
namespace {

/// PostgreSQL's array_isspace: the white space array_in skips.
bool IsArraySpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/// Moves *p past white space.
void SkipSpace(const char** p, const char* end) {
  while (*p != end && IsArraySpace(**p)) ++*p;
}

/// True when `s` is NULL in any letter case.
bool IsNullWord(std::string_view s) {
  if (s.size() != 4) return false;
  const char* kNull = "NULL";
  for (size_t k = 0; k < 4; ++k) {
    if ((s[k] & ~0x20) != kNull[k]) return false;
  }
  return true;
}

/// Reads a double-quoted element at *p (on its opening quote) into *out.
bool ReadQuoted(const char** p, const char* end, std::string* out) {
  for (++*p; *p != end; ++*p) {
    char c = **p;
    if (c == '"') {
      ++*p;
      return true;
    }
    if (c == '\\' && ++*p == end) return false;
    out->push_back(**p);
  }
  return false;
}

/// Reads an unquoted element at *p up to the next ',' or '}' into *out,
/// without trailing unescaped white space; *escaped tells whether it used a
/// backslash (which makes "NULL" plain text).
bool ReadUnquoted(const char** p, const char* end, std::string* out, bool* escaped) {
  size_t keep = 0;
  for (; *p != end && **p != ',' && **p != '}'; ++*p) {
    char c = **p;
    if (c == '{' || c == '"') return false;
    if (c == '\\') {
      if (++*p == end) return false;
      *escaped = true;
      out->push_back(**p);
      keep = out->size();
      continue;
    }
    out->push_back(c);
    if (!IsArraySpace(c)) keep = out->size();
  }
  out->resize(keep);
  return !out->empty();
}

/// True when array_out would quote `s`.
bool NeedsQuotes(std::string_view s) {
  if (s.empty() || IsNullWord(s)) return true;
  for (char c : s) {
    if (c == '{' || c == '}' || c == '"' || c == ',' || c == '\\' || IsArraySpace(c)) return true;
  }
  return false;
}

}  // namespace

bool ParseArrayLiteral(std::string_view text, std::vector<RawField>* elements) {
  elements->clear();
  const char* p = text.data();
  const char* end = p + text.size();
  SkipSpace(&p, end);
  if (p == end || *p != '{') return false;
  ++p;
  SkipSpace(&p, end);
  if (p != end && *p == '}') {
    ++p;
  } else {
    for (;;) {
      std::string element;
      if (p != end && *p == '"') {
        if (!ReadQuoted(&p, end, &element)) return false;
        elements->emplace_back(std::move(element));
      } else {
        bool escaped = false;
        if (!ReadUnquoted(&p, end, &element, &escaped)) return false;
        if (!escaped && IsNullWord(element)) {
          elements->emplace_back();
        } else {
          elements->emplace_back(std::move(element));
        }
      }
      SkipSpace(&p, end);
      if (p == end) return false;
      char c = *p++;
      if (c == '}') break;
      if (c != ',') return false;
      SkipSpace(&p, end);
    }
  }
  SkipSpace(&p, end);
  return p == end;
}

std::string FormatArrayLiteral(const std::vector<RawField>& elements) {
  size_t size = 2;
  for (const RawField& e : elements) size += e ? e->size() + 3 : 5;
  std::string out;
  out.reserve(size);
  out.push_back('{');
  for (size_t k = 0; k < elements.size(); ++k) {
    if (k > 0) out.push_back(',');
    const RawField& e = elements[k];
    if (!e) {
      out.append("NULL");
    } else if (!NeedsQuotes(*e)) {
      out.append(*e);
    } else {
      out.push_back('"');
      for (char c : *e) {
        if (c == '"' || c == '\\') out.push_back('\\');
        out.push_back(c);
      }
      out.push_back('"');
    }
  }
  out.push_back('}');
  return out;
}

}  // namespace planrun
