// CopySpec: a parsed `copy` step, and the SQL it builds. Shared by the
// parser (copy_step.cc) and the runner (copy_run.cc).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "plan/names.h"
#include "steps/data_spec.h"
#include "steps/step.h"

namespace planrun {

/// What `on_conflict` does with a row whose conflict key exists.
enum class OnConflict { kError, kSkip, kUpdate };

/// A parsed `copy` step.
struct CopySpec {
  // from:
  TableName from_table;                   // table mode
  std::string from_query;                 // query mode
  std::vector<std::string> key;           // unique, ordered source key columns
  std::vector<std::string> from_columns;  // empty: all (table mode)
  std::string where;                      // table mode filter (SQL)
  std::string connection;                 // "" = this database
  std::vector<TableName> reads;           // query mode: tables it reads (graph)
  // to:
  TableName to_table;
  std::vector<std::string> to_columns;
  OnConflict on_conflict = OnConflict::kError;
  std::vector<std::string> conflict_key;
  // transform:
  HookSpec hook;
  std::vector<std::pair<std::string, std::string>> map;  // no hook: target column -> SQL
  DataSettings settings;
};

/// The source SELECT of one batch: columns, keys after `after` (a KeyAfter
/// predicate, "true" for the first batch), ordered by key, `limit` rows.
std::string CopySourceSql(const CopySpec& spec, const std::string& after, int64_t limit);

/// Where copy keeps the keys of the rows it inserted, the ranges of keys it
/// inserted whole (lo, hi: a single integer key, see copy_write.h), and the
/// previous versions of the rows it updated (on_conflict: update).
std::string CopyKeysTable(const CopySpec& spec, const StepEnv& env);
std::string CopyRangesTable(const CopySpec& spec, const StepEnv& env);
std::string CopyPrevTable(const CopySpec& spec, const StepEnv& env);

}  // namespace planrun
