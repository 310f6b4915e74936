// Values between planrun and Lua. Internal to lua/.
//
//   Value             Lua
//   kNull             absent from the row; ctx.null inside an array
//   kBool             boolean
//   kInt              integer (all 64 bits)
//   kFloat            float
//   kString           string (bytes as they are, NUL included)
//   kArray            a sequence marked as a JSON array (json.array)
//
// Back from Lua, a sequence becomes kArray and any other table with string
// keys becomes kString holding its JSON text (so a map fits a jsonb column).
// REQUIRES for all functions: inside Sandbox::Run().
#pragma once

#include <lua5.4/lua.hpp>

#include <string>

#include "data/value.h"

namespace planrun {
namespace lua {

/// Pushes the null sentinel (ctx.null == json.null), a light userdata.
void PushNull(lua_State* L);
/// True when the value at `idx` is the null sentinel.
bool IsNull(lua_State* L, int idx);

/// What keys a table has.
enum class TableShape {
  kEmpty,     // no keys
  kSequence,  // exactly the integers 1..n
  kMap,       // only string keys
  kMixed,     // anything else (sparse, float or boolean keys, both kinds)
};

/// The shape of the table at `idx`; *n gets the length of a sequence.
TableShape ShapeOf(lua_State* L, int idx, lua_Integer* n);

/// Pushes `v` as the table above shows; kNull pushes the null sentinel.
void PushValue(lua_State* L, const Value& v);

/// Converts the value at `idx` for output column `column`. On failure
/// returns false with *error set to the message after "hook <chunk>: ",
/// e.g. "transform returned a function for column 'x'".
bool ToValue(lua_State* L, int idx, const std::string& column, Value* out, std::string* error);

}  // namespace lua
}  // namespace planrun
