// What the data steps (copy, transform) share: their Lua hook and batch
// settings as plans write them, reading batches with keyset pagination, and
// the JSON of rejected rows.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "data/copy_text.h"
#include "data/value.h"
#include "lua/hook.h"
#include "pg/session.h"
#include "plan/map_reader.h"
#include "plan/parser.h"

namespace planrun {

/// A data step's Lua hook, read and syntax-checked when the plan is parsed.
struct HookSpec {
  bool present = false;
  lua::HookSource source;
  /// The modules the hook `require`s by literal name (recursively), with
  /// their text: part of the step's fingerprint, so editing one is a change.
  std::string modules;
};

/// `max_rejects`: a number of rows, or a percentage of the rows read ("0.5%").
struct RejectLimit {
  int64_t count = 0;
  double percent = -1;  // >= 0 when given as a percentage

  /// True when `rejected` of `read` rows is past the limit. A percentage is
  /// judged only at the end of the step, or once 1000 rows were read.
  bool Exceeded(int64_t rejected, int64_t read, bool at_end) const;
  /// "100 rows" or "0.5% of the rows read".
  std::string Describe() const;
  /// True for `max_rejects: 0` (the default) and `0%`: no row may be rejected.
  bool None() const { return percent < 0 ? count == 0 : percent == 0; }
};

/// Batch settings of a data step.
struct DataSettings {
  int64_t batch_size = 5000;  // rows per batch (one transaction each)
  int workers = 0;            // Lua states; 0: the runtime's default
  RejectLimit max_rejects;
};

/// Reads a hook given as a file (`file_key`, relative to the plan's
/// directory) or inline (`lua:`); leaves `out->present` false when neither.
Status ReadHook(MapReader& r, const StepParseContext& ctx, const std::string& file_key,
                HookSpec* out);

/// Reads batch_size (default: the step's settings), workers, max_rejects.
Status ReadDataSettings(MapReader& r, const StepParseContext& ctx, DataSettings* out);

/// Checks that `connection` names one of the plan's connections.
Status CheckConnection(MapReader& r, const StepParseContext& ctx, const std::string& connection);

/// The columns a SELECT returns, with their types (runs it with LIMIT 0).
Status DescribeSelect(pg::Session& db, const std::string& select_sql, std::vector<ColumnSpec>* out);

/// "(k1, k2) > ('v1'::t1, 'v2'::t2)" for keyset pagination, or "true" before
/// the first batch. `key` indexes into `columns`.
std::string KeyAfter(const std::vector<ColumnSpec>& columns, const std::vector<size_t>& key,
                     const std::optional<std::vector<std::string>>& last);

/// Runs `COPY (<select_sql>) TO STDOUT` and calls `on_line` with each line
/// (without its newline, still escaped), stopping at the first error.
Status ForEachCopyLine(pg::Session& db, const std::string& select_sql,
                       const std::function<Status(std::string_view line)>& on_line);

/// Writes items [begin, end) of a batch with `write` under a savepoint;
/// where PostgreSQL refuses a value (IsRowRefused), each half again, down to
/// single items, each of which goes to `reject` with the error: about
/// 2k log2(n) writes for k refused items of n. *written adds what the writes
/// that went through report. Any other error ends it. REQUIRES: inside a
/// transaction on `db`.
Status BisectRefused(pg::Session& db, size_t begin, size_t end,
                     const std::function<Status(size_t begin, size_t end, int64_t* n)>& write,
                     const std::function<Status(size_t item, const Status& refused)>& reject,
                     int64_t* written);

/// Runs `copy_sql` (COPY ... FROM STDIN) with `text` as its whole input;
/// *rows (when given) gets the rows it copied.
Status SendCopy(pg::Session& db, const std::string& copy_sql, const std::string& text,
                int64_t* rows = nullptr);

/// Runs `COPY (<select_sql>) TO STDOUT`; *rows becomes its rows' raw fields,
/// reusing the vectors and strings *rows already holds.
Status ReadRows(pg::Session& db, const std::string& select_sql,
                std::vector<std::vector<RawField>>* rows);

/// The key values of a raw row as text (a NULL key is an error).
Status KeyOf(const std::vector<RawField>& row, const std::vector<size_t>& key,
             std::vector<std::string>* out);

/// JSON of a row for rejects: {"col": value, ...} with typed values.
std::string RowJson(const std::vector<ColumnSpec>& columns, const std::vector<Value>& values);

/// "('17'::bigint, 'a'::text)": a stored reject's key (KeyJson text) as a
/// SQL row value of the key columns `key` of `columns`, for "(k) IN (...)".
std::string KeyTuple(const std::vector<ColumnSpec>& columns, const std::vector<size_t>& key,
                     const std::string& key_json);

/// The planner's row estimate of `table` (pg_class.reltuples), if it has one.
std::optional<int64_t> EstimateRows(pg::Session& db, const TableName& table);

/// JSON array of key texts: ["17"] or ["a", "2"].
std::string KeyJson(const std::vector<std::string>& key);

/// True when PostgreSQL refused a value of a row: a data exception
/// (SQLSTATE class 22) or a constraint (class 23). Data steps reject such a
/// row; any other error (a lock timeout, a lost connection) fails the batch.
bool IsRowRefused(const Status& st);

}  // namespace planrun
