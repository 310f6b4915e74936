// The `sql` step: statements written by the plan author, run as given.
//
//   - id: fill_descriptions
//     sql:
//       up: UPDATE packages SET description = '' WHERE description IS NULL
//       down: UPDATE packages SET description = NULL WHERE description = ''
//       writes: [packages]
//       transaction: true
//
// Without `reads` and `writes` the step is a barrier. Rollback runs `down`;
// without it, the tables in `writes` are restored from the plan's backup step
// (kNeedsBackup); with neither the step is irreversible. With
// `transaction: false` the step runs in autocommit, so a dry run skips it.
#pragma once

#include <memory>

#include "plan/parser.h"

namespace planrun {

/// Parses the body of a `sql:` entry.
Status ParseSqlStep(const Node& body, const StepParseContext& ctx, std::unique_ptr<Step>* out);

}  // namespace planrun
