// The text module: trim, strip_nul, slugify, normalize_whitespace. ASCII
// rules only; bytes of multi-byte UTF-8 characters pass through unchanged,
// except in slugify, which drops them.

#include <cstring>

#include "lua/modules.h"

namespace planrun {
namespace lua {
namespace {

bool IsSpace(unsigned char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

int Trim(lua_State* L) {
  size_t len = 0;
  const char* s = luaL_checklstring(L, 1, &len);
  size_t begin = 0;
  while (begin < len && IsSpace(static_cast<unsigned char>(s[begin]))) ++begin;
  size_t end = len;
  while (end > begin && IsSpace(static_cast<unsigned char>(s[end - 1]))) --end;
  lua_pushlstring(L, s + begin, end - begin);
  return 1;
}

int StripNul(lua_State* L) {
  size_t len = 0;
  const char* s = luaL_checklstring(L, 1, &len);
  if (std::memchr(s, '\0', len) == nullptr) {
    lua_settop(L, 1);
    return 1;
  }
  luaL_Buffer b;
  char* out = luaL_buffinitsize(L, &b, len);
  size_t n = 0;
  for (size_t i = 0; i < len; ++i) {
    if (s[i] != '\0') out[n++] = s[i];
  }
  luaL_pushresultsize(&b, n);
  return 1;
}

int Slugify(lua_State* L) {
  size_t len = 0;
  const char* s = luaL_checklstring(L, 1, &len);
  luaL_Buffer b;
  char* out = luaL_buffinitsize(L, &b, len);
  size_t n = 0;
  bool gap = false;  // a separator is owed before the next letter or digit
  for (size_t i = 0; i < len; ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) continue;  // non-ASCII: dropped
    const bool lower = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    const bool upper = c >= 'A' && c <= 'Z';
    if (!lower && !upper) {
      gap = n > 0;
      continue;
    }
    if (gap) out[n++] = '-';
    gap = false;
    out[n++] = static_cast<char>(upper ? c - 'A' + 'a' : c);
  }
  luaL_pushresultsize(&b, n);
  return 1;
}

int NormalizeWhitespace(lua_State* L) {
  size_t len = 0;
  const char* s = luaL_checklstring(L, 1, &len);
  luaL_Buffer b;
  char* out = luaL_buffinitsize(L, &b, len);
  size_t n = 0;
  bool gap = false;
  for (size_t i = 0; i < len; ++i) {
    if (IsSpace(static_cast<unsigned char>(s[i]))) {
      gap = n > 0;
      continue;
    }
    if (gap) out[n++] = ' ';
    gap = false;
    out[n++] = s[i];
  }
  luaL_pushresultsize(&b, n);
  return 1;
}

}  // namespace

void OpenText(lua_State* L) {
  static const luaL_Reg kFunctions[] = {{"trim", &Trim},
                                        {"strip_nul", &StripNul},
                                        {"slugify", &Slugify},
                                        {"normalize_whitespace", &NormalizeWhitespace},
                                        {nullptr, nullptr}};
  luaL_newlib(L, kFunctions);
  lua_setglobal(L, "text");
}

}  // namespace lua
}  // namespace planrun
