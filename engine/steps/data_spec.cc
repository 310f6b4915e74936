#include "steps/data_spec.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "steps/parse_helpers.h"
#include "util/sql.h"
#include "util/strings.h"

namespace planrun {

bool RejectLimit::Exceeded(int64_t rejected, int64_t read, bool at_end) const {
  if (percent < 0) return rejected > count;
  if (!at_end && read < 1000) return false;
  return static_cast<double>(rejected) > percent / 100.0 * static_cast<double>(read);
}

std::string RejectLimit::Describe() const {
  if (percent < 0) return std::to_string(count) + (count == 1 ? " row" : " rows");
  std::ostringstream s;
  s << percent << "% of the rows read";
  return s.str();
}

namespace {

// Module names required by literal: require "a.b", require('a'), require 'a'.
std::vector<std::string> RequiredNames(const std::string& code) {
  std::vector<std::string> names;
  for (size_t pos = code.find("require"); pos != std::string::npos;
       pos = code.find("require", pos + 7)) {
    size_t i = pos + 7;
    while (i < code.size() && (code[i] == ' ' || code[i] == '(' || code[i] == '\t')) ++i;
    if (i >= code.size() || (code[i] != '"' && code[i] != '\'')) continue;
    const char quote = code[i++];
    size_t end = i;
    while (end < code.size() && (std::isalnum(static_cast<unsigned char>(code[end])) ||
                                 code[end] == '_' || code[end] == '.')) {
      ++end;
    }
    if (end < code.size() && code[end] == quote && end > i)
      names.push_back(code.substr(i, end - i));
  }
  return names;
}

// Appends each module `code` requires (and theirs) to *modules and ctx.files.
void CollectModules(const StepParseContext& ctx, const std::string& code,
                    std::set<std::string>* seen, std::string* modules) {
  for (const std::string& name : RequiredNames(code)) {
    std::string rel = name;
    std::replace(rel.begin(), rel.end(), '.', '/');
    const std::string path = ctx.plan_dir + "/" + rel + ".lua";
    if (!seen->insert(path).second) continue;
    std::ifstream in(path, std::ios::binary);
    if (!in) continue;  // require reports a missing module when the hook runs
    std::ostringstream text;
    text << in.rdbuf();
    *modules += "\n-- " + path + "\n" + text.str();
    ctx.files->push_back(path);
    CollectModules(ctx, text.str(), seen, modules);
  }
}

}  // namespace

Status ReadHook(MapReader& r, const StepParseContext& ctx, const std::string& file_key,
                HookSpec* out) {
  const Node* file = r.Raw(file_key);
  const Node* inline_code = r.Raw("lua");
  if (file && inline_code) {
    return r.Error(inline_code->loc, r.what() + " has both '" + file_key +
                                         "' and 'lua'; give the hook one way, as a file or inline");
  }
  if (!file && !inline_code) return Status::OK();
  const Node& node = file ? *file : *inline_code;
  if (!node.IsScalar()) {
    return r.Error(node.loc, "'" + std::string(file ? file_key : "lua") + "' must be " +
                                 (file ? "a .lua file path" : "Lua source text") + ", got " +
                                 node.KindName());
  }
  out->present = true;
  out->source.plan_dir = ctx.plan_dir;
  if (file) {
    const std::string path = ctx.plan_dir + "/" + node.scalar;
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      return r.Error(node.loc, "cannot read hook file " + path + ": " + std::strerror(errno) +
                                   "; the path is relative to the plan's directory");
    }
    std::ostringstream text;
    text << in.rdbuf();
    out->source.code = text.str();
    out->source.chunk_name = path;
    ctx.files->push_back(path);
  } else {
    // Pad with newlines so Lua's line numbers are the plan file's: a block
    // scalar starts on the line after its key.
    const bool block = node.scalar.find('\n') != std::string::npos;
    const int first_line = node.loc.line + (block ? 1 : 0);
    out->source.code = std::string(first_line > 1 ? first_line - 1 : 0, '\n') + node.scalar;
    out->source.chunk_name = ctx.file.path;
  }
  std::set<std::string> seen;
  CollectModules(ctx, out->source.code, &seen, &out->modules);
  return lua::CheckSyntax(out->source);
}

Status ReadDataSettings(MapReader& r, const StepParseContext& ctx, DataSettings* out) {
  out->batch_size = ctx.settings.batch_size;
  PLANRUN_RETURN_IF_ERROR(r.Int("batch_size", &out->batch_size));
  if (out->batch_size < 1) {
    return r.Error(r.Raw("batch_size")->loc,
                   "'batch_size' must be 1 or more, got " + std::to_string(out->batch_size));
  }
  int64_t workers = 0;
  PLANRUN_RETURN_IF_ERROR(r.Int("workers", &workers));
  if (r.Raw("workers") && (workers < 1 || workers > 64)) {
    return r.Error(r.Raw("workers")->loc,
                   "'workers' must be from 1 to 64, got " + std::to_string(workers));
  }
  out->workers = static_cast<int>(workers);
  if (const Node* m = r.Raw("max_rejects")) {
    const std::string expected =
        "'max_rejects' must be a number of rows, like 100, or a percentage of the rows read from "
        "0% to 100%, like 0.5%, got ";
    const std::string how = expected + m->KindName();
    if (!m->IsScalar() || m->scalar.empty()) return r.Error(m->loc, how);
    const std::string& t = m->scalar;
    char* end = nullptr;
    if (t.back() == '%') {
      double p = std::strtod(t.c_str(), &end);
      // Plain decimals only: strtod would also take "nan", "1e1" and hex.
      const bool decimal = t.size() > 1 && t.find_first_not_of("0123456789.") == t.size() - 1;
      if (!decimal || end != t.c_str() + t.size() - 1 || !(p >= 0 && p <= 100)) {
        return r.Error(m->loc, how);
      }
      out->max_rejects.percent = p;
    } else {
      long long n = std::strtoll(t.c_str(), &end, 10);
      if (end != t.c_str() + t.size() || n < 0) return r.Error(m->loc, how);
      if (m->quoted) {
        return r.Error(m->loc, expected + "the string " + m->KindName() + "; remove the quotes");
      }
      out->max_rejects.count = n;
    }
  }
  return Status::OK();
}

Status CheckConnection(MapReader& r, const StepParseContext& ctx, const std::string& connection) {
  if (connection.empty() || ctx.connections->count(connection)) return Status::OK();
  std::vector<std::string> names;
  for (const auto& [name, url] : *ctx.connections) names.push_back(name);
  std::string hint = names.empty() ? "; declare it under 'connections:' at the top of the plan"
                                   : "; the plan declares: " + Join(names, ", ");
  std::string close = ClosestMatch(connection, names);
  if (!close.empty()) hint = "; did you mean '" + close + "'?";
  const Node* at = r.Raw("connection");
  return r.Error(at ? at->loc : r.node().loc, "unknown connection '" + connection + "'" + hint);
}

Status DescribeSelect(pg::Session& db, const std::string& select_sql,
                      std::vector<ColumnSpec>* out) {
  pg::Result r;
  PLANRUN_RETURN_IF_ERROR(db.Exec("SELECT * FROM (" + select_sql + ") AS planrun_d LIMIT 0", &r));
  std::vector<std::string> oids;
  for (uint32_t t : r.column_types) oids.push_back(std::to_string(t));
  pg::Result names;
  PLANRUN_RETURN_IF_ERROR(
      db.Query("SELECT t, format_type(t::oid, NULL) FROM unnest($1::bigint[]) AS u(t)",
               {"{" + Join(oids, ",") + "}"}, &names));
  out->clear();
  for (size_t i = 0; i < r.columns.size(); ++i) {
    ColumnSpec c;
    c.name = r.columns[i];
    c.type_oid = r.column_types[i];
    c.type_name = names.get(i, 1);
    c.cls = ClassifyType(c.type_oid, &c.element);
    out->push_back(c);
  }
  return Status::OK();
}

std::string KeyAfter(const std::vector<ColumnSpec>& columns, const std::vector<size_t>& key,
                     const std::optional<std::vector<std::string>>& last) {
  if (!last) return "true";
  std::vector<std::string> names, values;
  for (size_t i = 0; i < key.size(); ++i) {
    const ColumnSpec& c = columns[key[i]];
    names.push_back(QuoteIdent(c.name));
    values.push_back(QuoteLiteral((*last)[i]) + "::" + c.type_name);
  }
  return "(" + Join(names, ", ") + ") > (" + Join(values, ", ") + ")";
}

Status ForEachCopyLine(pg::Session& db, const std::string& select_sql,
                       const std::function<Status(std::string_view line)>& on_line) {
  std::string pending;  // a line split across two chunks
  return db.CopyOut("COPY (" + select_sql + ") TO STDOUT", [&](std::string_view chunk) {
    size_t start = 0;
    size_t nl = chunk.find('\n');
    if (!pending.empty() && nl != std::string_view::npos) {
      pending.append(chunk.substr(0, nl));
      PLANRUN_RETURN_IF_ERROR(on_line(pending));
      pending.clear();
      start = nl + 1;
      nl = chunk.find('\n', start);
    }
    for (; nl != std::string_view::npos; nl = chunk.find('\n', start)) {
      PLANRUN_RETURN_IF_ERROR(on_line(chunk.substr(start, nl - start)));
      start = nl + 1;
    }
    pending.append(chunk.substr(start));
    return Status::OK();
  });
}

Status BisectRefused(pg::Session& db, size_t begin, size_t end,
                     const std::function<Status(size_t begin, size_t end, int64_t* n)>& write,
                     const std::function<Status(size_t item, const Status& refused)>& reject,
                     int64_t* written) {
  if (begin == end) return Status::OK();
  PLANRUN_RETURN_IF_ERROR(db.Exec("SAVEPOINT planrun_part"));
  int64_t n = 0;
  Status st = write(begin, end, &n);
  if (st.ok()) {
    *written += n;
    return db.Exec("RELEASE SAVEPOINT planrun_part");
  }
  if (!IsRowRefused(st)) return st;
  PLANRUN_RETURN_IF_ERROR(db.Exec("ROLLBACK TO SAVEPOINT planrun_part"));
  PLANRUN_RETURN_IF_ERROR(db.Exec("RELEASE SAVEPOINT planrun_part"));
  if (end - begin == 1) return reject(begin, st);
  const size_t mid = begin + (end - begin) / 2;
  PLANRUN_RETURN_IF_ERROR(BisectRefused(db, begin, mid, write, reject, written));
  return BisectRefused(db, mid, end, write, reject, written);
}

Status SendCopy(pg::Session& db, const std::string& copy_sql, const std::string& text,
                int64_t* rows) {
  bool sent = false;
  return db.CopyIn(
      copy_sql,
      [&](std::string* chunk, bool* done) {
        if (!sent) chunk->append(text);
        sent = *done = true;
        return Status::OK();
      },
      rows);
}

Status ReadRows(pg::Session& db, const std::string& select_sql,
                std::vector<std::vector<RawField>>* rows) {
  // Rows are parsed into the slots already in *rows, so a vector reused from
  // batch to batch keeps its field strings and allocates nothing new.
  size_t n = 0;
  Status st = ForEachCopyLine(db, select_sql, [&](std::string_view line) -> Status {
    if (n == rows->size()) rows->emplace_back();
    if (!ParseCopyLine(line, &(*rows)[n++])) {
      return Status::Internal("malformed COPY line from the server");
    }
    return Status::OK();
  });
  rows->resize(n);
  return st;
}

Status KeyOf(const std::vector<RawField>& row, const std::vector<size_t>& key,
             std::vector<std::string>* out) {
  out->clear();
  for (size_t k : key) {
    if (!row[k]) return Status::Failed("a key column is NULL; keys must be unique and not null");
    out->push_back(*row[k]);
  }
  return Status::OK();
}

namespace {
nlohmann::json ToJson(const Value& v) {
  switch (v.kind) {
    case Value::Kind::kNull:
      return nullptr;
    case Value::Kind::kBool:
      return v.b;
    case Value::Kind::kInt:
      return v.i;
    case Value::Kind::kFloat:
      return v.f;
    case Value::Kind::kString:
      return v.s;
    case Value::Kind::kArray: {
      nlohmann::json a = nlohmann::json::array();
      for (const Value& item : v.items) a.push_back(ToJson(item));
      return a;
    }
  }
  return nullptr;
}
}  // namespace

std::string RowJson(const std::vector<ColumnSpec>& columns, const std::vector<Value>& values) {
  nlohmann::ordered_json o = nlohmann::ordered_json::object();
  for (size_t i = 0; i < columns.size() && i < values.size(); ++i) {
    o[columns[i].name] = ToJson(values[i]);
  }
  return o.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string KeyTuple(const std::vector<ColumnSpec>& columns, const std::vector<size_t>& key,
                     const std::string& key_json) {
  auto parsed = nlohmann::json::parse(key_json, nullptr, false);
  std::vector<std::string> lits;
  for (size_t k = 0; k < key.size(); ++k) {
    const std::string text = parsed.is_array() && k < parsed.size() && parsed[k].is_string()
                                 ? parsed[k].get<std::string>()
                                 : "";
    lits.push_back(QuoteLiteral(text) + "::" + columns[key[k]].type_name);
  }
  return "(" + Join(lits, ", ") + ")";
}

std::optional<int64_t> EstimateRows(pg::Session& db, const TableName& table) {
  pg::Result r;
  if (!db.Query("SELECT reltuples::bigint FROM pg_class WHERE oid = to_regclass($1)",
                {table.Quoted()}, &r)
           .ok() ||
      r.rows.empty()) {
    return std::nullopt;
  }
  const int64_t n = std::stoll(r.get(0, 0, "-1"));
  return n > 0 ? std::optional<int64_t>(n) : std::nullopt;
}

bool IsRowRefused(const Status& st) {
  const std::string& code = st.sqlstate();
  return code.size() == 5 && (code.rfind("22", 0) == 0 || code.rfind("23", 0) == 0);
}

std::string KeyJson(const std::vector<std::string>& key) {
  return nlohmann::json(key).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace planrun
