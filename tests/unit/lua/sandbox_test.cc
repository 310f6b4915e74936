// The sandbox: what hook code cannot reach, and limits that fail the step
// (never hang or crash the process) even when the code tries to catch them.

#include <catch2/catch.hpp>

#include <chrono>
#include <regex>

#include "lua_harness.h"

namespace planrun {
namespace testing {
namespace {

using lua::RowOutcome;

const char kBudget[] =
    ": exceeded the instruction budget (1000000 instructions per row); an endless loop?";

lua::HookLimits Limits(size_t memory_mib, int64_t instructions) {
  lua::HookLimits limits;
  limits.memory_bytes = memory_mib << 20;
  limits.instructions_per_call = instructions;
  return limits;
}

// REQUIREs a memory-limit failure of a 16 MiB state and returns the details
// after "refused with " (the amount in use varies).
void CheckMemoryFailure(const std::string& message, const std::string& request) {
  const std::string prefix = "hook t.lua: exceeded the memory limit (16 MiB); a request for " +
                             request + " bytes was refused with ";
  INFO(message);
  CHECK(message.compare(0, prefix.size(), prefix) == 0);
  CHECK(std::regex_match(message.substr(prefix.size()), std::regex(R"(\d+\.\d (KiB|MiB) in use)")));
}

TEST_CASE("io, debug, package, dofile and loadfile do not exist") {
  CHECK(Reason("io.open('/etc/passwd')") == "t.lua:2: attempt to index a nil value (global 'io')");
  CHECK(Reason("debug.sethook()") == "t.lua:2: attempt to index a nil value (global 'debug')");
  CHECK(Reason("package.loadlib('x', 'y')") ==
        "t.lua:2: attempt to index a nil value (global 'package')");
  CHECK(Reason("dofile('/etc/passwd')") ==
        "t.lua:2: attempt to call a nil value (global 'dofile')");
  CHECK(Reason("loadfile('/etc/passwd')") ==
        "t.lua:2: attempt to call a nil value (global 'loadfile')");
  CHECK(Reason("string.dump(print)") == "t.lua:2: attempt to call a nil value (field 'dump')");
}

TEST_CASE("os has only time, date and clock") {
  CHECK(Reason("os.execute('touch /tmp/x')") ==
        "t.lua:2: attempt to call a nil value (field 'execute')");
  CHECK(Reason("os.getenv('HOME')") == "t.lua:2: attempt to call a nil value (field 'getenv')");
  CHECK(Reason("os.remove('/tmp/x')") == "t.lua:2: attempt to call a nil value (field 'remove')");
  CHECK(Eval("math.type(os.time()) .. ' ' .. type(os.clock()) .. ' ' .. os.date('!%Y', 0)") ==
        Value::String("integer number 1970"));
}

TEST_CASE("load compiles text in the sandbox and refuses binary chunks") {
  CHECK(Eval("load('return 1 + 2')()") == Value::Int(3));
  CHECK(Eval("load('return json.null')() == ctx.null") == Value::Bool(true));
  CHECK(Eval("load('return x', 'chunk', 't', {x = 'env'})()") == Value::String("env"));
  CHECK(Eval("select(2, load('\\27Lua\\84\\0\\25\\147\\r\\n\\26\\n'))") ==
        Value::String("attempt to load a binary chunk (mode is 't')"));
  CHECK(Eval("select(2, load('\\27Lua\\84\\0', 'b', 'b'))") ==
        Value::String("attempt to load a binary chunk (mode is 't')"));
  CHECK(Eval("select(2, load('return +'))") ==
        Value::String("[string \"return +\"]:1: unexpected symbol near '+'"));
}

TEST_CASE("collectgarbage offers count, collect and step only") {
  CHECK(Eval("type(collectgarbage('count'))") == Value::String("number"));
  CHECK(Eval("collectgarbage()") == Value::Int(0));
  CHECK(Reason("collectgarbage('stop')") ==
        "t.lua:2: bad argument #1 to 'collectgarbage' (invalid option 'stop')");
}

TEST_CASE("__gc metamethods are refused") {
  CHECK(Reason("setmetatable({}, {__gc = function() while true do end end})") ==
        "t.lua:2: setmetatable: __gc metamethods are not allowed in hooks");
  CHECK(Eval("getmetatable(setmetatable({}, {__index = {k = 'v'}})).__index.k") ==
        Value::String("v"));
}

TEST_CASE("An endless loop exceeds the instruction budget") {
  CHECK(Failure("local i = 0\nwhile true do i = i + 1 end") ==
        std::string("hook t.lua:3") + kBudget);
}

TEST_CASE("pcall and xpcall cannot catch the budget error") {
  CHECK(Failure("while true do\n  pcall(function() while true do end end)\nend") ==
        std::string("hook t.lua:3") + kBudget);
  CHECK(Failure("local ok = xpcall(function() while true do end end, function(e) return e end)\n"
                "return {v = ok}") == std::string("hook t.lua:2") + kBudget);
  CHECK(Failure("while true do pcall(error, 'x') end") == std::string("hook t.lua:2") + kBudget);
}

TEST_CASE("A never-ending coroutine is bounded by the same budget") {
  CHECK(Failure("local co = coroutine.wrap(function()\n  while true do end\nend)\nco()") ==
        std::string("hook t.lua:3") + kBudget);
  CHECK(Failure("local co = coroutine.create(function() while true do end end)\n"
                "local ok = coroutine.resume(co)\nreturn {v = ok}") ==
        std::string("hook t.lua:2") + kBudget);
  CHECK(Failure("local co = coroutine.wrap(function() while true do coroutine.yield() end end) "
                "while true do co() end") == std::string("hook t.lua:2") + kBudget);
}

TEST_CASE("Library loops that Lua does not count are charged to the budget") {
  CHECK(Eval("#string.rep('', 1e18)") == Value::Int(0));
  CHECK(Failure("table.move({}, 1, math.maxinteger - 1, 2)") ==
        std::string("hook t.lua:2") + kBudget);
  CHECK(Failure("local t = setmetatable({}, {__len = function() return math.maxinteger - 1 end})\n"
                "table.insert(t, 1, 'x')") == std::string("hook t.lua:3") + kBudget);
  CHECK(Failure("local t = setmetatable({}, {__len = function() return math.maxinteger end})\n"
                "table.remove(t, 1)") == std::string("hook t.lua:3") + kBudget);
  CHECK(Eval("(function() local t = {1, 2, 3}; table.insert(t, 1, 0); table.remove(t, 2); "
             "return table.concat(table.move(t, 1, 3, 2), ',') end)()") ==
        Value::String("0,0,2,3"));
}

TEST_CASE("The budget is per call: many short rows are fine") {
  auto hook = MustLoad(
      "function transform(row) local s = 0 for i = 1, 50000 do s = s + i end "
      "return {v = s} end");
  for (int i = 0; i < 50; ++i) {
    RowRun r = RunRow(*hook, {}, {}, {"v"});
    REQUIRE(r.status.ok());
    CHECK(r.out[0] == Value::Int(1250025000));
  }
}

TEST_CASE("A string.rep memory bomb fails the step and the process survives") {
  // Past 2^31 bytes Lua refuses by itself.
  CHECK(Reason("return {v = string.rep('x', 1e12)}") == "t.lua:2: resulting string too large");
  auto hook = MustLoad("function transform()\n  return {v = string.rep('x', 1e9)}\nend");
  RowRun r = RunRow(*hook, {}, {}, {"v"});
  REQUIRE_FALSE(r.status.ok());
  CheckMemoryFailure(r.status.message(), "1000000000");
  // The state stays failed.
  RowRun again = RunRow(*hook, {}, {}, {"v"});
  CHECK(again.status.message() == r.status.message());
  CHECK(hook->Finish().message() == r.status.message());
}

TEST_CASE("pcall cannot swallow a memory error into a reject") {
  const std::string message =
      Failure("local ok, err = pcall(string.rep, 'x', 1e9)\nreturn {v = err}");
  CheckMemoryFailure(message, "1000000000");
}

TEST_CASE("A growing table hits the memory limit, not the budget") {
  const std::string message =
      Failure("local t = {}\nwhile true do t[#t + 1] = #t end", Limits(16, 1000000000));
  INFO(message);
  CHECK(message.rfind("hook t.lua: exceeded the memory limit (16 MiB); a request for ", 0) == 0);
  const std::string strings =
      Failure("local t = {}\nwhile true do t[#t + 1] = ('x'):rep(1000) .. #t end");
  CHECK(strings.rfind("hook t.lua: exceeded the memory limit (16 MiB); a request for ", 0) == 0);
}

TEST_CASE("json.encode output counts against the memory limit") {
  const std::string body =
      "local s = ('x'):rep(1 << 20)\nlocal t = {}\nfor i = 1, 20 do t[i] = s end\n";
  const std::string want =
      "hook t.lua: exceeded the memory limit (16 MiB); json.encode made a text larger than that";
  CHECK(Failure(body + "return {v = json.encode(t)}") == want);
  CHECK(Failure(body + "return {v = pcall(json.encode, t)}") == want);
  CHECK(Failure(body + "return {v = {list = t}}") == want);
}

TEST_CASE("A memory error inside a coroutine still fails the step") {
  const std::string message = Failure(
      "local co = coroutine.create(function() return ('x'):rep(1e9) end)\n"
      "local ok = coroutine.resume(co)\nreturn {v = ok}");
  CheckMemoryFailure(message, "1000000000");
}

TEST_CASE("Deep recursion fails the step with the line") {
  const lua::HookLimits roomy = Limits(64, 100000000);
  CHECK(Failure("local function f(n) return 1 + f(n + 1) end\nreturn {v = f(1)}", roomy) ==
        "hook t.lua:2: stack overflow");
  CHECK(Failure("local function f(n) return 1 + f(n + 1) end\nreturn {v = pcall(f, 1)}", roomy) ==
        "hook t.lua:2: stack overflow");
  CHECK(Failure("local t = setmetatable({}, {__index = function(t, k) return t[k] end})\n"
                "return {v = t.x}") == "hook t.lua:2: C stack overflow");
}

TEST_CASE("Error objects of any kind become a reason without crashing") {
  CHECK(Reason("error(setmetatable({}, {__tostring = function() return 'custom' end}))") ==
        "custom");
  CHECK(Reason("error(setmetatable({}, {__tostring = function() error('nested') end}))") ==
        "(error object is a table value)");
  CHECK(Reason("error(setmetatable({}, {__tostring = function() return {} end}))") ==
        "(error object is a table value)");
  CHECK(Reason("error({code = 7})") == "(error object is a table value)");
  CHECK(Reason("error({message = {}})") == "(error object is a table value)");
  CHECK(Reason("error()") == "(error object is a nil value)");
  CHECK(Reason("error(true)") == "(error object is a boolean value)");
  CHECK(Reason("error(42)") == "42");
  CHECK(Reason("error(print)") == "(error object is a function value)");
  CHECK(Failure("error(setmetatable({}, {__tostring = function() while true do end end}))") ==
        std::string("hook t.lua:2") + kBudget);
}

TEST_CASE("An endless loop while loading fails the load") {
  std::unique_ptr<lua::Hook> hook;
  const Status st = LoadHook("while true do end", &hook);
  CHECK(st.message() ==
        "hook t.lua:1: exceeded the instruction budget (1000000 instructions per call); an "
        "endless loop?");
}

TEST_CASE("Limits are found fast") {
  const auto start = std::chrono::steady_clock::now();
  Failure("while true do end");
  Failure("return {v = ('x'):rep(1e9)}");
  const auto took = std::chrono::steady_clock::now() - start;
  CHECK(took < std::chrono::seconds(2));
}

}  // namespace
}  // namespace testing
}  // namespace planrun
