// The `add_columns` step: adds columns to one table in one ALTER TABLE.
//
//   - id: new_columns
//     add_columns:
//       table: packages
//       columns:
//         - {name: description, type: text, default: "''", not_null: true}
//         - {name: team_id, type: bigint, references: teams(id)}
//         - {name: likes, type: integer, default: 0, check: likes >= 0}
//
// `type` must look like a SQL type name (words, an optional schema, an
// optional (n) or (n,m), optional [] suffixes). `default` and `check` are SQL
// expressions written by the plan author and inserted as written, like the
// text of a sql step (so a string default is written with SQL quotes:
// "'none'"). `references` is table, table(column) or schema.table(column).
// Rollback drops the added columns.
#pragma once

#include <memory>

#include "plan/parser.h"

namespace planrun {

/// Parses the body of an `add_columns:` entry.
Status ParseAddColumnsStep(const Node& body, const StepParseContext& ctx,
                           std::unique_ptr<Step>* out);

/// True when `type` looks like a SQL type name as described above.
bool IsSqlTypeName(const std::string& type);

}  // namespace planrun
