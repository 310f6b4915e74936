// The json module: encode, decode, array, null.

#include "lua/json.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "lua/convert.h"
#include "lua/modules.h"
#include "lua/sandbox.h"

namespace planrun {
namespace lua {
namespace {

char kArrayMetaKey;  // registry: the metatable marking JSON arrays

constexpr int kMaxDepth = 128;

// The length of the valid UTF-8 sequence at s (n bytes available), or 0.
size_t Utf8Length(const unsigned char* s, size_t n) {
  const unsigned char c = s[0];
  size_t len = 0;
  unsigned char lo = 0x80;
  unsigned char hi = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3;
    if (c == 0xE0) lo = 0xA0;  // no overlong forms
    if (c == 0xED) hi = 0x9F;  // no surrogates
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;  // nothing past U+10FFFF
  } else {
    return 0;
  }
  if (n < len || s[1] < lo || s[1] > hi) return 0;
  for (size_t i = 2; i < len; ++i) {
    if (s[i] < 0x80 || s[i] > 0xBF) return 0;
  }
  return len;
}

// Holds only pointers: an error raised by Lua may skip its destructor.
class Encoder {
 public:
  Encoder(lua_State* L, std::string* out)
      : L_(L), sb_(Sandbox::From(L)), out_(out), keys_(sb_->scratch_keys()) {}

  bool Encode(int idx, int depth) {
    switch (lua_type(L_, idx)) {
      case LUA_TNIL:
        out_->append("null");
        return true;
      case LUA_TBOOLEAN:
        out_->append(lua_toboolean(L_, idx) ? "true" : "false");
        return true;
      case LUA_TNUMBER:
        return Number(idx);
      case LUA_TSTRING: {
        size_t len = 0;
        const char* s = lua_tolstring(L_, idx, &len);
        return String(s, len);
      }
      case LUA_TLIGHTUSERDATA:
        if (!IsNull(L_, idx)) break;
        out_->append("null");
        return true;
      case LUA_TTABLE:
        return Table(idx, depth);
    }
    return Fail(std::string("cannot encode a ") + luaL_typename(L_, idx));
  }

 private:
  bool Fail(const std::string& msg) {
    out_->assign("json.encode: " + msg);
    return false;
  }

  bool CheckSize() {
    if (out_->size() <= sb_->memory_limit()) return true;
    sb_->FailMemory("json.encode made a text larger than that");
    return Fail("the text exceeds the memory limit");
  }

  bool Number(int idx) {
    char buf[64];
    std::to_chars_result r;
    if (lua_isinteger(L_, idx)) {
      r = std::to_chars(buf, buf + sizeof buf, static_cast<int64_t>(lua_tointeger(L_, idx)));
      out_->append(buf, r.ptr);
      return true;
    }
    const double d = lua_tonumber(L_, idx);
    if (!std::isfinite(d)) return Fail("cannot encode NaN or infinity");
    r = std::to_chars(buf, buf + sizeof buf, d);
    out_->append(buf, r.ptr);
    if (std::none_of(buf, r.ptr, [](char c) { return c == '.' || c == 'e'; })) out_->append(".0");
    return true;
  }

  bool String(const char* s, size_t n) {
    const auto* u = reinterpret_cast<const unsigned char*>(s);
    out_->push_back('"');
    size_t i = 0;
    while (i < n) {
      size_t run = i;
      while (run < n && u[run] >= 0x20 && u[run] < 0x80 && u[run] != '"' && u[run] != '\\') ++run;
      out_->append(s + i, run - i);
      i = run;
      if (i == n) break;
      const unsigned char c = u[i];
      if (c >= 0x80) {
        const size_t len = Utf8Length(u + i, n - i);
        if (len == 0) return Fail("invalid UTF-8 in a string at byte " + std::to_string(i + 1));
        out_->append(s + i, len);
        i += len;
        continue;
      }
      static const char kHex[] = "0123456789abcdef";
      const char* named = c == '"'    ? "\\\""
                          : c == '\\' ? "\\\\"
                          : c == '\b' ? "\\b"
                          : c == '\f' ? "\\f"
                          : c == '\n' ? "\\n"
                          : c == '\r' ? "\\r"
                          : c == '\t' ? "\\t"
                                      : nullptr;
      if (named) {
        out_->append(named);
      } else {
        const char esc[] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 15]};
        out_->append(esc, sizeof esc);
      }
      ++i;
    }
    out_->push_back('"');
    return CheckSize();
  }

  bool Table(int idx, int depth) {
    if (depth >= kMaxDepth || !lua_checkstack(L_, 4)) {
      return Fail("tables nested deeper than " + std::to_string(kMaxDepth) +
                  " (a table that contains itself?)");
    }
    lua_Integer n = 0;
    switch (ShapeOf(L_, idx, &n)) {
      case TableShape::kEmpty:
        out_->append(IsJsonArray(L_, idx) ? "[]" : "{}");
        return true;
      case TableShape::kMixed:
        return Fail(
            "cannot encode a table with mixed keys (neither a sequence 1..n nor a map with string "
            "keys)");
      case TableShape::kSequence:
        out_->push_back('[');
        for (lua_Integer i = 1; i <= n; ++i) {
          if (i > 1) out_->push_back(',');
          lua_rawgeti(L_, idx, i);
          const bool ok = Encode(lua_gettop(L_), depth + 1);
          lua_pop(L_, 1);
          if (!ok) return false;
        }
        out_->push_back(']');
        return CheckSize();
      case TableShape::kMap:
        return Object(idx, depth);
    }
    return false;
  }

  bool Object(int idx, int depth) {
    const size_t base = keys_->size();
    lua_pushnil(L_);
    while (lua_next(L_, idx)) {
      lua_pop(L_, 1);
      size_t len = 0;
      const char* k = lua_tolstring(L_, -1, &len);
      keys_->emplace_back(k, len);
    }
    std::sort(keys_->begin() + static_cast<std::ptrdiff_t>(base), keys_->end());
    out_->push_back('{');
    for (size_t i = base; i < keys_->size(); ++i) {
      if (i > base) out_->push_back(',');
      const std::string_view key = (*keys_)[i];
      if (!String(key.data(), key.size())) return false;
      out_->push_back(':');
      lua_pushlstring(L_, key.data(), key.size());
      lua_rawget(L_, idx);
      const bool ok = Encode(lua_gettop(L_), depth + 1);
      lua_pop(L_, 1);
      if (!ok) return false;
    }
    keys_->resize(base);
    out_->push_back('}');
    return CheckSize();
  }

  lua_State* L_;
  Sandbox* sb_;
  std::string* out_;
  std::vector<std::string_view>* keys_;
};

// A recursive-descent parser; errors raise "json.decode: <what> at position
// <byte>". Holds only pointers.
class Decoder {
 public:
  Decoder(lua_State* L, const char* s, size_t n) : L_(L), begin_(s), p_(s), end_(s + n) {}

  void Document() {
    Value(0);
    SkipSpace();
    if (p_ != end_) Fail("unexpected text after the value");
  }

 private:
  [[noreturn]] void Fail(const char* what) {
    luaL_error(L_, "json.decode: %s at position %d", what, static_cast<int>(p_ - begin_ + 1));
    std::abort();  // luaL_error does not return
  }

  void SkipSpace() {
    while (p_ < end_ && (*p_ == ' ' || *p_ == '\t' || *p_ == '\n' || *p_ == '\r')) ++p_;
  }

  bool At(char c) const { return p_ < end_ && *p_ == c; }
  bool AtDigit() const { return p_ < end_ && *p_ >= '0' && *p_ <= '9'; }

  void Value(int depth) {
    SkipSpace();
    if (p_ == end_) Fail("unexpected end of input");
    switch (*p_) {
      case '{':
        return Object(depth);
      case '[':
        return Array(depth);
      case '"':
        return String();
      case 't':
        Literal("true");
        return lua_pushboolean(L_, 1);
      case 'f':
        Literal("false");
        return lua_pushboolean(L_, 0);
      case 'n':
        Literal("null");
        return PushNull(L_);
    }
    if (*p_ == '-' || AtDigit()) return Number();
    Fail("unexpected character");
  }

  void Literal(std::string_view word) {
    if (static_cast<size_t>(end_ - p_) < word.size() || std::string_view(p_, word.size()) != word) {
      Fail("invalid literal");
    }
    p_ += word.size();
  }

  void Nest(int depth) {
    if (depth >= kMaxDepth) Fail("nesting deeper than 128");
    luaL_checkstack(L_, 4, "json.decode: nesting too deep");
    ++p_;
    SkipSpace();
  }

  void Object(int depth) {
    Nest(depth);
    lua_newtable(L_);
    if (At('}')) {
      ++p_;
      return;
    }
    for (;;) {
      SkipSpace();
      if (!At('"')) Fail("expected a string key");
      String();
      SkipSpace();
      if (!At(':')) Fail("expected ':'");
      ++p_;
      Value(depth + 1);
      lua_rawset(L_, -3);
      SkipSpace();
      if (At('}')) break;
      if (!At(',')) Fail("expected ',' or '}'");
      ++p_;
    }
    ++p_;
  }

  void Array(int depth) {
    Nest(depth);
    lua_newtable(L_);
    MarkJsonArray(L_, -1);
    if (At(']')) {
      ++p_;
      return;
    }
    for (lua_Integer i = 1;; ++i) {
      Value(depth + 1);
      lua_rawseti(L_, -2, i);
      SkipSpace();
      if (At(']')) break;
      if (!At(',')) Fail("expected ',' or ']'");
      ++p_;
    }
    ++p_;
  }

  void String() {
    const char* start = ++p_;
    while (p_ < end_ && *p_ != '"' && *p_ != '\\' && static_cast<unsigned char>(*p_) >= 0x20) ++p_;
    if (At('"')) {
      lua_pushlstring(L_, start, static_cast<size_t>(p_ - start));
      ++p_;
      return;
    }
    luaL_Buffer b;
    luaL_buffinit(L_, &b);
    luaL_addlstring(&b, start, static_cast<size_t>(p_ - start));
    for (;;) {
      if (p_ == end_) Fail("unterminated string");
      const unsigned char c = static_cast<unsigned char>(*p_);
      if (c == '"') break;
      if (c < 0x20) Fail("control character in a string");
      if (c != '\\') {
        luaL_addchar(&b, static_cast<char>(c));
        ++p_;
        continue;
      }
      if (++p_ == end_) Fail("unterminated string");
      const char e = *p_;
      const char plain = e == '"'    ? '"'
                         : e == '\\' ? '\\'
                         : e == '/'  ? '/'
                         : e == 'b'  ? '\b'
                         : e == 'f'  ? '\f'
                         : e == 'n'  ? '\n'
                         : e == 'r'  ? '\r'
                         : e == 't'  ? '\t'
                                     : 0;
      if (plain) {
        luaL_addchar(&b, plain);
        ++p_;
      } else if (e == 'u') {
        Unicode(&b);
      } else {
        Fail("invalid escape");
      }
    }
    ++p_;
    luaL_pushresult(&b);
  }

  // Reads XXXX of \uXXXX; p_ is at the 'u'.
  unsigned Hex4() {
    if (end_ - p_ < 5) Fail("invalid \\u escape");
    unsigned v = 0;
    for (int i = 1; i <= 4; ++i) {
      const char c = p_[i];
      const int d = c >= '0' && c <= '9'   ? c - '0'
                    : c >= 'a' && c <= 'f' ? c - 'a' + 10
                    : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                           : -1;
      if (d < 0) Fail("invalid \\u escape");
      v = v * 16 + static_cast<unsigned>(d);
    }
    p_ += 5;
    return v;
  }

  void Unicode(luaL_Buffer* b) {
    const char* at = p_;
    unsigned cp = Hex4();
    if (cp >= 0xDC00 && cp <= 0xDFFF) {
      p_ = at;
      Fail("lone surrogate in \\u escape");
    }
    if (cp >= 0xD800 && cp <= 0xDBFF) {
      if (end_ - p_ < 2 || p_[0] != '\\' || p_[1] != 'u') {
        p_ = at;
        Fail("lone surrogate in \\u escape");
      }
      ++p_;
      const unsigned lo = Hex4();
      if (lo < 0xDC00 || lo > 0xDFFF) {
        p_ = at;
        Fail("lone surrogate in \\u escape");
      }
      cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
    }
    char utf8[4];
    int n = 0;
    if (cp < 0x80) {
      utf8[n++] = static_cast<char>(cp);
    } else if (cp < 0x800) {
      utf8[n++] = static_cast<char>(0xC0 | (cp >> 6));
      utf8[n++] = static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      utf8[n++] = static_cast<char>(0xE0 | (cp >> 12));
      utf8[n++] = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      utf8[n++] = static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      utf8[n++] = static_cast<char>(0xF0 | (cp >> 18));
      utf8[n++] = static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      utf8[n++] = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      utf8[n++] = static_cast<char>(0x80 | (cp & 0x3F));
    }
    luaL_addlstring(b, utf8, static_cast<size_t>(n));
  }

  void Number() {
    const char* start = p_;
    if (At('-')) ++p_;
    if (!AtDigit()) Fail("invalid number");
    if (At('0')) {
      ++p_;
    } else {
      while (AtDigit()) ++p_;
    }
    bool integral = true;
    if (At('.')) {
      integral = false;
      ++p_;
      if (!AtDigit()) Fail("invalid number");
      while (AtDigit()) ++p_;
    }
    if (At('e') || At('E')) {
      integral = false;
      ++p_;
      if (At('+') || At('-')) ++p_;
      if (!AtDigit()) Fail("invalid number");
      while (AtDigit()) ++p_;
    }
    if (integral) {
      int64_t v = 0;
      if (std::from_chars(start, p_, v).ec == std::errc()) return lua_pushinteger(L_, v);
    }
    double d = 0;
    if (std::from_chars(start, p_, d).ec != std::errc()) {
      p_ = start;
      Fail("number out of range");
    }
    lua_pushnumber(L_, d);
  }

  lua_State* L_;
  const char* begin_;
  const char* p_;
  const char* end_;
};

int Encode(lua_State* L) {
  luaL_checkany(L, 1);
  std::string* text = Sandbox::From(L)->scratch();
  text->clear();
  if (!JsonEncode(L, 1, text)) return luaL_error(L, "%s", text->c_str());
  lua_pushlstring(L, text->data(), text->size());
  return 1;
}

int Decode(lua_State* L) {
  size_t n = 0;
  const char* s = luaL_checklstring(L, 1, &n);
  Decoder(L, s, n).Document();
  return 1;
}

int Array(lua_State* L) {
  if (lua_isnoneornil(L, 1)) {
    lua_settop(L, 0);
    lua_newtable(L);
  } else {
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 1);
  }
  MarkJsonArray(L, 1);
  return 1;
}

}  // namespace

bool JsonEncode(lua_State* L, int idx, std::string* out) {
  Sandbox::From(L)->scratch_keys()->clear();
  return Encoder(L, out).Encode(lua_absindex(L, idx), 0);
}

bool IsJsonArray(lua_State* L, int idx) {
  if (!lua_getmetatable(L, idx)) return false;
  lua_rawgetp(L, LUA_REGISTRYINDEX, &kArrayMetaKey);
  const bool marked = lua_rawequal(L, -1, -2) != 0;
  lua_pop(L, 2);
  return marked;
}

void MarkJsonArray(lua_State* L, int idx) {
  idx = lua_absindex(L, idx);
  lua_rawgetp(L, LUA_REGISTRYINDEX, &kArrayMetaKey);
  lua_setmetatable(L, idx);
}

void OpenJson(lua_State* L) {
  lua_createtable(L, 0, 1);
  lua_pushliteral(L, "json.array");
  lua_setfield(L, -2, "__name");
  lua_rawsetp(L, LUA_REGISTRYINDEX, &kArrayMetaKey);

  static const luaL_Reg kFunctions[] = {
      {"encode", &Encode}, {"decode", &Decode}, {"array", &Array}, {nullptr, nullptr}};
  luaL_newlib(L, kFunctions);
  PushNull(L);
  lua_setfield(L, -2, "null");
  lua_setglobal(L, "json");
}

}  // namespace lua
}  // namespace planrun
