// The `drop_columns` step: drops columns of one table, keeping their data so
// rollback can bring them back.
//
//   - id: drop_legacy
//     drop_columns:
//       table: packages
//       columns: [legacy_flags, old_name]
//
// Apply saves the table's primary key and the dropped columns into
// <backup schema>.<name> and each dropped column's definition (type, NOT
// NULL, default or generation expression) into <name>__columns, then drops
// the columns; the table must have a primary key. Rollback re-adds the
// columns, copies the saved values back by primary key, re-applies NOT NULL
// and drops both backup tables. Restored columns come back at the end of the
// column list; indexes and constraints that involved them are not restored.
#pragma once

#include <memory>

#include "plan/parser.h"

namespace planrun {

/// Parses the body of a `drop_columns:` entry.
Status ParseDropColumnsStep(const Node& body, const StepParseContext& ctx,
                            std::unique_ptr<Step>* out);

}  // namespace planrun
