// The YAML tree planrun works on. plan/yaml_reader.cc is the only code that
// talks to yaml-cpp; it converts a document into this tree, with a location on
// every node, so the rest of the parser never sees a yaml-cpp type or
// exception. Nodes are plain values: copy them freely.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "plan/source.h"
#include "util/status.h"

namespace planrun {

/// One YAML value with its location.
struct Node {
  enum class Kind { kNull, kScalar, kMap, kSeq };
  Kind kind = Kind::kNull;
  Loc loc;
  std::string scalar;   // kScalar: the text as written (without quotes)
  bool quoted = false;  // kScalar: written in quotes, so a string even if it looks like 2 or true
  std::vector<std::pair<Node, Node>> map;  // kMap: key/value pairs in file order
  std::vector<Node> seq;                   // kSeq: items in file order

  bool IsNull() const { return kind == Kind::kNull; }
  bool IsScalar() const { return kind == Kind::kScalar; }
  bool IsMap() const { return kind == Kind::kMap; }
  bool IsSeq() const { return kind == Kind::kSeq; }
  /// The value under `key` in a map, or nullptr (also for non-maps).
  const Node* Get(std::string_view key) const;
  /// "a mapping", "a list", "null", or a scalar's text in quotes ('abc', cut
  /// short at a line break or 40 bytes): for "must be X, got Y" errors.
  std::string KindName() const;
};

/// Limits that keep hostile YAML from exhausting memory or the stack.
struct YamlLimits {
  size_t max_bytes = 4 << 20;        // a plan file larger than this is refused
  int max_depth = 64;                // nesting of maps and lists
  size_t max_nodes = 200000;         // after alias expansion (stops "billion laughs")
  size_t max_text_bytes = 64 << 20;  // scalar text after alias expansion
};

/// Parses `file.text` as one YAML document into `root`. Errors (syntax,
/// duplicate keys, limits, more than one document, non-scalar map keys) come
/// back as PlanError texts.
Status ParseYaml(const SourceFile& file, Node* root, const YamlLimits& limits = YamlLimits());

/// A canonical text of `node` (JSON-like, keys in file order, no comments or
/// layout): equal for documents that mean the same, used for checksums.
std::string CanonicalText(const Node& node);

}  // namespace planrun
