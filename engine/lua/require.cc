// require(name) for hooks: modules are .lua files under the plan directory.

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "lua/env.h"
#include "lua/sandbox.h"

namespace planrun {
namespace lua {
namespace {

char kModulesKey;  // registry: module name -> its result, or kLoading
char kLoading;     // marks a module whose chunk is running

bool ValidName(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

std::string RealPath(const std::string& path) {
  char* real = realpath(path.c_str(), nullptr);
  if (real == nullptr) return "";
  std::string out(real);
  std::free(real);
  return out;
}

// Reads module `name` into the sandbox's scratch and records its path as a
// chunk name in *path. On failure returns false with the message in scratch.
bool ReadModule(Sandbox* sb, std::string_view name, const std::string** path) {
  std::string* text = sb->scratch();
  const std::string quoted = "require '" + std::string(name) + "': ";
  if (!ValidName(name)) {
    *text = quoted + "module names are letters, digits, _ and .";
    return false;
  }
  std::string rel(name);
  for (char& c : rel) {
    if (c == '.') c = '/';
  }
  rel += ".lua";
  const std::string& dir = sb->plan_dir();
  const std::string file = dir.empty() ? rel : dir + "/" + rel;
  const std::string real_file = RealPath(file);
  if (real_file.empty()) {
    *text = quoted + (errno == ENOENT || errno == ENOTDIR ? "no file " + file
                                                          : file + ": " + std::strerror(errno));
    return false;
  }
  const std::string real_dir = RealPath(dir.empty() ? "." : dir);
  if (real_dir.empty() || real_file.compare(0, real_dir.size() + 1, real_dir + "/") != 0) {
    *text = quoted + file + " is outside the plan directory";
    return false;
  }
  std::ifstream in(file, std::ios::binary);
  std::ostringstream contents;
  if (in) contents << in.rdbuf();
  if (!in || in.bad()) {
    *text = quoted + "cannot read " + file;
    return false;
  }
  *text = contents.str();
  *path = &sb->AddChunkName(file);
  return true;
}

int Require(lua_State* L) {
  size_t len = 0;
  const char* name = luaL_checklstring(L, 1, &len);
  lua_settop(L, 1);
  lua_rawgetp(L, LUA_REGISTRYINDEX, &kModulesKey);  // 2
  if (lua_getfield(L, 2, name) != LUA_TNIL) {
    if (lua_touserdata(L, 3) == &kLoading) {
      return luaL_error(L, "require '%s': circular require", name);
    }
    return 1;
  }
  lua_pop(L, 1);
  Sandbox* sb = Sandbox::From(L);
  const std::string* path = nullptr;
  if (!ReadModule(sb, std::string_view(name, len), &path)) {
    return luaL_error(L, "%s", sb->scratch()->c_str());
  }
  const std::string* text = sb->scratch();
  if (luaL_loadbufferx(L, text->data(), text->size(), ("=" + *path).c_str(), "t") != LUA_OK) {
    return luaL_error(L, "require '%s': %s", name, lua_tostring(L, -1));
  }
  lua_pushlightuserdata(L, &kLoading);
  lua_setfield(L, 2, name);
  lua_pushvalue(L, 1);
  if (sb->ProtectedCall(L, 1, 1) != LUA_OK) {
    lua_pushnil(L);
    lua_setfield(L, 2, name);
    return lua_error(L);
  }
  if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
    lua_pushboolean(L, 1);
  }
  lua_pushvalue(L, -1);
  lua_setfield(L, 2, name);
  return 1;
}

}  // namespace

void OpenRequire(lua_State* L) {
  lua_newtable(L);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &kModulesKey);
  lua_register(L, "require", &Require);
}

}  // namespace lua
}  // namespace planrun
