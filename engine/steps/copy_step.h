// Step kind `copy`: rows from a source (a table or a query, in this database
// or a named connection) into a target table, in keyset-paginated batches,
// optionally through a Lua hook. Each batch commits with its checkpoint, the
// keys of the rows it inserted (for rollback) and its rejects.
#pragma once

#include "plan/parser.h"

namespace planrun {

/// Parses the body of a `copy` step.
Status ParseCopyStep(const Node& body, const StepParseContext& ctx, std::unique_ptr<Step>* out);

}  // namespace planrun
