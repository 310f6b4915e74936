// TransformSpec: a parsed `transform` step, and the SQL it builds. Shared by
// the parser (transform_step.cc) and the runner (transform_run.cc).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "plan/names.h"
#include "steps/data_spec.h"
#include "steps/step.h"

namespace planrun {

/// A parsed `transform` step.
struct TransformSpec {
  TableName table;
  std::vector<std::string> key;
  std::string where;
  std::vector<std::string> columns;                      // read for the hook
  std::vector<TableName> reads;                          // other tables the SQL or hook reads
  std::vector<std::string> set;                          // written
  std::vector<std::pair<std::string, std::string>> sql;  // no hook: column -> SQL expression
  HookSpec hook;
  DataSettings settings;
};

/// The step's saved previous values:
/// <backup schema>.v<version>__<id>__<schema>__<table>__prev.
std::string TransformPrevTable(const TransformSpec& spec, const StepEnv& env);

/// The two unlogged tables the read-ahead of a transform with a hook loads
/// its batches into, in turn (backup schema, quoted): `...__stage1`, `...__stage2`.
std::vector<std::string> TransformStageTables(const TransformSpec& spec, const StepEnv& env);

/// The key, then the columns the hook reads (each once).
std::vector<std::string> TransformHookColumns(const TransformSpec& spec);

/// The rows of one batch, locked (FOR UPDATE): the key, then with a hook
/// the columns it reads. Used without a hook, and by the dry run's sample.
std::string TransformBatchSql(const TransformSpec& spec, const std::string& after, int64_t limit);

/// The rows of one batch of the hook path: TransformHookColumns, then the
/// current values of the set columns; `cond` selects them. `limit` < 0: no
/// LIMIT; `lock`: FOR UPDATE.
std::string TransformReadSql(const TransformSpec& spec, const std::string& cond, int64_t limit,
                             bool lock);

/// Runs the step (transform_run.cc).
Status RunTransform(const TransformSpec& spec, StepContext& ctx);

/// Puts the saved previous values back, drops the saved copy and the
/// checkpoint.
Status RevertTransform(const TransformSpec& spec, StepContext& ctx);

}  // namespace planrun
