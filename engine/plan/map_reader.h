// MapReader: reads the keys of one YAML mapping with exact, located errors.
// Every parser in planrun (plan header, step headers, each step kind) reads its
// mapping through one of these, so wrong types and unknown keys are reported
// the same way everywhere:
//
//   x.yaml:4:5: error: 'batch_size' must be an integer, got a string
//   x.yaml:4:5: error: unknown key 'tabels' in backup step; did you mean 'tables'?
//   x.yaml:3:3: error: backup step needs 'tables'
//
// Usage: construct, call one getter per known key (each marks the key as
// known), then Finish() to report the first unknown key. Not thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "plan/names.h"
#include "plan/node.h"

namespace planrun {

/// Typed, located access to the keys of one mapping.
class MapReader {
 public:
  /// `what` names the mapping in messages, e.g. "backup step" or "plan".
  /// Errors about missing keys point at `node`. REQUIRES: `file` and `node`
  /// outlive the reader.
  MapReader(const SourceFile& file, const Node& node, std::string what);

  /// Error unless the node is a mapping: "<what> must be a mapping, got a list".
  Status CheckIsMap() const;

  /// The raw node under `key` (marks the key as known), or nullptr.
  const Node* Raw(const std::string& key);

  // Each getter: absent key -> leaves *out untouched and returns OK unless
  // `required`, in which case "<what> needs '<key>'". Wrong type -> error at
  // the value's location.
  Status String(const std::string& key, std::string* out, bool required = false);
  Status Bool(const std::string& key, bool* out, bool required = false);
  Status Int(const std::string& key, int64_t* out, bool required = false);
  /// A duration such as "2s" or "10min" (see ParseDuration), in milliseconds.
  Status Duration(const std::string& key, int64_t* millis, bool required = false);
  /// A plain identifier (see names.h).
  Status Identifier(const std::string& key, std::string* out, bool required = false);
  /// A list of plain identifiers; a single scalar is accepted as a list of one.
  Status IdentifierList(const std::string& key, std::vector<std::string>* out,
                        bool required = false);
  Status Table(const std::string& key, TableName* out, bool required = false);
  /// A list of tables; a single scalar is accepted as a list of one.
  Status TableList(const std::string& key, std::vector<TableName>* out, bool required = false);
  /// A list of strings; a single scalar is accepted as a list of one.
  Status StringList(const std::string& key, std::vector<std::string>* out, bool required = false);

  /// Marks `key` as known without reading it.
  void Allow(const std::string& key);
  /// The first key not read or allowed: "unknown key 'k' in <what>; did you
  /// mean 'x'?" (the hint only when a known key is close), else the list of
  /// valid keys: "unknown key 'k' in <what>; expected one of: a, b, c".
  Status Finish() const;

  /// An error at `loc` in this reader's file.
  Status Error(Loc loc, const std::string& message) const;
  const SourceFile& file() const { return file_; }
  const Node& node() const { return node_; }
  const std::string& what() const { return what_; }

 private:
  const SourceFile& file_;
  const Node& node_;
  std::string what_;
  std::vector<std::string> known_;
};

/// Checks a scalar as a plain identifier: "invalid identifier 'a b' in <what>:
/// use letters, digits, _ and $, starting with a letter or _ (at most 63 bytes)".
Status CheckIdentifier(const SourceFile& file, const Node& scalar, const std::string& what);

}  // namespace planrun
