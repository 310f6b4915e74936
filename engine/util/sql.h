// Quoting for SQL text that planrun builds. Every identifier and every value
// that comes from a plan reaches SQL through these functions, never by plain
// concatenation. Assumes standard_conforming_strings = on (PostgreSQL's
// default since 9.1; planrun sets it on every session).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace planrun {

/// "name" with embedded double quotes doubled.
std::string QuoteIdent(std::string_view name);

/// 'value' with embedded single quotes doubled. Rejects nothing: the plan
/// reader refuses NUL bytes, and PostgreSQL text cannot hold them.
std::string QuoteLiteral(std::string_view value);

/// Comma-separated QuoteIdent of each name.
std::string QuoteIdentList(const std::vector<std::string>& names);

/// Comma-separated QuoteIdent of each name, qualified by `alias`:
/// t."a", t."b". `alias` is SQL text (a bare alias or a quoted name).
std::string QualifiedIdentList(const std::string& alias, const std::vector<std::string>& names);

}  // namespace planrun
