// HookPool: a data step's Lua states, one per worker. Run() splits a batch's
// rows into contiguous slices, transforms each slice on its own thread with
// its own state, and returns the results in row order. Rows are independent,
// so the result does not depend on the number of workers. Not thread-safe
// itself: one caller at a time.
#pragma once

#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "data/value.h"
#include "lua/hook.h"
#include "steps/data_spec.h"
#include "steps/step.h"

namespace planrun {

/// What the hook made of one row.
struct RowResult {
  lua::RowOutcome outcome = lua::RowOutcome::kRow;
  std::vector<Value> out;  // kRow: one value per output column
  std::string reason;      // kReject: the hook's error message
};

/// The Lua states of one data step.
class HookPool {
 public:
  /// Loads `workers` states and runs setup(ctx) in each.
  static Status Start(const HookSpec& spec, const lua::HookContext& context, int workers,
                      std::unique_ptr<HookPool>* out);

  /// Transforms `rows` (values named `in_names`) into `out_names` columns.
  Status Run(int64_t batch, const std::vector<std::string>& in_names,
             const std::vector<std::vector<Value>>& rows, const std::vector<std::string>& out_names,
             std::vector<RowResult>* results);

  /// How many slices ForEachSlice cuts `rows` rows into (one per state, at
  /// least 256 rows each).
  size_t Slices(size_t rows) const;

  /// The work of one slice: rows [begin, end) through `hook`; keys the hook
  /// returned that are not output columns go into *extra_keys.
  using SliceFn = std::function<Status(lua::Hook& hook, size_t slice, size_t begin, size_t end,
                                       std::vector<std::string>* extra_keys)>;

  /// Runs `fn` over the Slices(rows) contiguous slices of `rows` rows, each
  /// on its own thread with its own state (ctx.batch = `batch`), and returns
  /// the first error. `fn` may run concurrently for different slices.
  Status ForEachSlice(int64_t batch, size_t rows, const SliceFn& fn);

  /// Runs finish(ctx) in each state.
  Status Finish();

  size_t size() const { return hooks_.size(); }

  /// Keys hooks returned that are not output columns (ignored; likely typos).
  const std::set<std::string>& ignored_keys() const { return ignored_keys_; }

 private:
  std::vector<std::unique_ptr<lua::Hook>> hooks_;
  std::set<std::string> ignored_keys_;
};

/// Appends the `keys` not yet in *extra (for a SliceFn's extra keys).
void AddExtraKeys(const std::vector<std::string>& keys, std::vector<std::string>* extra);

/// Warns once about keys the step's hook returned that no column takes.
void WarnIgnoredKeys(const HookPool& pool, StepContext& ctx, const std::string& verb,
                     const std::string& columns_key);

}  // namespace planrun
