// A `copy` without a hook inside one database: each batch is one statement
// in the server, so its rows never leave PostgreSQL (copy_server.cc). The
// source, the target and the keys are resolved by copy_run.cc.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "steps/copy_spec.h"
#include "steps/copy_write.h"
#include "steps/data_run.h"

namespace planrun {

/// Runs the batches of such a copy from the run's checkpoint to the end of
/// its source, then finishes the run; `key_cols`: the source key columns
/// by their own names; `total`: the estimated source rows, for progress.
Status RunServerCopy(const CopySpec& spec, DataRun& run, const CopyTarget& target,
                     const std::vector<ColumnSpec>& key_cols, const std::optional<int64_t>& total);

/// --retry-rejects of such a copy: the rows of `source_sql` (the rejected
/// keys) again, in the server, so their values convert as the batches' did;
/// marks the rejects `ids` resolved.
Status RetryServerRejects(const CopySpec& spec, DataRun& run, const CopyTarget& target,
                          size_t nkeys, const std::string& source_sql,
                          const std::vector<int64_t>& ids);

}  // namespace planrun
