// Hook: one sandboxed Lua 5.4 state running a data step's per-row hook. lua/
// is the only folder that talks to the Lua C API.
//
// The hook contract (docs/lua.md):
//   function transform(row, ctx)   -- required; returns a table (the output
//                                  -- row), nil (skip the row) or raises
//                                  -- error(msg) (reject the row with msg)
//   function setup(ctx)            -- optional, once per state before rows
//   function finish(ctx)           -- optional, once per state at the end
// ctx: step (id), version, plan (name), params (the plan's params: map),
// batch (number), state (a table kept across rows of this state), null (the
// sentinel for an explicit NULL), log(msg) (to the planrun log).
// Modules preloaded as globals: json, uuid, text, check.
//
// Sandbox: no io, os (except os.time, os.date, os.clock), debug, dofile,
// loadfile, binary chunks; `require` loads only .lua files under the plan's
// directory. Limits: a memory cap per state and an instruction budget per
// call; exceeding either, or an error while loading, fails the step with the
// hook's file:line, and never hangs or crashes the process.
//
// Thread safety: none. Give each worker thread its own Hook.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "data/value.h"
#include "util/status.h"

namespace planrun {

class Reporter;

namespace lua {

/// Where a hook's code comes from.
struct HookSource {
  // Shown in errors: the hook file's path relative to the cwd, or the plan
  // file's for inline code (padded with newlines so the lines match).
  std::string chunk_name;
  std::string code;      // the Lua source text
  std::string plan_dir;  // `require` resolves module names to plan_dir/<name with . as />.lua
};

/// What ctx carries besides the per-row batch number.
struct HookContext {
  std::string step_id;
  std::string plan_version;
  std::string plan_name;
  std::map<std::string, std::string> params;
  Reporter* log = nullptr;  // ctx.log(msg) goes to log->Info; may be null
};

/// Resource limits of one state.
struct HookLimits {
  size_t memory_bytes = 256u << 20;           // total allocation cap of the state
  int64_t instructions_per_call = 100000000;  // VM instructions per transform/setup/finish call
};

/// What transform did with a row.
enum class RowOutcome { kRow, kSkip, kReject };

/// A loaded hook.
class Hook {
 public:
  /// Compiles and runs the chunk (defining the functions). Errors: syntax
  /// errors and load-time errors as "hook <chunk>:<line>: <message>", a
  /// missing transform function as "hook <chunk> defines no function
  /// transform(row, ctx)".
  static Status Load(const HookSource& source, const HookContext& context, const HookLimits& limits,
                     std::unique_ptr<Hook>* out);
  virtual ~Hook() = default;

  /// Calls setup(ctx) when the hook defines it.
  virtual Status Setup() = 0;
  /// Sets ctx.batch for the following calls.
  virtual void SetBatch(int64_t batch) = 0;
  /// Calls transform(row, ctx). `row` is a table keyed by `in_names` with
  /// `in` values (NULL fields are absent). On kRow, *out gets one Value per
  /// `out_names` entry (absent keys and ctx.null are NULL) and, when
  /// non-null, *extra_keys the keys of the returned table not in out_names.
  /// On kReject, *reason is the error message. A non-ok Status (budget or
  /// memory exceeded, a non-table return) fails the step. When `out_types`
  /// is non-null it gets the Lua type of each out_names entry ("nil",
  /// "string", "table", "function"...; ctx.null is "nil"), and a value that
  /// does not convert is NULL in *out instead of failing the step, so the
  /// caller can reject the row.
  virtual Status Transform(const std::vector<std::string>& in_names, const std::vector<Value>& in,
                           const std::vector<std::string>& out_names, std::vector<Value>* out,
                           RowOutcome* outcome, std::string* reason,
                           std::vector<std::string>* extra_keys = nullptr,
                           std::vector<std::string>* out_types = nullptr) = 0;
  /// Calls finish(ctx) when the hook defines it.
  virtual Status Finish() = 0;
};

/// Compiles `source` without running it: "hook <chunk>:<line>: <message>"
/// for a syntax error (Status::Invalid, so `planrun validate` reports it).
Status CheckSyntax(const HookSource& source);

}  // namespace lua
}  // namespace planrun
