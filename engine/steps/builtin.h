// The step kinds planrun ships, for ParsePlan.
#pragma once

#include "plan/parser.h"

namespace planrun {

/// sql, add_columns, drop_columns, rename_columns, create_index, backup,
/// verify, copy, transform.
const StepRegistry& BuiltinSteps();

}  // namespace planrun
