#include "lua/convert.h"

#include "lua/json.h"
#include "lua/sandbox.h"

namespace planrun {
namespace lua {
namespace {

char kNullSentinel;

// Arrays nest at most this deep in a row value.
constexpr int kMaxDepth = 32;

bool Convert(lua_State* L, int idx, const std::string& column, int depth, Value* out,
             std::string* error);

bool ConvertTable(lua_State* L, int idx, const std::string& column, int depth, Value* out,
                  std::string* error) {
  lua_Integer n = 0;
  const TableShape shape = ShapeOf(L, idx, &n);
  if (shape == TableShape::kMixed) {
    *error = "transform returned a table with mixed keys for column '" + column +
             "' (neither a sequence 1..n nor a map with string keys)";
    return false;
  }
  if (shape == TableShape::kSequence || (shape == TableShape::kEmpty && IsJsonArray(L, idx))) {
    if (depth >= kMaxDepth || !lua_checkstack(L, 4)) {
      *error = "transform returned arrays nested deeper than " + std::to_string(kMaxDepth) +
               " for column '" + column + "'";
      return false;
    }
    out->kind = Value::Kind::kArray;
    out->items.assign(static_cast<size_t>(n), Value());
    for (lua_Integer i = 1; i <= n; ++i) {
      lua_rawgeti(L, idx, i);
      const bool ok = Convert(L, lua_gettop(L), column, depth + 1, &out->items[i - 1], error);
      lua_pop(L, 1);
      if (!ok) return false;
    }
    return true;
  }
  std::string* text = Sandbox::From(L)->scratch();
  text->clear();
  if (!JsonEncode(L, idx, text)) {
    *error = "column '" + column + "': " + *text;
    return false;
  }
  *out = Value::String(*text);
  return true;
}

bool Convert(lua_State* L, int idx, const std::string& column, int depth, Value* out,
             std::string* error) {
  size_t len = 0;
  const char* s = nullptr;
  switch (lua_type(L, idx)) {
    case LUA_TNIL:
      *out = Value::Null();
      return true;
    case LUA_TBOOLEAN:
      *out = Value::Bool(lua_toboolean(L, idx) != 0);
      return true;
    case LUA_TNUMBER:
      *out = lua_isinteger(L, idx) ? Value::Int(lua_tointeger(L, idx))
                                   : Value::Float(lua_tonumber(L, idx));
      return true;
    case LUA_TSTRING:
      s = lua_tolstring(L, idx, &len);
      out->kind = Value::Kind::kString;
      out->s.assign(s, len);
      return true;
    case LUA_TLIGHTUSERDATA:
      if (!IsNull(L, idx)) break;
      *out = Value::Null();
      return true;
    case LUA_TTABLE:
      return ConvertTable(L, idx, column, depth, out, error);
  }
  *error = std::string("transform returned a ") + luaL_typename(L, idx) +
           (depth > 0 ? " inside a table" : "") + " for column '" + column + "'";
  return false;
}

}  // namespace

void PushNull(lua_State* L) { lua_pushlightuserdata(L, &kNullSentinel); }

bool IsNull(lua_State* L, int idx) { return lua_touserdata(L, idx) == &kNullSentinel; }

TableShape ShapeOf(lua_State* L, int idx, lua_Integer* n) {
  idx = lua_absindex(L, idx);
  lua_Integer count = 0;
  lua_Integer max = 0;
  bool positive_ints = true;
  bool strings = true;
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    lua_pop(L, 1);
    ++count;
    if (lua_type(L, -1) == LUA_TSTRING) {
      positive_ints = false;
    } else {
      strings = false;
      const lua_Integer k = lua_isinteger(L, -1) ? lua_tointeger(L, -1) : 0;
      if (k >= 1) {
        if (k > max) max = k;
      } else {
        positive_ints = false;
      }
    }
    if (!positive_ints && !strings) {
      lua_pop(L, 1);
      return TableShape::kMixed;
    }
  }
  if (count == 0) return TableShape::kEmpty;
  if (positive_ints && max == count) {
    *n = count;
    return TableShape::kSequence;
  }
  return strings ? TableShape::kMap : TableShape::kMixed;
}

void PushValue(lua_State* L, const Value& v) {
  switch (v.kind) {
    case Value::Kind::kNull:
      PushNull(L);
      return;
    case Value::Kind::kBool:
      lua_pushboolean(L, v.b);
      return;
    case Value::Kind::kInt:
      lua_pushinteger(L, v.i);
      return;
    case Value::Kind::kFloat:
      lua_pushnumber(L, v.f);
      return;
    case Value::Kind::kString:
      lua_pushlstring(L, v.s.data(), v.s.size());
      return;
    case Value::Kind::kArray:
      luaL_checkstack(L, 3, "arrays nested too deep");
      lua_createtable(L, static_cast<int>(v.items.size()), 0);
      for (size_t i = 0; i < v.items.size(); ++i) {
        PushValue(L, v.items[i]);
        lua_rawseti(L, -2, static_cast<lua_Integer>(i + 1));
      }
      MarkJsonArray(L, -1);
      return;
  }
}

bool ToValue(lua_State* L, int idx, const std::string& column, Value* out, std::string* error) {
  return Convert(L, lua_absindex(L, idx), column, 0, out, error);
}

}  // namespace lua
}  // namespace planrun
