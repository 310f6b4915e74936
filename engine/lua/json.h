// The json module's encoder and its array marker, shared with the row
// conversion (convert.h). Internal to lua/.
//
// Encoding: nil and the null sentinel -> null; booleans; integers as
// integers; floats in their shortest exact form, with ".0" when integral
// (NaN and infinity are errors); strings must be valid UTF-8 and are escaped
// (control characters as \uXXXX); a sequence 1..n -> array; a table with
// string keys -> object with keys in byte order; an empty table -> {} unless
// marked as an array (json.array, or decoded from []). Anything else, mixed
// keys, or nesting deeper than 128 is an error.
#pragma once

#include <lua5.4/lua.hpp>

#include <string>

namespace planrun {
namespace lua {

/// Appends the JSON text of the value at `idx` to *out. On failure returns
/// false and replaces *out with the message ("json.encode: ..."). Raises only
/// on memory errors. REQUIRES: inside Sandbox::Run().
bool JsonEncode(lua_State* L, int idx, std::string* out);

/// True when the table at `idx` is marked as a JSON array.
bool IsJsonArray(lua_State* L, int idx);

/// Marks the table at `idx` as a JSON array (sets its metatable).
void MarkJsonArray(lua_State* L, int idx);

}  // namespace lua
}  // namespace planrun
