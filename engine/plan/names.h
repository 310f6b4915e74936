// Names that plans use for database objects. planrun accepts only plain
// identifiers (letters, digits, _ and $, starting with a letter or _, at most
// 63 bytes) and always quotes them in SQL, so no plan value can change the
// shape of a statement.
#pragma once

#include <string>
#include <string_view>

namespace planrun {

/// True when `name` is a plain identifier as described above.
bool IsPlainIdentifier(std::string_view name);

/// A table as a plan names it: "users" or "auth.users".
struct TableName {
  std::string schema;  // empty: resolved through search_path
  std::string name;

  /// As the user wrote it: "auth.users".
  std::string Display() const;
  /// Quoted for SQL: "auth"."users".
  std::string Quoted() const;
  /// Key used to compare tables in the graph: "public.users" when schema is
  /// empty (planrun assumes search_path's first schema is public).
  std::string Key() const;
  bool operator==(const TableName& o) const { return Key() == o.Key(); }
  bool operator<(const TableName& o) const { return Key() < o.Key(); }
};

/// Parses "name" or "schema.name"; false when either part is not a plain identifier.
bool ParseTableName(std::string_view text, TableName* out);

}  // namespace planrun
