// The check module: email, uuid, slug, url, non_empty. Each takes any value
// and returns a boolean; non-strings are false (non_empty aside).

#include <string_view>

#include "lua/convert.h"
#include "lua/modules.h"

namespace planrun {
namespace lua {
namespace {

bool IsAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// Dot-separated labels of letters, digits and inner hyphens, at most 63
// bytes each; at least `min_labels` of them.
bool IsHostName(std::string_view s, int min_labels) {
  int labels = 0;
  size_t start = 0;
  while (start <= s.size()) {
    size_t end = s.find('.', start);
    if (end == std::string_view::npos) end = s.size();
    const std::string_view label = s.substr(start, end - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
      return false;
    }
    for (char c : label) {
      if (!IsAlnum(c) && c != '-') return false;
    }
    ++labels;
    start = end + 1;
  }
  return labels >= min_labels;
}

// local@domain: an RFC 5322 dot-atom local part (at most 64 bytes) and a
// host name with a dot; at most 254 bytes in all.
bool IsEmail(std::string_view s) {
  const size_t at = s.find('@');
  if (at == std::string_view::npos || at == 0 || at > 64 || s.size() > 254) return false;
  const std::string_view local = s.substr(0, at);
  if (local.front() == '.' || local.back() == '.' || local.find("..") != std::string_view::npos) {
    return false;
  }
  static const std::string_view kSpecials = "!#$%&'*+/=?^_`{|}~-.";
  for (char c : local) {
    if (!IsAlnum(c) && kSpecials.find(c) == std::string_view::npos) return false;
  }
  return IsHostName(s.substr(at + 1), 2);
}

bool IsSlug(std::string_view s) {
  if (s.empty() || s.front() == '-' || s.back() == '-') return false;
  char prev = 0;
  for (char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (c == '-' && prev != '-');
    if (!ok) return false;
    prev = c;
  }
  return true;
}

// http:// or https:// (any case), a host name or [IPv6], an optional port,
// then a path, query or fragment without spaces or control characters.
bool IsUrl(std::string_view s) {
  size_t i = 0;
  for (std::string_view scheme : {"https://", "http://"}) {
    if (s.size() < scheme.size()) continue;
    bool same = true;
    for (size_t j = 0; j < scheme.size(); ++j) {
      const char c = s[j] >= 'A' && s[j] <= 'Z' ? static_cast<char>(s[j] - 'A' + 'a') : s[j];
      same = same && c == scheme[j];
    }
    if (same) {
      i = scheme.size();
      break;
    }
  }
  if (i == 0) return false;
  size_t end = s.find_first_of("/?#", i);
  if (end == std::string_view::npos) end = s.size();
  std::string_view host = s.substr(i, end - i);
  const size_t colon = host.rfind(':');
  if (colon != std::string_view::npos && host.find(']', colon) == std::string_view::npos) {
    const std::string_view port = host.substr(colon + 1);
    if (port.empty() || port.size() > 5) return false;
    long value = 0;
    for (char c : port) {
      if (c < '0' || c > '9') return false;
      value = value * 10 + (c - '0');
    }
    if (value > 65535) return false;
    host = host.substr(0, colon);
  }
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    for (char c : host.substr(1, host.size() - 2)) {
      const bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
      if (!hex && c != ':' && c != '.') return false;
    }
  } else if (!IsHostName(host, 1)) {
    return false;
  }
  for (size_t j = end; j < s.size(); ++j) {
    const unsigned char c = static_cast<unsigned char>(s[j]);
    if (c <= 0x20 || c == 0x7F) return false;
  }
  return true;
}

// Runs `test` on a string argument; false for other types.
template <bool (*test)(std::string_view)>
int StringCheck(lua_State* L) {
  size_t len = 0;
  const char* s = lua_type(L, 1) == LUA_TSTRING ? lua_tolstring(L, 1, &len) : nullptr;
  lua_pushboolean(L, s && test(std::string_view(s, len)));
  return 1;
}

bool IsUuid(std::string_view s) { return ParseUuid(s, nullptr); }

int NonEmpty(lua_State* L) {
  bool result = true;
  switch (lua_type(L, 1)) {
    case LUA_TNONE:
    case LUA_TNIL:
      result = false;
      break;
    case LUA_TLIGHTUSERDATA:
      result = !IsNull(L, 1);
      break;
    case LUA_TSTRING: {
      size_t len = 0;
      const char* s = lua_tolstring(L, 1, &len);
      result = std::string_view(s, len).find_first_not_of(" \t\n\r\f\v") != std::string_view::npos;
      break;
    }
    case LUA_TTABLE:
      lua_pushnil(L);
      result = lua_next(L, 1) != 0;
      break;
  }
  lua_pushboolean(L, result);
  return 1;
}

}  // namespace

void OpenCheck(lua_State* L) {
  static const luaL_Reg kFunctions[] = {
      {"email", &StringCheck<IsEmail>}, {"uuid", &StringCheck<IsUuid>},
      {"slug", &StringCheck<IsSlug>},   {"url", &StringCheck<IsUrl>},
      {"non_empty", &NonEmpty},         {nullptr, nullptr}};
  luaL_newlib(L, kFunctions);
  lua_setglobal(L, "check");
}

}  // namespace lua
}  // namespace planrun
