#include "lua/hook.h"

#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>
#include <cmath>
#include <limits>

#include "lua_harness.h"

namespace planrun {
namespace testing {
namespace {

using lua::RowOutcome;

Value Array(std::vector<Value> items) {
  Value v;
  v.kind = Value::Kind::kArray;
  v.items = std::move(items);
  return v;
}

const int64_t kBig = (int64_t{1} << 62) + 1;  // not exact as a double

TEST_CASE("Input values reach Lua with their Lua types; NULL fields are absent") {
  auto hook = MustLoad(R"(
function transform(row, ctx)
  local kinds = {}
  for _, k in ipairs({"b", "i", "f", "s", "a", "n"}) do
    local v = row[k]
    kinds[#kinds + 1] = k .. "=" .. (math.type(v) or type(v))
  end
  return {
    kinds = table.concat(kinds, " "),
    big = row.i == 4611686018427387905,
    s_len = #row.s,
    a_len = #row.a,
    a2_null = row.a[2] == ctx.null and row.a[2] == json.null,
  }
end)");
  RowRun r = RunRow(*hook, {"b", "i", "f", "s", "a", "n"},
                    {Value::Bool(true), Value::Int(kBig), Value::Float(1.5),
                     Value::String(std::string("a\0b", 3)),
                     Array({Value::Int(1), Value::Null(), Value::Int(3)}), Value::Null()},
                    {"kinds", "big", "s_len", "a_len", "a2_null"});
  REQUIRE(r.status.ok());
  REQUIRE(r.outcome == RowOutcome::kRow);
  CHECK(r.out[0] == Value::String("b=boolean i=integer f=float s=string a=table n=nil"));
  CHECK(r.out[1] == Value::Bool(true));
  CHECK(r.out[2] == Value::Int(3));
  CHECK(r.out[3] == Value::Int(3));
  CHECK(r.out[4] == Value::Bool(true));
}

TEST_CASE("Returning the row unchanged gives back every value exactly") {
  auto hook = MustLoad("function transform(row, ctx) return row end");
  const double inf = std::numeric_limits<double>::infinity();
  const std::vector<std::string> names = {"b",    "i", "min", "f",      "nan",   "inf",
                                          "ninf", "s", "a",   "nested", "empty", "n"};
  const std::vector<Value> in = {
      Value::Bool(false),
      Value::Int(kBig),
      Value::Int(std::numeric_limits<int64_t>::min()),
      Value::Float(0.1),
      Value::Float(std::nan("")),
      Value::Float(inf),
      Value::Float(-inf),
      Value::String(std::string("\0x\0", 3)),
      Array({Value::String("a"), Value::Null(), Value::String("")}),
      Array({Array({Value::Int(1)}), Array({})}),
      Array({}),
      Value::Null(),
  };
  RowRun r = RunRow(*hook, names, in, names);
  REQUIRE(r.status.ok());
  REQUIRE(r.out.size() == in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    INFO(names[i]);
    CHECK(r.out[i] == in[i]);
  }
  CHECK(r.extra.empty());
}

TEST_CASE("Output values convert by their Lua type") {
  auto hook = MustLoad(R"(
function transform(row, ctx)
  return {
    null1 = ctx.null, null2 = json.null, t = true, i = 7, f = 3.0, s = "x",
    seq = {1, ctx.null, "z", {a = 1}}, map = {b = {1, 2}, a = "q"},
    empty = {}, empty_array = json.array(), extra1 = 1, [5] = "five",
  }
end)");
  RowRun r = RunRow(
      *hook, {}, {},
      {"absent", "null1", "null2", "t", "i", "f", "s", "seq", "map", "empty", "empty_array"});
  REQUIRE(r.status.ok());
  CHECK(r.out[0] == Value::Null());
  CHECK(r.out[1] == Value::Null());
  CHECK(r.out[2] == Value::Null());
  CHECK(r.out[3] == Value::Bool(true));
  CHECK(r.out[4] == Value::Int(7));
  CHECK(r.out[5] == Value::Float(3.0));
  CHECK(r.out[6] == Value::String("x"));
  CHECK(r.out[7] ==
        Array({Value::Int(1), Value::Null(), Value::String("z"), Value::String(R"({"a":1})")}));
  CHECK(r.out[8] == Value::String(R"({"a":"q","b":[1,2]})"));
  CHECK(r.out[9] == Value::String("{}"));
  CHECK(r.out[10] == Array({}));
  CHECK(r.extra == std::vector<std::string>{"5", "extra1"});
}

TEST_CASE("Values that have no column form fail the step naming the column") {
  CHECK(Failure("return {v = print}") ==
        "hook t.lua: transform returned a function for column 'v'");
  CHECK(Failure("return {v = {1, 2, x = 3}}") ==
        "hook t.lua: transform returned a table with mixed keys for column 'v' (neither a "
        "sequence 1..n nor a map with string keys)");
  CHECK(Failure("return {v = {[1] = 1, [3] = 3}}") ==
        "hook t.lua: transform returned a table with mixed keys for column 'v' (neither a "
        "sequence 1..n nor a map with string keys)");
  CHECK(Failure("return {v = {1, coroutine.create(print)}}") ==
        "hook t.lua: transform returned a thread inside a table for column 'v'");
  CHECK(Failure("return {v = {f = print}}") ==
        "hook t.lua: column 'v': json.encode: cannot encode a function");
}

TEST_CASE("With out_types each value's Lua type is told and one without column form is NULL") {
  auto hook = MustLoad(
      "function transform(row, ctx)\n"
      "  return {a = print, b = 'x', c = {k = 1}, d = 2, e = ctx.null, g = {1, x = 2}}\n"
      "end\n");
  std::vector<Value> out;
  std::vector<std::string> types;
  lua::RowOutcome outcome;
  std::string reason;
  const Status st = hook->Transform({}, {}, {"a", "b", "c", "d", "e", "f", "g"}, &out, &outcome,
                                    &reason, nullptr, &types);
  INFO(st.message());
  REQUIRE(st.ok());
  CHECK(outcome == lua::RowOutcome::kRow);
  CHECK(types ==
        std::vector<std::string>{"function", "string", "table", "number", "nil", "nil", "table"});
  CHECK(out == std::vector<Value>{Value::Null(), Value::String("x"), Value::String(R"({"k":1})"),
                                  Value::Int(2), Value::Null(), Value::Null(), Value::Null()});
  // The same state goes on failing such values when out_types is not asked for.
  CHECK(RunRow(*hook, {}, {}, {"a"}).status.message() ==
        "hook t.lua: transform returned a function for column 'a'");
}

TEST_CASE("nil skips the row, error() rejects it with the message") {
  RowRun skip = RunBody("return nil");
  REQUIRE(skip.status.ok());
  CHECK(skip.outcome == RowOutcome::kSkip);

  CHECK(Reason("error('bad email')") == "t.lua:2: bad email");
  CHECK(Reason("error('no position', 0)") == "no position");
  CHECK(Reason("error({message = 'from a table'})") == "from a table");
  CHECK(Reason("local x = nil; return x.y") == "t.lua:2: attempt to index a nil value (local 'x')");
  CHECK(Reason("assert(false, 'asserted')") == "t.lua:2: asserted");
}

TEST_CASE("One state serves calls whose input and output names change") {
  auto hook = MustLoad(R"(
function transform(row, ctx)
  local keys = {}
  for k in pairs(row) do keys[#keys + 1] = k end
  table.sort(keys)
  return {seen = table.concat(keys, ","), a = row.a, b = row.b}
end)");
  RowRun first = RunRow(*hook, {"a", "b"}, {Value::Int(1), Value::Int(2)}, {"seen", "a"});
  REQUIRE(first.status.ok());
  CHECK(first.out == std::vector<Value>{Value::String("a,b"), Value::Int(1)});
  CHECK(first.extra == std::vector<std::string>{"b"});
  RowRun renamed = RunRow(*hook, {"b", "c"}, {Value::Int(3), Value::Int(4)}, {"b", "seen"});
  REQUIRE(renamed.status.ok());
  CHECK(renamed.out == std::vector<Value>{Value::Int(3), Value::String("b,c")});
  CHECK(renamed.extra.empty());
  RowRun again = RunRow(*hook, {"a", "b"}, {Value::Int(5), Value::Null()}, {"seen", "a"});
  REQUIRE(again.status.ok());
  CHECK(again.out == std::vector<Value>{Value::String("a"), Value::Int(5)});
}

TEST_CASE("A transform returning neither a table nor nil fails the step") {
  CHECK(Failure("return 'x'") == "hook t.lua: transform must return a table or nil, got a string");
  CHECK(Failure("return 5") == "hook t.lua: transform must return a table or nil, got a number");
  CHECK(Failure("return ctx.null") ==
        "hook t.lua: transform must return a table or nil, got ctx.null");
}

TEST_CASE("setup, finish, ctx.state, params, batch and log") {
  RecordingReporter log;
  auto hook = MustLoad(R"(
function setup(ctx)
  ctx.state.rows = 0
  ctx.log("setup for " .. ctx.plan .. " v" .. ctx.version)
end
function transform(row, ctx)
  ctx.state.rows = ctx.state.rows + 1
  return {rows = ctx.state.rows, batch = ctx.batch, region = ctx.params.region,
          mode = ctx.params.mode, step = ctx.step}
end
function finish(ctx)
  print("rows", ctx.state.rows, ctx.batch)
end)",
                       SmallLimits(), &log);
  REQUIRE(hook->Setup().ok());
  const std::vector<std::string> out = {"rows", "batch", "region", "mode", "step"};
  hook->SetBatch(4);
  RowRun a = RunRow(*hook, {}, {}, out);
  hook->SetBatch(5);
  RowRun b = RunRow(*hook, {}, {}, out);
  REQUIRE(a.status.ok());
  REQUIRE(b.status.ok());
  CHECK(a.out == std::vector<Value>{Value::Int(1), Value::Int(4), Value::String("eu"),
                                    Value::String("full"), Value::String("copy_users")});
  CHECK(b.out[0] == Value::Int(2));
  CHECK(b.out[1] == Value::Int(5));
  REQUIRE(hook->Finish().ok());
  CHECK(log.lines() == std::vector<std::string>{"info: hook copy_users: setup for users_v3 v3",
                                                "info: hook copy_users: rows\t2\t5"});
}

TEST_CASE("A hook without setup and finish needs none") {
  auto hook = MustLoad("function transform() return {} end");
  CHECK(hook->Setup().ok());
  CHECK(hook->Finish().ok());
}

TEST_CASE("Errors in setup and finish fail the step with file:line") {
  auto hook = MustLoad(
      "function setup() error('no config') end\n"
      "function transform() return {} end\n"
      "function finish(ctx) local t = nil; t.x = 1 end\n");
  const Status setup = hook->Setup();
  CHECK(setup.code() == StatusCode::kFailed);
  CHECK(setup.message() == "hook t.lua:1: no config");
  CHECK(hook->Finish().message() == "hook t.lua:3: attempt to index a nil value (local 't')");
}

TEST_CASE("Load errors name the chunk and line") {
  std::unique_ptr<lua::Hook> hook;
  Status st = LoadHook("function transform(row)\n  return {x = }\nend", &hook);
  CHECK(st.code() == StatusCode::kInvalid);
  CHECK(st.message() == "hook t.lua:2: unexpected symbol near '}'");
  CHECK(
      lua::CheckSyntax({"t.lua", "function transform(row)\n  return {x = }\nend", ""}).message() ==
      st.message());
  CHECK(lua::CheckSyntax({"t.lua", "function transform() end", ""}).ok());

  st = LoadHook("local x = 1\nerror('at load')", &hook);
  CHECK(st.code() == StatusCode::kFailed);
  CHECK(st.message() == "hook t.lua:2: at load");

  st = LoadHook("local x = 1", &hook);
  CHECK(st.code() == StatusCode::kInvalid);
  CHECK(st.message() == "hook t.lua defines no function transform(row, ctx)");

  st = LoadHook("function transform() end\nsetup = 5", &hook);
  CHECK(st.message() == "hook t.lua: setup must be a function, got a number");

  st = LoadHook("\x1bLua binary", &hook);
  CHECK(st.message() == "hook t.lua: attempt to load a binary chunk (mode is 't')");
  CHECK(hook == nullptr);
}

TEST_CASE("Long chunk names are shown in full, not cut to Lua's 59 bytes") {
  const std::string name = "plans/2026/0042_backfill_customer_emails/hooks/normalize_emails.lua";
  lua::HookSource source{name, "function transform()\n error('boom')\nend\nx = = 1", ""};
  std::unique_ptr<lua::Hook> hook;
  Status st = lua::Hook::Load(source, lua::HookContext(), SmallLimits(), &hook);
  CHECK(st.message() == "hook " + name + ":4: unexpected symbol near '='");

  source.code = "function transform()\n error('boom')\nend";
  REQUIRE(lua::Hook::Load(source, lua::HookContext(), SmallLimits(), &hook).ok());
  RowRun r = RunRow(*hook, {}, {}, {});
  CHECK(r.reason == name + ":2: boom");
}

TEST_CASE("require loads sibling modules from the plan directory, once") {
  const std::string dir = TempDir();
  REQUIRE(mkdir((dir + "/lib").c_str(), 0700) == 0);
  WriteFile(dir + "/lib/names.lua",
            "loads = (loads or 0) + 1\n"
            "local M = {}\n"
            "function M.upper(s) return s:upper() end\n"
            "return M\n");
  WriteFile(dir + "/flag.lua", "flag_set = true\n");
  WriteFile(dir + "/broken.lua", "return {\n");
  auto hook = MustLoad(R"(
local names = require("lib.names")
function transform(row, ctx)
  local again = require("lib.names")
  return {v = names.upper(row.s), same = again == names, loads = loads,
          flag = require("flag"), flag_set = flag_set}
end)",
                       SmallLimits(), nullptr, dir);
  RowRun r =
      RunRow(*hook, {"s"}, {Value::String("ada")}, {"v", "same", "loads", "flag", "flag_set"});
  REQUIRE(r.status.ok());
  CHECK(r.out == std::vector<Value>{Value::String("ADA"), Value::Bool(true), Value::Int(1),
                                    Value::Bool(true), Value::Bool(true)});

  std::unique_ptr<lua::Hook> broken;
  const Status st =
      LoadHook("require('broken')\nfunction transform() end", &broken, SmallLimits(), nullptr, dir);
  CHECK(st.message() ==
        "hook t.lua:1: require 'broken': " + dir + "/broken.lua:2: unexpected symbol near <eof>");
  WriteFile(dir + "/binary.lua", "\x1bLua");
  CHECK(
      LoadHook("require('binary')\nfunction transform() end", &broken, SmallLimits(), nullptr, dir)
          .message() ==
      "hook t.lua:1: require 'binary': attempt to load a binary chunk (mode is 't')");
  std::system(("rm -rf " + dir).c_str());
}

TEST_CASE("require refuses paths, unknown modules and files outside the plan directory") {
  const std::string dir = TempDir();
  const std::string outside = TempDir();
  WriteFile(outside + "/secret.lua", "return 'secret'");
  REQUIRE(symlink((outside + "/secret.lua").c_str(), (dir + "/link.lua").c_str()) == 0);
  auto hook = MustLoad("function transform(row) return {v = require(row.name)} end", SmallLimits(),
                       nullptr, dir);
  auto reason = [&](const std::string& name) {
    RowRun r = RunRow(*hook, {"name"}, {Value::String(name)}, {"v"});
    REQUIRE(r.status.ok());
    REQUIRE(r.outcome == RowOutcome::kReject);
    return r.reason;
  };
  CHECK(reason("../etc/passwd") ==
        "t.lua:1: require '../etc/passwd': module names are letters, digits, _ and .");
  CHECK(reason("/etc/passwd") ==
        "t.lua:1: require '/etc/passwd': module names are letters, digits, _ and .");
  CHECK(reason("") == "t.lua:1: require '': module names are letters, digits, _ and .");
  CHECK(reason("no.such") == "t.lua:1: require 'no.such': no file " + dir + "/no/such.lua");
  CHECK(reason("link") ==
        "t.lua:1: require 'link': " + dir + "/link.lua is outside the plan directory");
  std::system(("rm -rf " + dir + " " + outside).c_str());
}

TEST_CASE("A circular require is an error, not a hang") {
  const std::string dir = TempDir();
  WriteFile(dir + "/a.lua", "return require('b')");
  WriteFile(dir + "/b.lua", "return require('a')");
  std::unique_ptr<lua::Hook> hook;
  const Status st =
      LoadHook("require('a')\nfunction transform() end", &hook, SmallLimits(), nullptr, dir);
  CHECK(st.message() == "hook " + dir + "/b.lua:1: require 'a': circular require");
  std::system(("rm -rf " + dir).c_str());
}

}  // namespace
}  // namespace testing
}  // namespace planrun
