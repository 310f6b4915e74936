#include "plan/node.h"

#include <algorithm>
#include <cstdio>

namespace planrun {

namespace {

/// Longest scalar KindName shows before cutting it short.
constexpr size_t kMaxShownScalar = 40;

void AppendJsonString(std::string_view s, std::string* out) {
  out->push_back('"');
  for (char c : s) {
    switch (c) {
      case '"':
        *out += "\\\"";
        break;
      case '\\':
        *out += "\\\\";
        break;
      case '\n':
        *out += "\\n";
        break;
      case '\r':
        *out += "\\r";
        break;
      case '\t':
        *out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned char>(c));
          *out += buf;
        } else {
          out->push_back(c);
        }
    }
  }
  out->push_back('"');
}

void AppendCanonical(const Node& node, std::string* out) {
  switch (node.kind) {
    case Node::Kind::kNull:
      *out += "null";
      return;
    case Node::Kind::kScalar:
      AppendJsonString(node.scalar, out);
      return;
    case Node::Kind::kMap:
      out->push_back('{');
      for (size_t i = 0; i < node.map.size(); ++i) {
        if (i) out->push_back(',');
        AppendCanonical(node.map[i].first, out);
        out->push_back(':');
        AppendCanonical(node.map[i].second, out);
      }
      out->push_back('}');
      return;
    case Node::Kind::kSeq:
      out->push_back('[');
      for (size_t i = 0; i < node.seq.size(); ++i) {
        if (i) out->push_back(',');
        AppendCanonical(node.seq[i], out);
      }
      out->push_back(']');
      return;
  }
}

}  // namespace

const Node* Node::Get(std::string_view key) const {
  if (!IsMap()) return nullptr;
  for (const auto& [k, v] : map) {
    if (k.IsScalar() && k.scalar == key) return &v;
  }
  return nullptr;
}

std::string Node::KindName() const {
  switch (kind) {
    case Kind::kNull:
      return "null";
    case Kind::kMap:
      return "a mapping";
    case Kind::kSeq:
      return "a list";
    case Kind::kScalar:
      break;
  }
  std::string_view shown = scalar;
  size_t cut = std::min(shown.find('\n'), kMaxShownScalar);
  if (cut >= shown.size()) return "'" + scalar + "'";
  // Back up to a UTF-8 character boundary.
  while (cut > 0 && (static_cast<unsigned char>(shown[cut]) & 0xC0) == 0x80) --cut;
  return "'" + std::string(shown.substr(0, cut)) + "...'";
}

std::string CanonicalText(const Node& node) {
  std::string out;
  AppendCanonical(node, &out);
  return out;
}

}  // namespace planrun
