#include "plan/names.h"

#include "util/sql.h"

namespace planrun {

namespace {
/// Longest identifier PostgreSQL keeps whole (NAMEDATALEN - 1).
constexpr size_t kMaxIdentifierBytes = 63;

bool IsIdentStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
}  // namespace

bool IsPlainIdentifier(std::string_view name) {
  if (name.empty() || name.size() > kMaxIdentifierBytes || !IsIdentStart(name[0])) return false;
  for (char c : name) {
    if (!IsIdentStart(c) && !(c >= '0' && c <= '9') && c != '$') return false;
  }
  return true;
}

std::string TableName::Display() const { return schema.empty() ? name : schema + "." + name; }

std::string TableName::Quoted() const {
  return schema.empty() ? QuoteIdent(name) : QuoteIdent(schema) + "." + QuoteIdent(name);
}

std::string TableName::Key() const { return (schema.empty() ? "public" : schema) + "." + name; }

bool ParseTableName(std::string_view text, TableName* out) {
  size_t dot = text.find('.');
  std::string_view schema = dot == std::string_view::npos ? "" : text.substr(0, dot);
  std::string_view name = dot == std::string_view::npos ? text : text.substr(dot + 1);
  if (dot != std::string_view::npos && !IsPlainIdentifier(schema)) return false;
  if (!IsPlainIdentifier(name)) return false;
  out->schema = std::string(schema);
  out->name = std::string(name);
  return true;
}

}  // namespace planrun
