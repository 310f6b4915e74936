// Step kind `transform`: an in-place backfill of a table in keyset-paginated
// batches. The new values of the `set` columns come from a Lua hook or from
// SQL expressions. Before a batch rewrites rows, their previous values of the
// `set` columns are saved (first version only) in the same transaction, so
// rollback restores them exactly.
#pragma once

#include "plan/parser.h"

namespace planrun {

/// Parses the body of a `transform` step.
Status ParseTransformStep(const Node& body, const StepParseContext& ctx,
                          std::unique_ptr<Step>* out);

}  // namespace planrun
