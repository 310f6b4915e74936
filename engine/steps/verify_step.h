// The `verify` step: assertions about the data, checked by queries.
//
//   - id: check
//     verify:
//       reads: [packages]            # optional; without it the step is a barrier
//       assertions:
//         - name: every package has a description
//           sql: SELECT count(*) FROM packages WHERE description IS NULL
//           expect: 0                # first column of the first row, as text
//         - name: same names as before
//           sql: SELECT name FROM packages ORDER BY name
//           equals: SELECT name FROM planrun_backup.v2__backup__public__packages ORDER BY name
//         - name: no orphans
//           sql: SELECT id FROM packages WHERE team_id NOT IN (SELECT id FROM teams)
//           expect_rows: 0
//
// The body may also be the list of assertions alone. `expect` compares text:
// an unquoted true/false matches PostgreSQL's t/f, null (or no row) matches
// NULL. `equals` compares both ordered result sets; `expect_rows` the row
// count. Every assertion runs; the step fails listing each failed one. It
// changes nothing, so rollback has nothing to undo.
#pragma once

#include <memory>

#include "plan/parser.h"

namespace planrun {

/// Parses the body of a `verify:` entry.
Status ParseVerifyStep(const Node& body, const StepParseContext& ctx, std::unique_ptr<Step>* out);

}  // namespace planrun
