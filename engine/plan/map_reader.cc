#include "plan/map_reader.h"

#include <algorithm>
#include <limits>

#include "util/strings.h"

namespace planrun {

namespace {

constexpr char kIdentifierRule[] =
    "use letters, digits, _ and $, starting with a letter or _ (at most 63 bytes)";

/// Parses an optional '-' and decimal digits into an int64; `*overflow` tells
/// a valid-looking number that does not fit.
bool ParseDecimal(const std::string& s, int64_t* out, bool* overflow) {
  *overflow = false;
  size_t i = s.size() > 1 && s[0] == '-' ? 1 : 0;
  if (i == s.size()) return false;
  for (size_t j = i; j < s.size(); ++j) {
    if (s[j] < '0' || s[j] > '9') return false;
  }
  // Accumulate negatively so INT64_MIN fits.
  int64_t v = 0;
  for (size_t j = i; j < s.size(); ++j) {
    int digit = s[j] - '0';
    if (v < (std::numeric_limits<int64_t>::min() + digit) / 10) {
      *overflow = true;
      return false;
    }
    v = v * 10 - digit;
  }
  if (i == 0) {
    if (v == std::numeric_limits<int64_t>::min()) {
      *overflow = true;
      return false;
    }
    v = -v;
  }
  *out = v;
  return true;
}

/// The result for a key that is not there: an error only when `required`.
Status Absent(const MapReader& r, const std::string& key, bool required) {
  if (!required) return Status::OK();
  return r.Error(r.node().loc, r.what() + " needs '" + key + "'");
}

/// "'key' must be <expected>, got <what the node is>".
std::string TypeMessage(const std::string& key, const std::string& expected, const Node& got) {
  return "'" + key + "' must be " + expected + ", got " + got.KindName();
}

/// The items of a list value, or the value itself when it is a scalar; false
/// when the value is neither.
bool ListItems(const Node& v, std::vector<const Node*>* items) {
  if (v.IsScalar()) {
    items->push_back(&v);
    return true;
  }
  if (!v.IsSeq()) return false;
  for (const Node& item : v.seq) items->push_back(&item);
  return true;
}

/// Parses a scalar as "name" or "schema.name", with a located error.
Status CheckTable(const SourceFile& file, const Node& scalar, const std::string& what,
                  TableName* out) {
  if (ParseTableName(scalar.scalar, out)) return Status::OK();
  return PlanError(file, scalar.loc,
                   "invalid table name '" + scalar.scalar + "' in " + what +
                       ": write name or schema.name, each part using letters, digits, _ and $, "
                       "starting with a letter or _ (at most 63 bytes)");
}

}  // namespace

MapReader::MapReader(const SourceFile& file, const Node& node, std::string what)
    : file_(file), node_(node), what_(std::move(what)) {}

Status MapReader::CheckIsMap() const {
  if (node_.IsMap()) return Status::OK();
  return Error(node_.loc, what_ + " must be a mapping, got " + node_.KindName());
}

const Node* MapReader::Raw(const std::string& key) {
  Allow(key);
  return node_.Get(key);
}

void MapReader::Allow(const std::string& key) {
  if (std::find(known_.begin(), known_.end(), key) == known_.end()) known_.push_back(key);
}

Status MapReader::Error(Loc loc, const std::string& message) const {
  return PlanError(file_, loc, message);
}

Status MapReader::String(const std::string& key, std::string* out, bool required) {
  const Node* v = Raw(key);
  if (v == nullptr) return Absent(*this, key, required);
  if (!v->IsScalar()) return Error(v->loc, TypeMessage(key, "a string", *v));
  *out = v->scalar;
  return Status::OK();
}

Status MapReader::Bool(const std::string& key, bool* out, bool required) {
  const Node* v = Raw(key);
  if (v == nullptr) return Absent(*this, key, required);
  const std::string expected = "true or false";
  if (!v->IsScalar() || (v->scalar != "true" && v->scalar != "false")) {
    return Error(v->loc, TypeMessage(key, expected, *v));
  }
  if (v->quoted) {
    return Error(v->loc, "'" + key + "' must be " + expected + ", got the string '" + v->scalar +
                             "'; remove the quotes");
  }
  *out = v->scalar == "true";
  return Status::OK();
}

Status MapReader::Int(const std::string& key, int64_t* out, bool required) {
  const Node* v = Raw(key);
  if (v == nullptr) return Absent(*this, key, required);
  const std::string expected = "an integer";
  bool overflow = false;
  int64_t n = 0;
  if (!v->IsScalar() || !ParseDecimal(v->scalar, &n, &overflow)) {
    return Error(v->loc,
                 TypeMessage(key, overflow ? "an integer that fits in 64 bits" : expected, *v));
  }
  if (v->quoted) {
    return Error(v->loc, "'" + key + "' must be " + expected + ", got the string '" + v->scalar +
                             "'; remove the quotes");
  }
  *out = n;
  return Status::OK();
}

Status MapReader::Duration(const std::string& key, int64_t* millis, bool required) {
  const Node* v = Raw(key);
  if (v == nullptr) return Absent(*this, key, required);
  if (!v->IsScalar() || !ParseDuration(v->scalar, millis)) {
    return Error(v->loc, TypeMessage(key, "a duration like 2s or 10min", *v));
  }
  return Status::OK();
}

Status MapReader::Identifier(const std::string& key, std::string* out, bool required) {
  const Node* v = Raw(key);
  if (v == nullptr) return Absent(*this, key, required);
  if (!v->IsScalar()) return Error(v->loc, TypeMessage(key, "an identifier", *v));
  PLANRUN_RETURN_IF_ERROR(CheckIdentifier(file_, *v, what_));
  *out = v->scalar;
  return Status::OK();
}

Status MapReader::IdentifierList(const std::string& key, std::vector<std::string>* out,
                                 bool required) {
  const Node* v = Raw(key);
  if (v == nullptr) return Absent(*this, key, required);
  std::vector<const Node*> items;
  if (!ListItems(*v, &items)) return Error(v->loc, TypeMessage(key, "a list of identifiers", *v));
  std::vector<std::string> names;
  for (const Node* item : items) {
    if (!item->IsScalar()) {
      return Error(item->loc, "each item of " + TypeMessage(key, "an identifier", *item));
    }
    PLANRUN_RETURN_IF_ERROR(CheckIdentifier(file_, *item, what_));
    names.push_back(item->scalar);
  }
  *out = std::move(names);
  return Status::OK();
}

Status MapReader::Table(const std::string& key, TableName* out, bool required) {
  const Node* v = Raw(key);
  if (v == nullptr) return Absent(*this, key, required);
  if (!v->IsScalar()) return Error(v->loc, TypeMessage(key, "a table name", *v));
  return CheckTable(file_, *v, what_, out);
}

Status MapReader::TableList(const std::string& key, std::vector<TableName>* out, bool required) {
  const Node* v = Raw(key);
  if (v == nullptr) return Absent(*this, key, required);
  std::vector<const Node*> items;
  if (!ListItems(*v, &items)) return Error(v->loc, TypeMessage(key, "a list of table names", *v));
  std::vector<TableName> tables;
  for (const Node* item : items) {
    if (!item->IsScalar()) {
      return Error(item->loc, "each item of " + TypeMessage(key, "a table name", *item));
    }
    tables.emplace_back();
    PLANRUN_RETURN_IF_ERROR(CheckTable(file_, *item, what_, &tables.back()));
  }
  *out = std::move(tables);
  return Status::OK();
}

Status MapReader::StringList(const std::string& key, std::vector<std::string>* out, bool required) {
  const Node* v = Raw(key);
  if (v == nullptr) return Absent(*this, key, required);
  std::vector<const Node*> items;
  if (!ListItems(*v, &items)) return Error(v->loc, TypeMessage(key, "a list of strings", *v));
  std::vector<std::string> strings;
  for (const Node* item : items) {
    if (!item->IsScalar()) {
      return Error(item->loc, "each item of " + TypeMessage(key, "a string", *item));
    }
    strings.push_back(item->scalar);
  }
  *out = std::move(strings);
  return Status::OK();
}

Status MapReader::Finish() const {
  if (!node_.IsMap()) return Status::OK();
  for (const auto& [key, value] : node_.map) {
    if (std::find(known_.begin(), known_.end(), key.scalar) != known_.end()) continue;
    std::string message = "unknown key '" + key.scalar + "' in " + what_;
    std::string close = ClosestMatch(key.scalar, known_);
    if (!close.empty()) return Error(key.loc, message + "; did you mean '" + close + "'?");
    if (known_.empty()) return Error(key.loc, message);
    std::vector<std::string> sorted = known_;
    std::sort(sorted.begin(), sorted.end());
    return Error(key.loc, message + "; expected one of: " + Join(sorted, ", "));
  }
  return Status::OK();
}

Status CheckIdentifier(const SourceFile& file, const Node& scalar, const std::string& what) {
  if (!scalar.IsScalar()) {
    return PlanError(file, scalar.loc,
                     "expected an identifier in " + what + ", got " + scalar.KindName());
  }
  if (IsPlainIdentifier(scalar.scalar)) return Status::OK();
  return PlanError(
      file, scalar.loc,
      "invalid identifier '" + scalar.scalar + "' in " + what + ": " + kIdentifierRule);
}

}  // namespace planrun
