#include "lua/hook.h"

#include <algorithm>

#include "lua/convert.h"
#include "lua/env.h"
#include "lua/sandbox.h"

namespace planrun {
namespace lua {
namespace {

// Pushes the compiled main chunk, or sets *error ("hook <chunk>:<line>: ...")
// and returns false.
bool Compile(lua_State* L, const HookSource& source, std::string* error) {
  if (luaL_loadbufferx(L, source.code.data(), source.code.size(), ("=" + source.chunk_name).c_str(),
                       "t") == LUA_OK) {
    return true;
  }
  Sandbox* sb = Sandbox::From(L);
  sb->ErrorText(L, -1, error);
  *error = sb->HookMessage(*error);
  lua_pop(L, 1);
  return false;
}

// "a string", "a function", "ctx.null"... for messages.
std::string Describe(lua_State* L, int idx) {
  if (IsNull(L, idx)) return "ctx.null";
  return std::string("a ") + luaL_typename(L, idx);
}

// The hook as Hook implements it. The static *Call functions run inside
// Sandbox::Run and report through members, never through locals.
class LuaHook : public Hook {
 public:
  LuaHook(std::unique_ptr<Sandbox> sb, const HookContext& context)
      : sb_(std::move(sb)), context_(context) {}

  Status Init(const HookSource& source) {
    InitArgs args{this, &source};
    return Result(sb_->Run(&InitCall, &args, "call"));
  }

  Status Setup() override { return CallPhase(setup_ref_); }
  Status Finish() override { return CallPhase(finish_ref_); }
  void SetBatch(int64_t batch) override { batch_ = batch; }

  Status Transform(const std::vector<std::string>& in_names, const std::vector<Value>& in,
                   const std::vector<std::string>& out_names, std::vector<Value>* out,
                   RowOutcome* outcome, std::string* reason, std::vector<std::string>* extra_keys,
                   std::vector<std::string>* out_types) override {
    TransformArgs args{this,    &in_names, &in,        &out_names, out,
                       outcome, reason,    extra_keys, out_types};
    return Result(sb_->Run(&TransformCall, &args, "row"));
  }

 private:
  struct InitArgs {
    LuaHook* hook;
    const HookSource* source;
  };
  struct PhaseArgs {
    LuaHook* hook;
    int ref;
  };
  struct TransformArgs {
    LuaHook* hook;
    const std::vector<std::string>* in_names;
    const std::vector<Value>* in;
    const std::vector<std::string>* out_names;
    std::vector<Value>* out;
    RowOutcome* outcome;
    std::string* reason;
    std::vector<std::string>* extra_keys;
    std::vector<std::string>* out_types;
  };

  // The Status of a Run whose C function may have left an error in error_.
  Status Result(const Status& run) {
    if (!run.ok() || error_.empty()) return run;
    const Status st = invalid_ ? Status::Invalid(error_) : Status::Failed(error_);
    error_.clear();
    invalid_ = false;
    return st;
  }

  void Fail(std::string message, bool invalid) {
    error_ = std::move(message);
    invalid_ = invalid;
  }

  Status CallPhase(int ref) {
    if (ref == LUA_NOREF) return sb_->status();
    PhaseArgs args{this, ref};
    return Result(sb_->Run(&PhaseCall, &args, "call"));
  }

  // Sets ctx.batch when SetBatch changed it.
  void SyncBatch(lua_State* L) {
    if (batch_ == ctx_batch_) return;
    lua_rawgeti(L, LUA_REGISTRYINDEX, ctx_ref_);
    lua_pushinteger(L, batch_);
    lua_setfield(L, -2, "batch");
    lua_pop(L, 1);
    ctx_batch_ = batch_;
  }

  void PushContext(lua_State* L) {
    lua_createtable(L, 0, 8);
    lua_pushlstring(L, context_.step_id.data(), context_.step_id.size());
    lua_setfield(L, -2, "step");
    lua_pushlstring(L, context_.plan_version.data(), context_.plan_version.size());
    lua_setfield(L, -2, "version");
    lua_pushlstring(L, context_.plan_name.data(), context_.plan_name.size());
    lua_setfield(L, -2, "plan");
    lua_createtable(L, 0, static_cast<int>(context_.params.size()));
    for (const auto& [key, value] : context_.params) {
      lua_pushlstring(L, value.data(), value.size());
      lua_setfield(L, -2, key.c_str());
    }
    lua_setfield(L, -2, "params");
    lua_pushinteger(L, batch_);
    lua_setfield(L, -2, "batch");
    lua_newtable(L);
    lua_setfield(L, -2, "state");
    PushNull(L);
    lua_setfield(L, -2, "null");
    lua_pushcfunction(L, &LogFunction);
    lua_setfield(L, -2, "log");
  }

  // Keeps global `name` in the registry when it is a function; `required`
  // makes its absence an error.
  bool TakeFunction(lua_State* L, const char* name, bool required, int* ref) {
    const int type = lua_getglobal(L, name);
    if (type == LUA_TFUNCTION) {
      *ref = luaL_ref(L, LUA_REGISTRYINDEX);
      return true;
    }
    const std::string& chunk = sb_->chunk_name();
    if (type == LUA_TNIL && required) {
      Fail("hook " + chunk + " defines no function transform(row, ctx)", true);
    } else if (type != LUA_TNIL) {
      Fail("hook " + chunk + ": " + name + " must be a function, got " + Describe(L, -1), true);
    }
    lua_pop(L, 1);
    return type == LUA_TNIL && !required;
  }

  static int InitCall(lua_State* L) {
    auto* a = static_cast<InitArgs*>(lua_touserdata(L, 1));
    LuaHook* self = a->hook;
    self->PushContext(L);
    self->ctx_ref_ = luaL_ref(L, LUA_REGISTRYINDEX);
    self->ctx_batch_ = self->batch_;
    if (!Compile(L, *a->source, &self->error_)) {
      self->invalid_ = true;
      return 0;
    }
    if (self->sb_->ProtectedCall(L, 0, 0) != LUA_OK) {
      self->sb_->ErrorText(L, -1, &self->error_);
      self->error_ = self->sb_->HookMessage(self->error_);
      return 0;
    }
    if (self->TakeFunction(L, "transform", true, &self->transform_ref_) &&
        self->TakeFunction(L, "setup", false, &self->setup_ref_)) {
      self->TakeFunction(L, "finish", false, &self->finish_ref_);
    }
    return 0;
  }

  static int PhaseCall(lua_State* L) {
    auto* a = static_cast<PhaseArgs*>(lua_touserdata(L, 1));
    LuaHook* self = a->hook;
    self->SyncBatch(L);
    lua_rawgeti(L, LUA_REGISTRYINDEX, a->ref);
    lua_rawgeti(L, LUA_REGISTRYINDEX, self->ctx_ref_);
    if (self->sb_->ProtectedCall(L, 1, 0) != LUA_OK) {
      self->sb_->ErrorText(L, -1, &self->error_);
      self->error_ = self->sb_->HookMessage(self->error_);
    }
    return 0;
  }

  static int TransformCall(lua_State* L) {
    auto* a = static_cast<TransformArgs*>(lua_touserdata(L, 1));
    LuaHook* self = a->hook;
    self->SyncBatch(L);
    const int names = self->PushNames(L, *a->in_names, *a->out_names);
    lua_rawgeti(L, LUA_REGISTRYINDEX, self->transform_ref_);
    const size_t n = std::min(a->in_names->size(), a->in->size());
    lua_createtable(L, 0, static_cast<int>(n));
    for (size_t i = 0; i < n; ++i) {
      const Value& v = (*a->in)[i];
      if (v.IsNull()) continue;
      lua_rawgeti(L, names, static_cast<lua_Integer>(i + 1));
      PushValue(L, v);
      lua_rawset(L, -3);
    }
    lua_rawgeti(L, LUA_REGISTRYINDEX, self->ctx_ref_);
    if (self->sb_->ProtectedCall(L, 2, 1) != LUA_OK) {
      self->sb_->ErrorText(L, -1, a->reason);
      *a->outcome = RowOutcome::kReject;
      return 0;
    }
    const int result = lua_gettop(L);
    if (lua_isnil(L, result)) {
      *a->outcome = RowOutcome::kSkip;
      return 0;
    }
    if (!lua_istable(L, result)) {
      self->Fail("hook " + self->sb_->chunk_name() +
                     ": transform must return a table or nil, got " + Describe(L, result),
                 false);
      return 0;
    }
    *a->outcome = RowOutcome::kRow;
    const std::vector<std::string>& out_names = *a->out_names;
    const size_t first_out = a->in_names->size() + 1;
    a->out->resize(out_names.size());
    if (a->out_types) a->out_types->assign(out_names.size(), "nil");
    int present = 0;
    for (size_t i = 0; i < out_names.size(); ++i) {
      lua_rawgeti(L, names, static_cast<lua_Integer>(first_out + i));
      if (lua_rawget(L, result) != LUA_TNIL) ++present;
      if (a->out_types && !IsNull(L, -1)) (*a->out_types)[i] = luaL_typename(L, -1);
      if (!ToValue(L, -1, out_names[i], &(*a->out)[i], &self->error_)) {
        if (!a->out_types) {
          self->error_ = "hook " + self->sb_->chunk_name() + ": " + self->error_;
          return 0;
        }
        self->error_.clear();
        (*a->out)[i] = Value::Null();
      }
      lua_pop(L, 1);
    }
    if (a->extra_keys) ExtraKeys(L, result, present, out_names, a->extra_keys);
    return 0;
  }

  // Pushes a sequence of the `in` then the `out` names as Lua strings, kept
  // in the registry while the names stay the same, so rows are filled and
  // read with raw accesses instead of interning every name for every row.
  // Returns its stack index.
  int PushNames(lua_State* L, const std::vector<std::string>& in,
                const std::vector<std::string>& out) {
    if (names_ref_ == LUA_NOREF || in != names_in_ || out != names_out_) {
      luaL_unref(L, LUA_REGISTRYINDEX, names_ref_);
      names_ref_ = LUA_NOREF;
      lua_createtable(L, static_cast<int>(in.size() + out.size()), 0);
      lua_Integer k = 0;
      for (const auto* names : {&in, &out}) {
        for (const std::string& name : *names) {
          lua_pushlstring(L, name.data(), name.size());
          lua_rawseti(L, -2, ++k);
        }
      }
      names_ref_ = luaL_ref(L, LUA_REGISTRYINDEX);
      names_in_ = in;
      names_out_ = out;
    }
    lua_rawgeti(L, LUA_REGISTRYINDEX, names_ref_);
    return lua_gettop(L);
  }

  // The keys of the table at `idx` not in `names`, sorted; `present` of
  // its keys are known to be in `names`.
  static void ExtraKeys(lua_State* L, int idx, int present, const std::vector<std::string>& names,
                        std::vector<std::string>* extra) {
    extra->clear();
    int total = 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
      lua_pop(L, 1);
      ++total;
    }
    if (total == present) return;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
      lua_pop(L, 1);
      size_t len = 0;
      const char* key = nullptr;
      if (lua_type(L, -1) == LUA_TSTRING) {
        key = lua_tolstring(L, -1, &len);
        if (std::find(names.begin(), names.end(), std::string_view(key, len)) != names.end()) {
          continue;
        }
        extra->emplace_back(key, len);
      } else if (lua_type(L, -1) == LUA_TNUMBER || lua_type(L, -1) == LUA_TBOOLEAN) {
        lua_pushvalue(L, -1);
        key = luaL_tolstring(L, -1, &len);
        extra->emplace_back(key, len);
        lua_pop(L, 2);
      } else {
        extra->emplace_back(luaL_typename(L, -1));
      }
    }
    std::sort(extra->begin(), extra->end());
  }

  std::unique_ptr<Sandbox> sb_;
  HookContext context_;
  int transform_ref_ = LUA_NOREF;
  int setup_ref_ = LUA_NOREF;
  int finish_ref_ = LUA_NOREF;
  int ctx_ref_ = LUA_NOREF;
  int names_ref_ = LUA_NOREF;                      // see PushNames
  std::vector<std::string> names_in_, names_out_;  // the names names_ref_ holds
  int64_t batch_ = 0;
  int64_t ctx_batch_ = 0;  // the value ctx.batch holds
  std::string error_;      // a failure found by a *Call function
  bool invalid_ = false;   // error_ is a problem of the plan (Status::Invalid)
};

struct CompileArgs {
  const HookSource* source;
  std::string error;
};

int CompileCall(lua_State* L) {
  auto* a = static_cast<CompileArgs*>(lua_touserdata(L, 1));
  Compile(L, *a->source, &a->error);
  return 0;
}

}  // namespace

Status Hook::Load(const HookSource& source, const HookContext& context, const HookLimits& limits,
                  std::unique_ptr<Hook>* out) {
  std::unique_ptr<Sandbox> sb;
  PLANRUN_RETURN_IF_ERROR(Sandbox::Create(source, context, limits, &sb));
  auto hook = std::make_unique<LuaHook>(std::move(sb), context);
  PLANRUN_RETURN_IF_ERROR(hook->Init(source));
  *out = std::move(hook);
  return Status::OK();
}

Status CheckSyntax(const HookSource& source) {
  std::unique_ptr<Sandbox> sb;
  PLANRUN_RETURN_IF_ERROR(Sandbox::Create(source, HookContext(), HookLimits(), &sb));
  CompileArgs args{&source, ""};
  PLANRUN_RETURN_IF_ERROR(sb->Run(&CompileCall, &args, "call"));
  return args.error.empty() ? Status::OK() : Status::Invalid(args.error);
}

}  // namespace lua
}  // namespace planrun
