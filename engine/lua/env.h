// The sandboxed global environment of a hook state. Internal to lua/.
//
// Opened: base, table, string, math, utf8, coroutine, and os.time, os.date,
// os.clock. Removed: dofile, loadfile, warn, string.dump, io, debug,
// package. Replaced by guarded versions:
//   load            text chunks only (mode "t")
//   pcall, xpcall   cannot catch an error that poisoned the sandbox
//   collectgarbage  "collect", "count" and "step" only
//   setmetatable    refuses __gc (finalizers run without the count hook)
//   print           writes to the planrun log (as ctx.log does)
//   string.rep, table.insert, table.remove, table.move
//                   Lua's own code, charging their C loops to the
//                   instruction budget (the count hook cannot see them)
// REQUIRES: inside Sandbox::Run().
#pragma once

#include <lua5.4/lua.hpp>

namespace planrun {
namespace lua {

/// Opens the libraries and installs the guards above as globals.
void OpenEnvironment(lua_State* L);

/// Installs the global `require(name)`: loads plan_dir/<name with . as
/// />.lua (text only, inside the plan directory), runs it once per state
/// and returns its result (true when it returns nothing).
void OpenRequire(lua_State* L);

/// print(...) and ctx.log(...): the arguments as tostring() shows them,
/// tab-separated, to the reporter's Info as "hook <step>: <text>".
int LogFunction(lua_State* L);

}  // namespace lua
}  // namespace planrun
