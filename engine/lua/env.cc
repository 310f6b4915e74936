#include "lua/env.h"

#include <climits>
#include <cstdint>
#include <cstring>

#include "lua/sandbox.h"

namespace planrun {
namespace lua {
namespace {

// Calls the replaced function (upvalue 1) with this call's arguments.
int CallOriginal(lua_State* L) {
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
  return lua_gettop(L);
}

int FinishPcall(lua_State* L, int status, lua_KContext extra) {
  if (status != LUA_OK && status != LUA_YIELD) {
    if (Sandbox::From(L)->OnError(L, status)) Sandbox::Abort(L);
    lua_pushboolean(L, 0);
    lua_pushvalue(L, -2);
    return 2;
  }
  return lua_gettop(L) - static_cast<int>(extra);
}

int Pcall(lua_State* L) {
  luaL_checkany(L, 1);
  lua_pushboolean(L, 1);
  lua_insert(L, 1);
  const int status = lua_pcallk(L, lua_gettop(L) - 2, LUA_MULTRET, 0, 0, &FinishPcall);
  return FinishPcall(L, status, 0);
}

int Xpcall(lua_State* L) {
  const int n = lua_gettop(L);
  luaL_checktype(L, 2, LUA_TFUNCTION);
  lua_pushboolean(L, 1);
  lua_pushvalue(L, 1);
  lua_rotate(L, 3, 2);  // f, handler, true, f, args...
  const int status = lua_pcallk(L, n - 2, LUA_MULTRET, 2, 2, &FinishPcall);
  return FinishPcall(L, status, 2);
}

int Load(lua_State* L) {
  if (lua_gettop(L) < 3) lua_settop(L, 3);  // an absent env stays absent
  lua_pushliteral(L, "t");
  lua_replace(L, 3);
  return CallOriginal(L);
}

int CollectGarbage(lua_State* L) {
  static const char* const kAllowed[] = {"collect", "count", "step", nullptr};
  luaL_checkoption(L, 1, "collect", kAllowed);
  return CallOriginal(L);
}

int SetMetatable(lua_State* L) {
  const int type = lua_type(L, 2);
  luaL_checktype(L, 1, LUA_TTABLE);
  luaL_argexpected(L, type == LUA_TNIL || type == LUA_TTABLE, 2, "nil or table");
  if (luaL_getmetafield(L, 1, "__metatable") != LUA_TNIL) {
    return luaL_error(L, "cannot change a protected metatable");
  }
  if (type == LUA_TTABLE) {
    lua_pushliteral(L, "__gc");
    if (lua_rawget(L, 2) != LUA_TNIL) {
      return luaL_error(L, "setmetatable: __gc metamethods are not allowed in hooks");
    }
  }
  lua_settop(L, 2);
  lua_setmetatable(L, 1);
  return 1;
}

// The functions below are Lua 5.4's own (lstrlib.c, ltablib.c) plus a
// charge for the iterations of their C loops, which the count hook cannot
// see. string.rep also returns at once when its result is empty.

void Charge(lua_State* L, int64_t instructions) {
  Sandbox::From(L)->Charge(L, nullptr, instructions);
}

int StringRep(lua_State* L) {
  constexpr size_t kMaxSize = INT_MAX;  // lstrlib's MAXSIZE
  size_t len = 0;
  size_t sep_len = 0;
  const char* s = luaL_checklstring(L, 1, &len);
  lua_Integer n = luaL_checkinteger(L, 2);
  const char* sep = luaL_optlstring(L, 3, "", &sep_len);
  if (n <= 0 || len + sep_len == 0) {
    lua_pushliteral(L, "");
    return 1;
  }
  if (len + sep_len < len || len + sep_len > kMaxSize / static_cast<size_t>(n)) {
    return luaL_error(L, "resulting string too large");
  }
  const size_t total = static_cast<size_t>(n) * len + static_cast<size_t>(n - 1) * sep_len;
  luaL_Buffer b;
  char* p = luaL_buffinitsize(L, &b, total);
  while (n-- > 1) {
    std::memcpy(p, s, len);
    p += len;
    std::memcpy(p, sep, sep_len);
    p += sep_len;
  }
  std::memcpy(p, s, len);
  luaL_pushresultsize(&b, total);
  return 1;
}

constexpr int kTabR = 1;
constexpr int kTabW = 2;
constexpr int kTabL = 4;

// Argument `arg` must be a table, or have the metamethods `what` needs.
void CheckTable(lua_State* L, int arg, int what) {
  if (lua_type(L, arg) == LUA_TTABLE) return;
  int n = 1;
  auto has = [&](const char* key) {
    lua_pushstring(L, key);
    return lua_rawget(L, -++n) != LUA_TNIL;
  };
  if (lua_getmetatable(L, arg) && (!(what & kTabR) || has("__index")) &&
      (!(what & kTabW) || has("__newindex")) && (!(what & kTabL) || has("__len"))) {
    lua_pop(L, n);
  } else {
    luaL_checktype(L, arg, LUA_TTABLE);
  }
}

lua_Integer Length(lua_State* L, int what) {
  CheckTable(L, 1, what | kTabL);
  return luaL_len(L, 1);
}

int TableInsert(lua_State* L) {
  const lua_Integer e = luaL_intop(+, Length(L, kTabR | kTabW), 1);  // the first empty slot
  lua_Integer pos = e;
  switch (lua_gettop(L)) {
    case 2:
      break;
    case 3:
      pos = luaL_checkinteger(L, 2);
      luaL_argcheck(L, static_cast<lua_Unsigned>(pos) - 1u < static_cast<lua_Unsigned>(e), 2,
                    "position out of bounds");
      Charge(L, e - pos);
      for (lua_Integer i = e; i > pos; --i) {
        lua_geti(L, 1, i - 1);
        lua_seti(L, 1, i);
      }
      break;
    default:
      return luaL_error(L, "wrong number of arguments to 'insert'");
  }
  lua_seti(L, 1, pos);
  return 0;
}

int TableRemove(lua_State* L) {
  const lua_Integer size = Length(L, kTabR | kTabW);
  lua_Integer pos = luaL_optinteger(L, 2, size);
  if (pos != size) {
    luaL_argcheck(L, static_cast<lua_Unsigned>(pos) - 1u <= static_cast<lua_Unsigned>(size), 2,
                  "position out of bounds");
  }
  if (pos < size) Charge(L, size - pos);
  lua_geti(L, 1, pos);
  for (; pos < size; ++pos) {
    lua_geti(L, 1, pos + 1);
    lua_seti(L, 1, pos);
  }
  lua_pushnil(L);
  lua_seti(L, 1, pos);
  return 1;
}

int TableMove(lua_State* L) {
  const lua_Integer f = luaL_checkinteger(L, 2);
  const lua_Integer e = luaL_checkinteger(L, 3);
  const lua_Integer t = luaL_checkinteger(L, 4);
  const int tt = !lua_isnoneornil(L, 5) ? 5 : 1;  // the destination table
  CheckTable(L, 1, kTabR);
  CheckTable(L, tt, kTabW);
  if (e >= f) {
    luaL_argcheck(L, f > 0 || e < LUA_MAXINTEGER + f, 3, "too many elements to move");
    const lua_Integer n = e - f + 1;
    luaL_argcheck(L, t <= LUA_MAXINTEGER - n + 1, 4, "destination wrap around");
    Charge(L, n);
    if (t > e || t <= f || (tt != 1 && !lua_compare(L, 1, tt, LUA_OPEQ))) {
      for (lua_Integer i = 0; i < n; ++i) {
        lua_geti(L, 1, f + i);
        lua_seti(L, tt, t + i);
      }
    } else {
      for (lua_Integer i = n - 1; i >= 0; --i) {
        lua_geti(L, 1, f + i);
        lua_seti(L, tt, t + i);
      }
    }
  }
  lua_pushvalue(L, tt);
  return 1;
}

// Keeps an unmodified copy of library `lib` in package.loaded[name], so
// Lua's messages still name the functions we wrap ("bad argument #1 to 'load'"
// rather than '?').
void KeepOriginals(lua_State* L, int lib, const char* name) {
  lua_getfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  lua_newtable(L);
  lua_pushnil(L);
  while (lua_next(L, lib)) {
    lua_pushvalue(L, -2);
    lua_insert(L, -2);
    lua_rawset(L, -4);
  }
  lua_setfield(L, -2, name);
  lua_pop(L, 1);
}

void Set(lua_State* L, int lib, const char* field, lua_CFunction fn) {
  if (fn) {
    lua_pushcfunction(L, fn);
  } else {
    lua_pushnil(L);
  }
  lua_setfield(L, lib, field);
}

// Replaces lib[field] by fn with the original as its upvalue.
void Wrap(lua_State* L, int lib, const char* field, lua_CFunction fn) {
  lua_getfield(L, lib, field);
  lua_pushcclosure(L, fn, 1);
  lua_setfield(L, lib, field);
}

}  // namespace

int LogFunction(lua_State* L) {
  const int n = lua_gettop(L);
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  for (int i = 1; i <= n; ++i) {
    if (i > 1) luaL_addchar(&b, '\t');
    luaL_tolstring(L, i, nullptr);
    luaL_addvalue(&b);
  }
  luaL_pushresult(&b);
  size_t len = 0;
  const char* text = lua_tolstring(L, -1, &len);
  Sandbox::From(L)->Log(std::string_view(text, len));
  return 0;
}

void OpenEnvironment(lua_State* L) {
  static const luaL_Reg kLibs[] = {
      {LUA_GNAME, luaopen_base},        {LUA_TABLIBNAME, luaopen_table},
      {LUA_STRLIBNAME, luaopen_string}, {LUA_MATHLIBNAME, luaopen_math},
      {LUA_UTF8LIBNAME, luaopen_utf8},  {LUA_COLIBNAME, luaopen_coroutine},
  };
  for (const luaL_Reg& lib : kLibs) {
    luaL_requiref(L, lib.name, lib.func, 1);
    lua_pop(L, 1);
  }

  lua_pushglobaltable(L);
  const int g = lua_gettop(L);
  KeepOriginals(L, g, LUA_GNAME);
  for (const char* name : {"dofile", "loadfile", "warn"}) Set(L, g, name, nullptr);
  Set(L, g, "pcall", &Pcall);
  Set(L, g, "xpcall", &Xpcall);
  Set(L, g, "print", &LogFunction);
  Wrap(L, g, "load", &Load);
  Wrap(L, g, "collectgarbage", &CollectGarbage);
  Set(L, g, "setmetatable", &SetMetatable);

  lua_getfield(L, g, LUA_STRLIBNAME);
  const int str = lua_gettop(L);
  Set(L, str, "dump", nullptr);
  Set(L, str, "rep", &StringRep);

  lua_getfield(L, g, LUA_TABLIBNAME);
  const int tab = lua_gettop(L);
  Set(L, tab, "move", &TableMove);
  Set(L, tab, "insert", &TableInsert);
  Set(L, tab, "remove", &TableRemove);

  // The full os library stays in package.loaded, out of the hook's reach.
  luaL_requiref(L, LUA_OSLIBNAME, luaopen_os, 0);
  lua_createtable(L, 0, 3);
  for (const char* name : {"time", "date", "clock"}) {
    lua_getfield(L, -2, name);
    lua_setfield(L, -2, name);
  }
  lua_setfield(L, g, LUA_OSLIBNAME);
  lua_settop(L, g - 1);
}

}  // namespace lua
}  // namespace planrun
