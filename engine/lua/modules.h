// The modules preloaded into every hook state as globals. Internal to lua/;
// docs/lua.md lists every function for users.
//   json   encode(v), decode(s), array([t]), null
//   uuid   v4(), v5(namespace, name), is_valid(s)
//   text   trim(s), strip_nul(s), slugify(s), normalize_whitespace(s)
//   check  email(v), uuid(v), slug(v), url(v), non_empty(v)
// REQUIRES for each Open function: inside Sandbox::Run().
#pragma once

#include <lua5.4/lua.hpp>

#include <string_view>

namespace planrun {
namespace lua {

/// Sets the global `json`.
void OpenJson(lua_State* L);
/// Sets the global `uuid`.
void OpenUuid(lua_State* L);
/// Sets the global `text`.
void OpenText(lua_State* L);
/// Sets the global `check`.
void OpenCheck(lua_State* L);

/// Parses "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" (hex, either case) into 16
/// bytes; false for anything else. `out` may be null.
bool ParseUuid(std::string_view s, unsigned char* out);

}  // namespace lua
}  // namespace planrun
