// The parsed `objects` step (steps/objects_step.cc) and the text helpers it
// shares with its stores: `{name}` templates for object keys and `set`
// values, and `env:VAR` / `${env:VAR}` expansion of store settings.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "plan/map_reader.h"
#include "plan/parser.h"
#include "steps/data_spec.h"

namespace planrun {

/// A text with `{name}` fields, e.g. "designs/{id}.{ext}".
struct Template {
  std::string text;
  /// Literal pieces and field names alternating: parts[0] literal, parts[1]
  /// a name, parts[2] literal, ... (always an odd count).
  std::vector<std::string> parts;

  /// The names the template uses, in order.
  std::vector<std::string> Names() const;
  /// The text with each field replaced by vars[name]; a name missing from
  /// `vars` (a NULL column) gives an error naming it.
  bool Expand(const std::map<std::string, std::string>& vars, std::string* out,
              std::string* missing) const;
};

/// Parses `text` ("designs/{id}.png"); "{" and "}" must pair around a name.
bool ParseTemplate(const std::string& text, Template* out, std::string* error);

/// Where objects go.
struct StoreSpec {
  std::string kind;  // "http", "s3" or "dir"
  // http
  std::string base_url;  // may be "env:VAR" or hold ${env:VAR}
  std::string method = "PUT";
  std::vector<std::pair<std::string, std::string>> headers;  // values may hold ${env:VAR}
  // s3
  std::string endpoint;  // "http://127.0.0.1:9000"; path-style: <endpoint>/<bucket>/<key>
  std::string bucket;    // may be "env:VAR"
  std::string region = "us-east-1";  // may be "env:VAR"
  std::string access_key = "env:AWS_ACCESS_KEY_ID";
  std::string secret_key = "env:AWS_SECRET_ACCESS_KEY";
  // dir
  std::string path;
  // all
  Template key;         // the object key (may be empty with a url hook: the hook gives it)
  Template public_url;  // what {url} becomes in `set`; empty: the store's own URL or path
};

/// A files source (`from: {files: glob, root: folder}`): one row per
/// regular file under root matching glob.
struct FilesSource {
  std::string glob;  // "packages/**/*.taptik", relative to root
  std::string root;  // the folder; may be "env:VAR"
};

/// Where a files source's rows go: INSERT ... ON CONFLICT (key) DO NOTHING.
struct InsertSpec {
  TableName table;
  std::vector<std::string> key;                           // must have a unique index
  std::vector<std::pair<std::string, Template>> columns;  // column -> template
};

/// A parsed `objects` step.
struct ObjectsSpec {
  FilesSource files;  // set for a files source; then `table`, `key`, `url_column` are empty
  InsertSpec insert;  // a files source's rows
  TableName table;
  std::vector<std::string> key;
  std::string where;
  /// from.files_root: the folder file:// source URLs may read from (may be
  /// "env:VAR"); empty: sources are http and https only.
  std::string files_root;
  std::string url_column;  // the column holding the source URL; empty with url_hook
  /// url: {hook: file.lua}: the Lua hook giving each row's source URL (and
  /// optionally its object key and upload headers) instead of url_column.
  HookSpec url_hook;
  std::vector<std::pair<std::string, Template>> set;  // column -> template
  StoreSpec store;
  int concurrency = 8;
  int retries = 5;
  int64_t retry_delay_ms = 500;  // the first backoff
  int64_t max_bytes = 0;         // 0: no cap
  int64_t connect_timeout_ms = 10000;
  int64_t timeout_ms = 300000;
  int64_t low_speed_time_ms = 30000;
  bool delete_on_rollback = false;
  DataSettings settings;

  /// The columns read per row: key, the URL column (none with a hook), then
  /// template columns. With a hook the step also reads every other column.
  std::vector<std::string> ReadColumns() const;
  /// True for a files source.
  bool FromFiles() const { return !files.glob.empty(); }
  /// The table the step writes: insert.table for a files source, else table.
  const TableName& Target() const { return FromFiles() ? insert.table : table; }
  /// The templates a transfer expands after the key: insert columns or set.
  const std::vector<std::pair<std::string, Template>>& RowTemplates() const {
    return FromFiles() ? insert.columns : set;
  }
};

/// Names the step provides itself (not columns), per template kind.
extern const std::vector<std::string> kKeyTemplateNames;  // sha256, size, content_type, ext, name
extern const std::vector<std::string> kSetTemplateNames;  // the above, key and url
/// The fields of a files source's row (besides json and json.<field>).
extern const std::vector<std::string> kFileFieldNames;  // path, name, size, sha256, mtime

/// Expands "env:VAR" (the whole value) and "${env:VAR}" (anywhere) in
/// `text`; `what` names the setting in the error about an unset variable.
/// Each expanded value is added to `*secrets` when it is not null.
Status ExpandEnv(const std::string& text, const std::string& what, std::string* out,
                 std::vector<std::string>* secrets = nullptr);

/// Parses a size: "50MB", "512KiB", "1GB", "1000" (bytes).
bool ParseSize(const std::string& text, int64_t* bytes);

/// Parses the body of an `objects` step.
Status ParseObjectsSpec(const Node& body, const StepParseContext& ctx, ObjectsSpec* out);

}  // namespace planrun
