#include "lua/sandbox.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "lua/env.h"
#include "lua/modules.h"
#include "report/reporter.h"

namespace planrun {
namespace lua {
namespace {

// Registry key of the preallocated error object raised once poisoned.
char kAbortKey;

// How often the count hook runs, in VM instructions.
constexpr int64_t kHookEvery = 10000;
// Lua shows at most this many bytes of a "=name" chunk name (LUA_IDSIZE - 1).
constexpr size_t kShownChunkName = LUA_IDSIZE - 1;

int Panic(lua_State* L) {
  const char* msg = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "?";
  std::fprintf(stderr, "planrun: unprotected Lua error: %s\n", msg);
  std::abort();
}

std::string FormatBytes(size_t n) {
  char buf[64];
  if (n % (1u << 20) == 0 && n > 0) {
    std::snprintf(buf, sizeof buf, "%zu MiB", n >> 20);
  } else if (n >= (1u << 20)) {
    std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(n) / (1u << 20));
  } else if (n >= 1024) {
    std::snprintf(buf, sizeof buf, "%.1f KiB", static_cast<double>(n) / 1024);
  } else {
    std::snprintf(buf, sizeof buf, "%zu bytes", n);
  }
  return buf;
}

// "name:line" of a function activation, with the full chunk name for chunks
// named "=name" or "@name".
std::string Where(const lua_Debug& ar) {
  std::string where = ar.source && (ar.source[0] == '=' || ar.source[0] == '@')
                          ? std::string(ar.source + 1)
                          : std::string(ar.short_src);
  if (ar.currentline > 0) where += ":" + std::to_string(ar.currentline);
  return where;
}

// True for Lua's stack overflow errors, with or without a position prefix.
bool IsStackOverflow(std::string_view m) {
  for (std::string_view what :
       {std::string_view("stack overflow"), std::string_view("C stack overflow")}) {
    if (m == what) return true;
    if (m.size() > what.size() + 2 &&
        m.substr(m.size() - what.size() - 2) == ": " + std::string(what)) {
      return true;
    }
  }
  return false;
}

}  // namespace

Sandbox::Sandbox(const HookSource& source, const HookContext& context, const HookLimits& limits)
    : limits_(limits),
      plan_dir_(source.plan_dir),
      step_id_(context.step_id),
      log_(context.log),
      chunk_names_{source.chunk_name} {
  hook_every_ = static_cast<int>(std::clamp<int64_t>(limits.instructions_per_call, 1, kHookEvery));
}

Sandbox::~Sandbox() {
  if (L_) lua_close(L_);
  for (void* block : free_blocks_) {
    while (block != nullptr) {
      void* next = *static_cast<void**>(block);
      std::free(block);
      block = next;
    }
  }
}

Status Sandbox::Create(const HookSource& source, const HookContext& context,
                       const HookLimits& limits, std::unique_ptr<Sandbox>* out) {
  std::unique_ptr<Sandbox> sb(new Sandbox(source, context, limits));
  sb->L_ = lua_newstate(&Allocate, sb.get());
  if (sb->L_ == nullptr) {
    return Status::Failed("hook " + source.chunk_name +
                          ": cannot create a Lua state within the memory limit (" +
                          FormatBytes(limits.memory_bytes) + ")");
  }
  *static_cast<Sandbox**>(lua_getextraspace(sb->L_)) = sb.get();
  lua_atpanic(sb->L_, &Panic);
  lua_sethook(sb->L_, &CountHook, LUA_MASKCOUNT, sb->hook_every_);
  PLANRUN_RETURN_IF_ERROR(sb->Run(&OpenAll, nullptr, "call"));
  *out = std::move(sb);
  return Status::OK();
}

int Sandbox::OpenAll(lua_State* L) {
  lua_pushliteral(L, "hook aborted: a limit was exceeded");
  lua_rawsetp(L, LUA_REGISTRYINDEX, &kAbortKey);
  OpenEnvironment(L);
  OpenRequire(L);
  OpenJson(L);
  OpenUuid(L);
  OpenText(L);
  OpenCheck(L);
  return 0;
}

namespace {

// The size class of a small block of `n` (1..kSmallMax) bytes: class c holds
// blocks of up to (c + 1) * grain bytes.
constexpr size_t SmallClass(size_t n, size_t grain) { return (n - 1) / grain; }

}  // namespace

void* Sandbox::NewBlock(size_t nsize) {
  if (nsize > kSmallMax) return std::malloc(nsize);
  const size_t c = SmallClass(nsize, kGrain);
  void* block = free_blocks_[c];
  if (block == nullptr) return std::malloc((c + 1) * kGrain);
  free_blocks_[c] = *static_cast<void**>(block);
  cached_ -= (c + 1) * kGrain;
  return block;
}

void Sandbox::DropBlock(void* block, size_t size) {
  if (block == nullptr) return;
  if (size > kSmallMax || cached_ + kSmallMax > kCacheMax) {
    std::free(block);
    return;
  }
  const size_t c = SmallClass(size, kGrain);
  *static_cast<void**>(block) = free_blocks_[c];
  free_blocks_[c] = block;
  cached_ += (c + 1) * kGrain;
}

void* Sandbox::Allocate(void* ud, void* ptr, size_t osize, size_t nsize) {
  auto* sb = static_cast<Sandbox*>(ud);
  const size_t old = ptr ? osize : 0;  // without a block, osize is a type tag
  if (nsize == 0) {
    sb->DropBlock(ptr, old);
    sb->used_ -= old;
    return nullptr;
  }
  bool retry = false;
  if (sb->retry_pending_) {
    retry = ptr == sb->refused_ptr_ && osize == sb->refused_osize_ && nsize == sb->refused_nsize_;
    sb->retry_pending_ = false;
    if (!retry) sb->refused_ = true;
  }
  void* block = nullptr;
  if (nsize <= old || nsize - old <= sb->limits_.memory_bytes - (sb->used_ - old)) {
    if (old > kSmallMax && nsize > kSmallMax) {
      block = std::realloc(ptr, nsize);
    } else if (ptr != nullptr && nsize <= kSmallMax &&
               SmallClass(nsize, kGrain) == SmallClass(old, kGrain)) {
      block = ptr;  // the block has room: same class
    } else {
      block = sb->NewBlock(nsize);
      if (block != nullptr && ptr != nullptr) {
        std::memcpy(block, ptr, std::min(old, nsize));
        sb->DropBlock(ptr, old);
      }
    }
  }
  if (block == nullptr) {
    if (retry) sb->refused_ = true;
    sb->retry_pending_ = true;
    sb->refused_ptr_ = ptr;
    sb->refused_osize_ = osize;
    sb->refused_nsize_ = nsize;
    sb->refused_used_ = sb->used_;
    return nullptr;
  }
  sb->used_ = sb->used_ - old + nsize;
  return block;
}

void Sandbox::CountHook(lua_State* L, lua_Debug* ar) {
  Sandbox* sb = From(L);
  if (sb->poisoned()) Abort(L);
  sb->Charge(L, ar, sb->hook_every_);
}

void Sandbox::Charge(lua_State* L, lua_Debug* ar, int64_t instructions) {
  instructions_ += instructions;
  if (instructions_ <= limits_.instructions_per_call) return;
  BudgetSpent(L, ar);
  Abort(L);
}

void Sandbox::BudgetSpent(lua_State* L, lua_Debug* ar) {
  lua_Debug caller;
  if (ar) {
    lua_getinfo(L, "Sl", ar);
  } else {
    // Called from a C function: blame the nearest Lua function.
    for (int level = 1; lua_getstack(L, level, &caller); ++level) {
      lua_getinfo(L, "Sl", &caller);
      if (caller.currentline > 0) {
        ar = &caller;
        break;
      }
    }
  }
  const std::string where = ar ? Where(*ar) : chunk_name();
  SetFatal(Fatal::kBudget, "hook " + where + ": exceeded the instruction budget (" +
                               std::to_string(limits_.instructions_per_call) +
                               " instructions per " + unit_ + "); an endless loop?");
}

void Sandbox::Abort(lua_State* L) {
  lua_rawgetp(L, LUA_REGISTRYINDEX, &kAbortKey);
  lua_error(L);
  std::abort();  // lua_error does not return
}

bool Sandbox::poisoned() {
  if (fatal_ == Fatal::kNone && (refused_ || retry_pending_)) MarkMemory();
  return fatal_ != Fatal::kNone;
}

void Sandbox::MarkMemory() {
  FailMemory("a request for " + std::to_string(refused_nsize_) + " bytes was refused with " +
             FormatBytes(refused_used_) + " in use");
}

void Sandbox::FailMemory(const std::string& details) {
  SetFatal(Fatal::kMemory, "hook " + chunk_name() + ": exceeded the memory limit (" +
                               FormatBytes(limits_.memory_bytes) + "); " + details);
}

void Sandbox::SetFatal(Fatal kind, std::string message) {
  if (fatal_ != Fatal::kNone) return;
  fatal_ = kind;
  fatal_message_ = std::move(message);
}

bool Sandbox::OnError(lua_State* L, int status) {
  if (poisoned()) return true;
  if (status == LUA_ERRMEM) {
    FailMemory("Lua ran out of memory");
  } else if (status == LUA_ERRERR) {
    SetFatal(Fatal::kStack,
             "hook " + chunk_name() + ": error in error handling (a stack overflow?)");
  } else if (status == LUA_ERRRUN && lua_type(L, -1) == LUA_TSTRING) {
    size_t len = 0;
    const char* s = lua_tolstring(L, -1, &len);
    if (IsStackOverflow(std::string_view(s, len))) {
      SetFatal(Fatal::kStack, HookMessage(std::string_view(s, len)));
    }
  }
  return fatal_ != Fatal::kNone;
}

int Sandbox::ProtectedCall(lua_State* L, int nargs, int nresults) {
  const int status = lua_pcall(L, nargs, nresults, 0);
  if (status != LUA_OK && OnError(L, status)) Abort(L);
  return status;
}

Status Sandbox::Run(lua_CFunction fn, void* arg, const char* unit) {
  PLANRUN_RETURN_IF_ERROR(status());
  instructions_ = 0;
  unit_ = unit;
  lua_settop(L_, 0);
  lua_pushcfunction(L_, fn);
  lua_pushlightuserdata(L_, arg);
  const int status = lua_pcall(L_, 1, 0, 0);
  Status result;
  if (status != LUA_OK && !OnError(L_, status)) {
    const bool text = lua_type(L_, -1) == LUA_TSTRING;
    result = Status::Failed(
        text ? HookMessage(lua_tostring(L_, -1))
             : HookMessage(std::string("(error object is a ") + luaL_typename(L_, -1) + " value)"));
  }
  if (poisoned()) result = Status::Failed(fatal_message_);
  lua_settop(L_, 0);
  TrimScratch();
  return result;
}

std::string Sandbox::RestoreChunkName(std::string_view m) const {
  for (const std::string& name : chunk_names_) {
    if (name.size() <= kShownChunkName) continue;
    const std::string shown = name.substr(0, kShownChunkName) + ":";
    if (m.substr(0, shown.size()) == shown) return name + std::string(m.substr(kShownChunkName));
  }
  return std::string(m);
}

std::string Sandbox::HookMessage(std::string_view lua_message) const {
  std::string m = RestoreChunkName(lua_message);
  for (const std::string& name : chunk_names_) {
    if (m.compare(0, name.size() + 1, name + ":") == 0) return "hook " + m;
  }
  return "hook " + chunk_name() + ": " + m;
}

namespace {

int ToString(lua_State* L) {
  luaL_tolstring(L, 1, nullptr);
  return 1;
}

}  // namespace

void Sandbox::ErrorText(lua_State* L, int idx, std::string* out) {
  idx = lua_absindex(L, idx);
  size_t len = 0;
  const char* s = nullptr;
  switch (lua_type(L, idx)) {
    case LUA_TSTRING:
      s = lua_tolstring(L, idx, &len);
      *out = RestoreChunkName(std::string_view(s, len));
      return;
    case LUA_TNUMBER:
      lua_pushvalue(L, idx);
      s = lua_tolstring(L, -1, &len);
      out->assign(s, len);
      lua_pop(L, 1);
      return;
    case LUA_TTABLE:
      lua_pushliteral(L, "message");
      if (lua_rawget(L, idx) == LUA_TSTRING) {
        s = lua_tolstring(L, -1, &len);
        out->assign(s, len);
        lua_pop(L, 1);
        return;
      }
      lua_pop(L, 1);
      break;
  }
  if (luaL_getmetafield(L, idx, "__tostring") != LUA_TNIL) {
    lua_pop(L, 1);
    lua_pushcfunction(L, &ToString);
    lua_pushvalue(L, idx);
    if (ProtectedCall(L, 1, 1) == LUA_OK) {
      s = lua_tolstring(L, -1, &len);
      out->assign(s, len);
      lua_pop(L, 1);
      return;
    }
    lua_pop(L, 1);
  }
  *out = std::string("(error object is a ") + luaL_typename(L, idx) + " value)";
}

const std::string& Sandbox::AddChunkName(const std::string& name) {
  for (const std::string& known : chunk_names_) {
    if (known == name) return known;
  }
  chunk_names_.push_back(name);
  return chunk_names_.back();
}

void Sandbox::Log(std::string_view msg) const {
  if (log_) log_->Info("hook " + step_id_ + ": " + std::string(msg));
}

void Sandbox::TrimScratch() {
  constexpr size_t kKeep = 1u << 20;
  if (scratch_.capacity() > kKeep) std::string().swap(scratch_);
  if (scratch_keys_.capacity() > kKeep / sizeof(std::string_view)) {
    std::vector<std::string_view>().swap(scratch_keys_);
  }
}

}  // namespace lua
}  // namespace planrun
