// What steps ask the catalog about a table (its columns and primary key), and
// the table checksum backups record and restores verify. Every function runs
// one read-only statement on the session it is given.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "pg/session.h"
#include "plan/names.h"

namespace planrun {

/// One live column of a table.
struct ColumnInfo {
  std::string name;
  std::string type;              // format_type(), e.g. "character varying(20)"
  bool generated = false;        // GENERATED ALWAYS AS (...) STORED
  bool identity_always = false;  // GENERATED ALWAYS AS IDENTITY
  uint32_t type_oid = 0;         // pg_type OID
};

/// The columns of `table` in attnum order; an error when the table does not exist.
Status LoadColumns(pg::Session& db, const TableName& table, std::vector<ColumnInfo>* out);

/// The primary key columns of `table` in key order; empty when it has none.
Status LoadPrimaryKey(pg::Session& db, const TableName& table, std::vector<std::string>* out);

/// Checks that `key` identifies one row of `table`: a primary key or a
/// unique index without WHERE or expressions has its key columns among
/// `key`. Data steps read batches in key order after the last key done, so
/// rows sharing a key could be skipped. Views and other relations without
/// indexes pass unchecked. `what` names the step for the error.
Status CheckKeyUnique(pg::Session& db, const TableName& table, const std::vector<std::string>& key,
                      const std::string& what);

/// The integer in `v` (strtoll), 0 when NULL or not a number.
int64_t ToInt64(const pg::Value& v);

/// The names of `columns`.
std::vector<std::string> ColumnNames(const std::vector<ColumnInfo>& columns);

/// A table's row count and content checksum.
struct TableSum {
  int64_t rows = 0;
  std::string checksum;  // decimal text; equal multisets of rows give equal sums
};

/// "count(*), <checksum>" over the rows of alias `r`: the sum of the first 64
/// bits of md5 of each row's text, so independent of row order but sensitive
/// to duplicates. Rows are `r::text` when `columns` is empty, else
/// ROW(r."c1", ...)::text (the same text when the columns are all of them).
std::string ChecksumSelectList(const std::vector<std::string>& columns);

/// The TableSum of `table` over `columns` (all columns when empty).
Status TableChecksum(pg::Session& db, const TableName& table,
                     const std::vector<std::string>& columns, TableSum* out);

}  // namespace planrun
