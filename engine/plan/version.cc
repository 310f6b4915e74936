#include "plan/version.h"

#include <algorithm>

#include "util/strings.h"

namespace planrun {

namespace {
constexpr size_t kMaxParts = 8;
constexpr size_t kMaxPartDigits = 18;  // fits uint64_t with room to spare
}  // namespace

bool Version::Parse(const std::string& text, Version* out) {
  std::vector<std::string> parts = Split(text, '.');
  if (parts.size() > kMaxParts) return false;
  Version v;
  for (const std::string& part : parts) {
    if (part.empty() || part.size() > kMaxPartDigits) return false;
    if (part.size() > 1 && part[0] == '0') return false;
    uint64_t n = 0;
    for (char c : part) {
      if (c < '0' || c > '9') return false;
      n = n * 10 + static_cast<uint64_t>(c - '0');
    }
    v.parts.push_back(n);
  }
  v.text = text;
  *out = std::move(v);
  return true;
}

int Version::Compare(const Version& o) const {
  size_t n = std::max(parts.size(), o.parts.size());
  for (size_t i = 0; i < n; ++i) {
    uint64_t a = i < parts.size() ? parts[i] : 0;
    uint64_t b = i < o.parts.size() ? o.parts[i] : 0;
    if (a != b) return a < b ? -1 : 1;
  }
  return 0;
}

}  // namespace planrun
