// The uuid module: v4(), v5(namespace, name), is_valid(s).

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "lua/modules.h"

namespace planrun {
namespace lua {
namespace {

void PushUuid(lua_State* L, const unsigned char* b) {
  static const char kHex[] = "0123456789abcdef";
  char text[36];
  int n = 0;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) text[n++] = '-';
    text[n++] = kHex[b[i] >> 4];
    text[n++] = kHex[b[i] & 15];
  }
  lua_pushlstring(L, text, sizeof text);
}

// Sets the version nibble and the RFC 4122 variant bits.
void Stamp(unsigned char* b, int version) {
  b[6] = static_cast<unsigned char>((b[6] & 0x0F) | (version << 4));
  b[8] = static_cast<unsigned char>((b[8] & 0x3F) | 0x80);
}

int V4(lua_State* L) {
  unsigned char b[16];
  if (RAND_bytes(b, sizeof b) != 1) return luaL_error(L, "uuid.v4: no random bytes available");
  Stamp(b, 4);
  PushUuid(L, b);
  return 1;
}

int V5(lua_State* L) {
  size_t ns_len = 0;
  size_t name_len = 0;
  const char* ns = luaL_checklstring(L, 1, &ns_len);
  const char* name = luaL_checklstring(L, 2, &name_len);
  unsigned char ns_bytes[16];
  if (!ParseUuid(std::string_view(ns, ns_len), ns_bytes)) {
    return luaL_error(L, "uuid.v5: the namespace '%s' is not a UUID", ns);
  }
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  const bool ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha1(), nullptr) == 1 &&
                  EVP_DigestUpdate(ctx, ns_bytes, sizeof ns_bytes) == 1 &&
                  EVP_DigestUpdate(ctx, name, name_len) == 1 &&
                  EVP_DigestFinal_ex(ctx, md, &md_len) == 1;
  EVP_MD_CTX_free(ctx);
  if (!ok) return luaL_error(L, "uuid.v5: SHA-1 is not available");
  Stamp(md, 5);
  PushUuid(L, md);
  return 1;
}

int IsValid(lua_State* L) {
  size_t len = 0;
  const char* s = lua_type(L, 1) == LUA_TSTRING ? lua_tolstring(L, 1, &len) : nullptr;
  lua_pushboolean(L, s && ParseUuid(std::string_view(s, len), nullptr));
  return 1;
}

}  // namespace

bool ParseUuid(std::string_view s, unsigned char* out) {
  if (s.size() != 36) return false;
  int byte = 0;
  for (size_t i = 0; i < 36; i += 2) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (s[i] != '-') return false;
      ++i;
    }
    int v = 0;
    for (size_t j = i; j < i + 2; ++j) {
      const char c = s[j];
      const int d = c >= '0' && c <= '9'   ? c - '0'
                    : c >= 'a' && c <= 'f' ? c - 'a' + 10
                    : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                           : -1;
      if (d < 0) return false;
      v = v * 16 + d;
    }
    if (out) out[byte] = static_cast<unsigned char>(v);
    ++byte;
  }
  return true;
}

void OpenUuid(lua_State* L) {
  static const luaL_Reg kFunctions[] = {
      {"v4", &V4}, {"v5", &V5}, {"is_valid", &IsValid}, {nullptr, nullptr}};
  luaL_newlib(L, kFunctions);
  lua_setglobal(L, "uuid");
}

}  // namespace lua
}  // namespace planrun
