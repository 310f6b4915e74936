// The `rename_columns` step: renames columns of one table.
//
//   - id: rename
//     rename_columns:
//       table: packages
//       columns: {descr: description, owner: owner_id}
//
// Renames run in the order written, one ALTER TABLE each; rollback renames
// them back in reverse order.
#pragma once

#include <memory>

#include "plan/parser.h"

namespace planrun {

/// Parses the body of a `rename_columns:` entry.
Status ParseRenameColumnsStep(const Node& body, const StepParseContext& ctx,
                              std::unique_ptr<Step>* out);

}  // namespace planrun
