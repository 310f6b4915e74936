// Helpers for the lua/ unit tests: load hook code as chunk "t.lua" with small
// limits, run one row through it, evaluate one expression.
#pragma once

#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "lua/hook.h"
#include "report/reporter.h"

namespace planrun {
namespace testing {

/// Limits small enough that a runaway test fails fast.
inline lua::HookLimits SmallLimits() {
  lua::HookLimits limits;
  limits.memory_bytes = 16u << 20;
  limits.instructions_per_call = 1000000;
  return limits;
}

/// Loads `code` as chunk "t.lua" from plan directory `dir`.
inline Status LoadHook(const std::string& code, std::unique_ptr<lua::Hook>* out,
                       const lua::HookLimits& limits = SmallLimits(), Reporter* log = nullptr,
                       const std::string& dir = "") {
  lua::HookSource source{"t.lua", code, dir};
  lua::HookContext context;
  context.step_id = "copy_users";
  context.plan_version = "3";
  context.plan_name = "users_v3";
  context.params = {{"region", "eu"}, {"mode", "full"}};
  context.log = log;
  return lua::Hook::Load(source, context, limits, out);
}

/// Loads `code`, which must load.
inline std::unique_ptr<lua::Hook> MustLoad(const std::string& code,
                                           const lua::HookLimits& limits = SmallLimits(),
                                           Reporter* log = nullptr, const std::string& dir = "") {
  std::unique_ptr<lua::Hook> hook;
  const Status st = LoadHook(code, &hook, limits, log, dir);
  INFO(st.message());
  REQUIRE(st.ok());
  return hook;
}

/// What Transform made of one row.
struct RowRun {
  Status status;
  lua::RowOutcome outcome = lua::RowOutcome::kRow;
  std::vector<Value> out;
  std::string reason;
  std::vector<std::string> extra;
};

/// Runs one row through `hook`.
inline RowRun RunRow(lua::Hook& hook, const std::vector<std::string>& in_names,
                     const std::vector<Value>& in, const std::vector<std::string>& out_names) {
  RowRun r;
  r.status = hook.Transform(in_names, in, out_names, &r.out, &r.outcome, &r.reason, &r.extra);
  return r;
}

/// Runs an empty row through a transform whose body is `body`.
inline RowRun RunBody(const std::string& body, const lua::HookLimits& limits = SmallLimits(),
                      const std::vector<std::string>& out_names = {"v"}) {
  auto hook = MustLoad("function transform(row, ctx)\n" + body + "\nend\n", limits);
  return RunRow(*hook, {}, {}, out_names);
}

/// The reject reason of a transform whose body is `body`; REQUIREs a reject.
inline std::string Reason(const std::string& body) {
  RowRun r = RunBody(body);
  INFO(r.status.message());
  REQUIRE(r.status.ok());
  REQUIRE(r.outcome == lua::RowOutcome::kReject);
  return r.reason;
}

/// The failure message of a transform whose body is `body`; REQUIREs one.
inline std::string Failure(const std::string& body, const lua::HookLimits& limits = SmallLimits()) {
  RowRun r = RunBody(body, limits);
  INFO(r.reason);
  REQUIRE_FALSE(r.status.ok());
  return r.status.message();
}

/// The value of Lua expression `expr` (evaluated in transform), as column v.
inline Value Eval(const std::string& expr) {
  RowRun r = RunBody("return {v = (" + expr + ")}");
  INFO(r.status.message() + r.reason);
  REQUIRE(r.status.ok());
  REQUIRE(r.outcome == lua::RowOutcome::kRow);
  return r.out.at(0);
}

/// A fresh directory under /tmp.
inline std::string TempDir() {
  char name[] = "/tmp/planrun_lua_XXXXXX";
  REQUIRE(mkdtemp(name) != nullptr);
  return name;
}

/// Writes `text` to `path`.
inline void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary);
  f << text;
  REQUIRE(f.good());
}

}  // namespace testing
}  // namespace planrun

namespace Catch {
/// Shows Values in failed checks.
template <>
struct StringMaker<planrun::Value> {
  static std::string convert(const planrun::Value& v) {
    switch (v.kind) {
      case planrun::Value::Kind::kNull:
        return "NULL";
      case planrun::Value::Kind::kBool:
        return v.b ? "true" : "false";
      case planrun::Value::Kind::kInt:
        return std::to_string(v.i) + "i";
      case planrun::Value::Kind::kFloat:
        return StringMaker<double>::convert(v.f) + "f";
      case planrun::Value::Kind::kString:
        return StringMaker<std::string>::convert(v.s);
      case planrun::Value::Kind::kArray: {
        std::string s = "{";
        for (const planrun::Value& item : v.items) s += (s.size() > 1 ? ", " : "") + convert(item);
        return s + "}";
      }
    }
    return "?";
  }
};
}  // namespace Catch
