#include "util/sql.h"

namespace planrun {

namespace {
std::string Quote(std::string_view s, char q) {
  std::string out;
  out.reserve(s.size() + 2);
  out.push_back(q);
  for (char c : s) {
    if (c == q) out.push_back(q);
    out.push_back(c);
  }
  out.push_back(q);
  return out;
}
}  // namespace

std::string QuoteIdent(std::string_view name) { return Quote(name, '"'); }

std::string QuoteLiteral(std::string_view value) { return Quote(value, '\''); }

std::string QuoteIdentList(const std::vector<std::string>& names) {
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) {
    if (i) out += ", ";
    out += QuoteIdent(names[i]);
  }
  return out;
}

std::string QualifiedIdentList(const std::string& alias, const std::vector<std::string>& names) {
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) {
    if (i) out += ", ";
    out += alias + "." + QuoteIdent(names[i]);
  }
  return out;
}

}  // namespace planrun
