#include "steps/objects_spec.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>

#include "plan/names.h"
#include "steps/objects_files.h"
#include "steps/parse_helpers.h"
#include "util/strings.h"

namespace planrun {

const std::vector<std::string> kKeyTemplateNames = {"sha256", "size", "content_type", "ext",
                                                    "name"};
const std::vector<std::string> kSetTemplateNames = {"sha256", "size", "content_type", "ext",
                                                    "name",   "key",  "url"};
const std::vector<std::string> kFileFieldNames = {"path", "name", "size", "sha256", "mtime"};

namespace {

/// "json" or "json.<part>.<part>..." with parts of letters, digits, _, $ and -.
bool IsJsonField(const std::string& name) {
  if (name == "json") return true;
  if (!StartsWith(name, "json.")) return false;
  const std::vector<std::string> parts = Split(name.substr(5), '.');
  return std::all_of(parts.begin(), parts.end(), [](const std::string& p) {
    return !p.empty() && std::all_of(p.begin(), p.end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '$' || c == '-';
    });
  });
}

}  // namespace

std::vector<std::string> Template::Names() const {
  std::vector<std::string> out;
  for (size_t i = 1; i < parts.size(); i += 2) out.push_back(parts[i]);
  return out;
}

bool Template::Expand(const std::map<std::string, std::string>& vars, std::string* out,
                      std::string* missing) const {
  out->clear();
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i % 2 == 0) {
      *out += parts[i];
      continue;
    }
    auto it = vars.find(parts[i]);
    if (it == vars.end()) {
      *missing = parts[i];
      return false;
    }
    *out += it->second;
  }
  return true;
}

bool ParseTemplate(const std::string& text, Template* out, std::string* error) {
  out->text = text;
  out->parts = {""};
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '}') {
      *error = "'}' without '{' at offset " + std::to_string(i);
      return false;
    }
    if (text[i] != '{') {
      out->parts.back() += text[i];
      continue;
    }
    const size_t close = text.find('}', i);
    if (close == std::string::npos) {
      *error = "'{' without '}' at offset " + std::to_string(i);
      return false;
    }
    const std::string name = text.substr(i + 1, close - i - 1);
    if (!IsPlainIdentifier(name) && !IsJsonField(name)) {
      *error = "'{" + name + "}' is not a column or field name";
      return false;
    }
    out->parts.push_back(name);
    out->parts.push_back("");
    i = close;
  }
  return true;
}

std::vector<std::string> ObjectsSpec::ReadColumns() const {
  std::vector<std::string> cols = key;
  auto add = [&](const std::string& c) {
    if (std::find(cols.begin(), cols.end(), c) == cols.end()) cols.push_back(c);
  };
  if (!url_column.empty()) add(url_column);
  auto add_template = [&](const Template& t, const std::vector<std::string>& own) {
    for (const auto& n : t.Names()) {
      if (std::find(own.begin(), own.end(), n) == own.end()) add(n);
    }
  };
  add_template(store.key, kKeyTemplateNames);
  add_template(store.public_url, kSetTemplateNames);
  for (const auto& [col, t] : set) add_template(t, kSetTemplateNames);
  return cols;
}

Status ExpandEnv(const std::string& text, const std::string& what, std::string* out,
                 std::vector<std::string>* secrets) {
  auto lookup = [&](const std::string& var, std::string* value) -> Status {
    const char* v = std::getenv(var.c_str());
    if (v == nullptr || *v == '\0') {
      return Status::Failed(what + " reads the environment variable " + var + ", which is not set");
    }
    *value = v;
    if (secrets) secrets->push_back(*value);
    return Status::OK();
  };
  if (StartsWith(text, "env:")) return lookup(text.substr(4), out);
  out->clear();
  size_t pos = 0;
  while (true) {
    const size_t start = text.find("${env:", pos);
    if (start == std::string::npos) break;
    const size_t end = text.find('}', start);
    if (end == std::string::npos) break;
    std::string value;
    PLANRUN_RETURN_IF_ERROR(lookup(text.substr(start + 6, end - start - 6), &value));
    *out += text.substr(pos, start - pos) + value;
    pos = end + 1;
  }
  *out += text.substr(pos);
  return Status::OK();
}

bool ParseSize(const std::string& text, int64_t* bytes) {
  size_t i = 0;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
  if (i == 0 || i > 15) return false;
  const int64_t n = std::stoll(text.substr(0, i));
  std::string unit = Trim(text.substr(i));
  for (char& c : unit) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  static const std::vector<std::pair<std::string, int64_t>> kUnits = {
      {"", 1},         {"b", 1},         {"kb", 1000},       {"kib", 1024},
      {"mb", 1000000}, {"mib", 1 << 20}, {"gb", 1000000000}, {"gib", int64_t{1} << 30}};
  for (const auto& [name, mult] : kUnits) {
    if (unit == name) {
      *bytes = n * mult;
      return true;
    }
  }
  return false;
}

namespace {

Status ReadTemplate(MapReader& r, const std::string& key, Template* out, bool required) {
  std::string text;
  PLANRUN_RETURN_IF_ERROR(r.String(key, &text, required));
  if (!r.Raw(key)) return Status::OK();
  std::string error;
  if (!ParseTemplate(text, out, &error)) {
    return r.Error(r.Raw(key)->loc, "'" + key + "' template: " + error);
  }
  return Status::OK();
}

// Checks that a template names no field of the wrong kind.
Status CheckNames(MapReader& r, const Node& where, const Template& t, const std::string& what,
                  const std::vector<std::string>& forbidden) {
  for (const auto& n : t.Names()) {
    if (std::find(forbidden.begin(), forbidden.end(), n) != forbidden.end()) {
      return r.Error(where.loc, what + " cannot use {" + n + "}: it is known only after upload");
    }
  }
  return Status::OK();
}

// `key_required`: false when a url hook may give each row's key.
Status ReadStore(MapReader& r, const Node& to, bool key_required, StoreSpec* out) {
  MapReader s(r.file(), to, "objects step 'to'");
  PLANRUN_RETURN_IF_ERROR(s.CheckIsMap());
  PLANRUN_RETURN_IF_ERROR(s.String("store", &out->kind, true));
  if (out->kind == "http") {
    PLANRUN_RETURN_IF_ERROR(
        CheckKeys(s, {"store", "base_url", "method", "headers", "key", "public_url"}));
    PLANRUN_RETURN_IF_ERROR(s.String("base_url", &out->base_url, true));
    PLANRUN_RETURN_IF_ERROR(s.String("method", &out->method));
    if (out->method != "PUT" && out->method != "POST") {
      return s.Error(s.Raw("method")->loc,
                     "'method' must be PUT or POST, got '" + out->method + "'");
    }
  } else if (out->kind == "s3") {
    PLANRUN_RETURN_IF_ERROR(CheckKeys(s, {"store", "endpoint", "bucket", "region", "access_key",
                                          "secret_key", "headers", "key", "public_url"}));
    PLANRUN_RETURN_IF_ERROR(s.String("bucket", &out->bucket, true));
    PLANRUN_RETURN_IF_ERROR(s.String("region", &out->region));
    out->endpoint = "https://s3." + out->region + ".amazonaws.com";
    PLANRUN_RETURN_IF_ERROR(s.String("endpoint", &out->endpoint));
    PLANRUN_RETURN_IF_ERROR(s.String("access_key", &out->access_key));
    PLANRUN_RETURN_IF_ERROR(s.String("secret_key", &out->secret_key));
  } else if (out->kind == "dir") {
    PLANRUN_RETURN_IF_ERROR(CheckKeys(s, {"store", "path", "key", "public_url"}));
    PLANRUN_RETURN_IF_ERROR(s.String("path", &out->path, true));
  } else {
    return s.Error(s.Raw("store")->loc, "'store' must be http, s3 or dir, got '" + out->kind + "'");
  }
  if (const Node* h = s.Raw("headers")) {
    if (!h->IsMap()) return s.Error(h->loc, "'headers' must map header names to values");
    for (const auto& [k, v] : h->map) {
      if (!v.IsScalar()) return s.Error(v.loc, "header '" + k.scalar + "' must be a text");
      out->headers.emplace_back(k.scalar, v.scalar);
    }
  }
  PLANRUN_RETURN_IF_ERROR(ReadTemplate(s, "key", &out->key, key_required));
  if (s.Raw("key")) {
    PLANRUN_RETURN_IF_ERROR(CheckNames(s, *s.Raw("key"), out->key, "'key'", {"key", "url"}));
  }
  PLANRUN_RETURN_IF_ERROR(ReadTemplate(s, "public_url", &out->public_url, false));
  if (s.Raw("public_url")) {
    PLANRUN_RETURN_IF_ERROR(
        CheckNames(s, *s.Raw("public_url"), out->public_url, "'public_url'", {"url"}));
  }
  return Status::OK();
}

// Checks that a template names only what its source has: columns (never a
// JSON field) for a table source; the file fields for a files source.
Status CheckSourceFields(const MapReader& r, const Node* where, const Template& t, bool files) {
  if (!where) return Status::OK();
  for (const auto& n : t.Names()) {
    if (!files && IsJsonField(n) && n != "json") {  // a column may be called json
      return r.Error(where->loc, "'{" + n +
                                     "}' is a JSON field of a files source; a table source's "
                                     "templates name its columns");
    }
    const bool known =
        IsJsonField(n) ||
        std::find(kFileFieldNames.begin(), kFileFieldNames.end(), n) != kFileFieldNames.end() ||
        std::find(kSetTemplateNames.begin(), kSetTemplateNames.end(), n) != kSetTemplateNames.end();
    if (files && !known) {
      return r.Error(where->loc, "'{" + n +
                                     "}' is not a field of a files source; use path, name, size, "
                                     "sha256, mtime, ext, content_type or json.<field>");
    }
  }
  return Status::OK();
}

Status ReadTableSource(MapReader& r, const Node& from, ObjectsSpec* out) {
  MapReader f(r.file(), from, "objects step 'from'");
  PLANRUN_RETURN_IF_ERROR(CheckKeys(f, {"table", "key", "where", "files_root", "root"}));
  if (const Node* root = f.Raw("root")) {
    return f.Error(root->loc,
                   "'root' belongs to a files source ('files: <glob>'); a table source reads "
                   "file:// URLs inside 'files_root'");
  }
  PLANRUN_RETURN_IF_ERROR(f.Table("table", &out->table, true));
  PLANRUN_RETURN_IF_ERROR(f.IdentifierList("key", &out->key, true));
  PLANRUN_RETURN_IF_ERROR(ReadSql(f, "where", &out->where, false));
  PLANRUN_RETURN_IF_ERROR(f.String("files_root", &out->files_root));
  if (f.Raw("files_root") && out->files_root.empty()) {
    return f.Error(f.Raw("files_root")->loc, "'files_root' must name a folder");
  }
  return Status::OK();
}

Status ReadFilesSource(MapReader& r, const Node& from, FilesSource* out) {
  MapReader f(r.file(), from, "objects step 'from'");
  for (const char* k : {"table", "key", "where", "files_root"}) {
    if (const Node* n = from.Get(k)) {
      return f.Error(n->loc, std::string("objects step 'from' has both 'files' and '") + k +
                                 "'; read files or a table, not both");
    }
  }
  PLANRUN_RETURN_IF_ERROR(CheckKeys(f, {"files", "root"}));
  PLANRUN_RETURN_IF_ERROR(f.String("files", &out->glob, true));
  std::string why;
  if (!CheckFilesGlob(out->glob, &why)) {
    return f.Error(f.Raw("files")->loc, "'files' glob '" + out->glob + "' " + why);
  }
  if (!from.Get("root")) {
    return f.Error(from.loc,
                   "objects step 'from' needs 'root', the folder the 'files' glob is relative to");
  }
  PLANRUN_RETURN_IF_ERROR(f.String("root", &out->root, true));
  if (out->root.empty()) return f.Error(f.Raw("root")->loc, "'root' must name a folder");
  return Status::OK();
}

Status ReadInsert(MapReader& r, const Node& node, InsertSpec* out) {
  MapReader i(r.file(), node, "objects step 'insert'");
  PLANRUN_RETURN_IF_ERROR(CheckKeys(i, {"table", "key", "columns"}));
  PLANRUN_RETURN_IF_ERROR(i.Table("table", &out->table, true));
  PLANRUN_RETURN_IF_ERROR(i.IdentifierList("key", &out->key, true));
  const Node* cols = i.Raw("columns");
  if (!cols) return i.Error(node.loc, "objects step 'insert' needs 'columns'");
  if (!cols->IsMap() || cols->map.empty()) {
    return i.Error(cols->loc,
                   "'columns' must map columns to templates (columns: {file_path: \"{path}\"})");
  }
  for (const auto& [k, v] : cols->map) {
    PLANRUN_RETURN_IF_ERROR(CheckIdentifier(r.file(), k, "insert columns"));
    Template t;
    std::string error;
    if (!v.IsScalar() || !ParseTemplate(v.scalar, &t, &error)) {
      return i.Error(v.loc, "'columns' entry '" + k.scalar +
                                "' must be a template like \"{path}\"" +
                                (error.empty() ? "" : ": " + error));
    }
    PLANRUN_RETURN_IF_ERROR(CheckSourceFields(i, &v, t, true));
    out->columns.emplace_back(k.scalar, t);
  }
  for (const std::string& k : out->key) {
    const bool listed = std::any_of(out->columns.begin(), out->columns.end(),
                                    [&](const auto& c) { return c.first == k; });
    if (!listed) {
      return i.Error(i.Raw("key")->loc, "'insert' key column '" + k +
                                            "' is not among 'columns'; each row needs its key");
    }
  }
  return Status::OK();
}

Status ReadDurationKey(MapReader& r, const std::string& key, int64_t* ms) {
  PLANRUN_RETURN_IF_ERROR(r.Duration(key, ms));
  if (r.Raw(key) && *ms <= 0) return r.Error(r.Raw(key)->loc, "'" + key + "' must be positive");
  return Status::OK();
}

// `url`: a column name, or {hook: file.lua} ({lua: code} inline).
Status ReadUrl(MapReader& r, const StepParseContext& ctx, ObjectsSpec* out) {
  const Node* url = r.Raw("url");
  if (!url || !url->IsMap()) {
    if (url && !url->IsScalar()) {
      return r.Error(url->loc,
                     "'url' must be a column name or {hook: file.lua}, got " + url->KindName());
    }
    return r.Identifier("url", &out->url_column, true);
  }
  MapReader u(ctx.file, *url, "objects step 'url'");
  if (const Node* column = u.Raw("column")) {
    return u.Error(column->loc,
                   "'url' is a column name or {hook: file.lua}, not both; write url: " +
                       (column->IsScalar() ? column->scalar : std::string("<column>")) +
                       " or let the hook read the column");
  }
  PLANRUN_RETURN_IF_ERROR(CheckKeys(u, {"hook", "lua"}));
  const Node* hook = u.Raw("hook");
  if (hook && hook->IsScalar() && hook->scalar.empty()) {
    return u.Error(hook->loc, "'hook' must name a .lua file, relative to the plan's directory");
  }
  PLANRUN_RETURN_IF_ERROR(ReadHook(u, ctx, "hook", &out->url_hook));
  if (!out->url_hook.present) {
    return u.Error(url->loc,
                   "objects step 'url' needs 'hook', the .lua file giving each row's "
                   "source URL (or 'lua', its code inline)");
  }
  return Status::OK();
}

}  // namespace

Status ParseObjectsSpec(const Node& body, const StepParseContext& ctx, ObjectsSpec* out) {
  MapReader r(ctx.file, body, "objects step");
  PLANRUN_RETURN_IF_ERROR(
      CheckKeys(r, {"from", "url", "to", "set", "insert", "concurrency", "retries", "retry_delay",
                    "max_bytes", "connect_timeout", "timeout", "low_speed_time",
                    "delete_on_rollback", "batch_size", "max_rejects"}));
  const Node* from = r.Raw("from");
  if (!from) {
    return r.Error(body.loc,
                   "objects step needs 'from', the table whose rows it reads or the files it "
                   "uploads");
  }
  const bool files = from->IsMap() && from->Get("files");
  if (files) {
    PLANRUN_RETURN_IF_ERROR(ReadFilesSource(r, *from, &out->files));
    if (const Node* url = r.Raw("url")) {
      return r.Error(url->loc,
                     "'url' is for a table source; a files source reads each file under 'root'");
    }
    if (const Node* set = r.Raw("set")) {
      return r.Error(set->loc,
                     "'set' updates the rows of a table source; a files source inserts its rows "
                     "with 'insert'");
    }
  } else {
    PLANRUN_RETURN_IF_ERROR(ReadTableSource(r, *from, out));
    if (const Node* insert = r.Raw("insert")) {
      return r.Error(insert->loc,
                     "'insert' is for a files source; a table source updates its rows with 'set'");
    }
    PLANRUN_RETURN_IF_ERROR(ReadUrl(r, ctx, out));
  }
  const Node* to = r.Raw("to");
  if (!to) return r.Error(body.loc, "objects step needs 'to', the store objects go to");
  PLANRUN_RETURN_IF_ERROR(ReadStore(r, *to, !out->url_hook.present, &out->store));
  PLANRUN_RETURN_IF_ERROR(CheckSourceFields(r, to->Get("key"), out->store.key, files));
  PLANRUN_RETURN_IF_ERROR(
      CheckSourceFields(r, to->Get("public_url"), out->store.public_url, files));
  if (const Node* insert = r.Raw("insert")) {
    PLANRUN_RETURN_IF_ERROR(ReadInsert(r, *insert, &out->insert));
  } else if (files) {
    return r.Error(body.loc,
                   "objects step with a files source needs 'insert', the table its rows go to");
  }
  if (const Node* set = r.Raw("set")) {
    if (!set->IsMap()) {
      return r.Error(set->loc, "'set' must map columns to templates (set: {url_col: \"{url}\"})");
    }
    for (const auto& [k, v] : set->map) {
      PLANRUN_RETURN_IF_ERROR(CheckIdentifier(ctx.file, k, "set"));
      if (std::find(out->key.begin(), out->key.end(), k.scalar) != out->key.end()) {
        return r.Error(k.loc, "'set' cannot write the key column '" + k.scalar + "'");
      }
      Template t;
      std::string error;
      if (!v.IsScalar() || !ParseTemplate(v.scalar, &t, &error)) {
        return r.Error(v.loc, "'set' entry '" + k.scalar + "' must be a template like \"{url}\"" +
                                  (error.empty() ? "" : ": " + error));
      }
      PLANRUN_RETURN_IF_ERROR(CheckSourceFields(r, &v, t, false));
      out->set.emplace_back(k.scalar, t);
    }
  }
  int64_t n = out->concurrency;
  PLANRUN_RETURN_IF_ERROR(r.Int("concurrency", &n));
  if (n < 1 || n > 256) {
    return r.Error(r.Raw("concurrency")->loc,
                   "'concurrency' must be from 1 to 256, got " + std::to_string(n));
  }
  out->concurrency = static_cast<int>(n);
  n = out->retries;
  PLANRUN_RETURN_IF_ERROR(r.Int("retries", &n));
  if (n < 0 || n > 20) {
    return r.Error(r.Raw("retries")->loc,
                   "'retries' must be from 0 to 20, got " + std::to_string(n));
  }
  out->retries = static_cast<int>(n);
  PLANRUN_RETURN_IF_ERROR(ReadDurationKey(r, "retry_delay", &out->retry_delay_ms));
  PLANRUN_RETURN_IF_ERROR(ReadDurationKey(r, "connect_timeout", &out->connect_timeout_ms));
  PLANRUN_RETURN_IF_ERROR(ReadDurationKey(r, "timeout", &out->timeout_ms));
  PLANRUN_RETURN_IF_ERROR(ReadDurationKey(r, "low_speed_time", &out->low_speed_time_ms));
  if (const Node* m = r.Raw("max_bytes")) {
    if (!m->IsScalar() || !ParseSize(m->scalar, &out->max_bytes) || out->max_bytes <= 0) {
      return r.Error(m->loc, "'max_bytes' must be a size like 50MB, got " + m->KindName());
    }
  }
  PLANRUN_RETURN_IF_ERROR(r.Bool("delete_on_rollback", &out->delete_on_rollback));
  PLANRUN_RETURN_IF_ERROR(ReadDataSettings(r, ctx, &out->settings));
  if (!r.Raw("batch_size")) out->settings.batch_size = 100;
  return Status::OK();
}

}  // namespace planrun
