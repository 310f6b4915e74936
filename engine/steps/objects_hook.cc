#include "steps/objects_hook.h"

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>

#include "plan/plan.h"
#include "util/redact.h"
#include "util/sha256.h"
#include "util/strings.h"

namespace planrun {

namespace {

/// What the hook's table may hold; other keys are warned about once.
const std::vector<std::string> kHookKeys = {"url", "key", "headers"};

/// Headers the store and the transfer set themselves (lower case).
const std::vector<std::string> kStoreOwnedHeaders = {"authorization",        "host",
                                                     "content-length",       "transfer-encoding",
                                                     "x-planrun-sha256",     "x-amz-meta-sha256",
                                                     "x-amz-content-sha256", "x-amz-date"};

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

/// RFC 9110 token characters.
bool IsHeaderName(const std::string& name) {
  if (name.empty()) return false;
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) &&
        std::string("!#$%&'*+-.^_`|~").find(c) == std::string::npos) {
      return false;
    }
  }
  return true;
}

/// "a number", "a boolean", "a table" for a JSON value the hook gave.
std::string JsonKind(const nlohmann::json& v) {
  if (v.is_number()) return "a number";
  if (v.is_boolean()) return "a boolean";
  return "a table";
}

}  // namespace

std::string DescribeRowKey(const std::vector<std::string>& names,
                           const std::vector<std::string>& values) {
  return "(" + Join(names, ", ") + ")=(" + Join(values, ", ") + ")";
}

std::vector<std::string> DescribeSample(const std::string& step_id, size_t key_count,
                                        const std::vector<ColumnSpec>& columns,
                                        const pg::Result& rows,
                                        const std::vector<ObjectItem>& items) {
  std::vector<std::string> names, moves, rejects;
  for (size_t k = 0; k < key_count; ++k) names.push_back(columns[k].name);
  size_t skipped = 0;
  for (size_t i = 0; i < items.size(); ++i) {
    const ObjectItem& it = items[i];
    std::vector<std::string> key;
    for (size_t k = 0; k < key_count; ++k) key.push_back(rows.get(i, k));
    const std::string row = "  " + DescribeRowKey(names, key) + ": ";
    if (it.state == ObjectItem::State::kSkipped) {
      ++skipped;
    } else if (it.state == ObjectItem::State::kRejected) {
      rejects.push_back(row + "rejected: " + it.reason);
    } else {
      std::vector<std::string> headers;  // names only: values may be tokens
      for (const auto& [name, value] : it.headers) headers.push_back(name);
      moves.push_back(row + Redact(it.source_url) + " -> " +
                      (it.key_given ? it.key : "the key template") +
                      (headers.empty() ? "" : ", headers " + Join(headers, ", ")));
    }
  }
  std::vector<std::string> out = {
      "objects " + step_id + " (dry run, the hook over the first " + std::to_string(items.size()) +
      " rows): " + std::to_string(moves.size()) + " would move, " + std::to_string(skipped) +
      " skipped, " + std::to_string(rejects.size()) + " rejected"};
  out.insert(out.end(), moves.begin(), moves.begin() + std::min<size_t>(3, moves.size()));
  out.insert(out.end(), rejects.begin(), rejects.begin() + std::min<size_t>(3, rejects.size()));
  return out;
}

std::string ObjectsFingerprint(const ObjectsSpec& spec, const std::string& decl_checksum) {
  if (!spec.url_hook.present) return Sha256Hex(decl_checksum);
  return Sha256Hex(decl_checksum + "\n" + spec.url_hook.source.code + spec.url_hook.modules);
}

Status ObjectsHook::Start(const ObjectsSpec& spec, StepContext& ctx,
                          std::unique_ptr<ObjectsHook>* out) {
  std::unique_ptr<ObjectsHook> hook(new ObjectsHook(spec, ctx));
  const lua::HookContext hc{ctx.env.decl->id, ctx.env.plan->version.text, ctx.env.plan->name,
                            ctx.env.plan->params, ctx.out};
  PLANRUN_RETURN_IF_ERROR(HookPool::Start(spec.url_hook, hc, 1, &hook->pool_));
  *out = std::move(hook);
  return Status::OK();
}

Status ObjectsHook::Apply(int64_t batch, const std::vector<ColumnSpec>& columns,
                          const pg::Result& rows, std::vector<ObjectItem>* items) {
  std::vector<std::string> in_names, key_names;
  for (const ColumnSpec& c : columns) in_names.push_back(c.name);
  key_names.assign(in_names.begin(), in_names.begin() + spec_.key.size());
  // One state, so one slice: the hook runs on this thread.
  return pool_->ForEachSlice(
      batch, rows.rows.size(),
      [&](lua::Hook& hook, size_t, size_t begin, size_t end,
          std::vector<std::string>* extra) -> Status {
        std::vector<Value> in(columns.size()), out;
        std::vector<std::string> keys, types;
        lua::RowOutcome outcome;
        for (size_t i = begin; i < end; ++i) {
          for (size_t c = 0; c < columns.size(); ++c) {
            PLANRUN_RETURN_IF_ERROR(DecodeField(columns[c], rows.at(i, c), &in[c]));
          }
          ObjectItem& it = (*items)[i];
          std::string reason;
          keys.clear();
          PLANRUN_RETURN_IF_ERROR(
              hook.Transform(in_names, in, kHookKeys, &out, &outcome, &reason, &keys, &types));
          AddExtraKeys(keys, extra);
          if (outcome == lua::RowOutcome::kSkip) {
            it.state = ObjectItem::State::kSkipped;
          } else if (outcome == lua::RowOutcome::kReject) {
            it.Reject(reason);
          } else {
            std::vector<std::string> key_values;
            for (size_t k = 0; k < key_names.size(); ++k) key_values.push_back(rows.get(i, k));
            Take(DescribeRowKey(key_names, key_values), out, types, &it);
          }
        }
        return Status::OK();
      });
}

void ObjectsHook::Take(const std::string& row, const std::vector<Value>& out,
                       const std::vector<std::string>& types, ObjectItem* it) const {
  const std::string prefix = "hook " + spec_.url_hook.source.chunk_name + ": row " + row + ": ";
  auto reject = [&](const std::string& why) { it->Reject(prefix + why); };
  if (types[0] == "nil") return reject("the returned table has no 'url'; return nil to skip a row");
  if (types[0] != "string") return reject("'url' must be a text, got a " + types[0]);
  if (out[0].s.empty()) return reject("'url' is empty");
  it->source_url = out[0].s;
  if (types[1] == "string") {
    it->key = out[1].s;
    it->key_given = true;
  } else if (types[1] != "nil") {
    return reject("'key' must be a text, got a " + types[1]);
  } else if (spec_.store.key.text.empty()) {
    return reject("the returned table has no 'key' and 'to' has no key template");
  }
  if (types[2] == "nil") return;
  const std::string how = "'headers' must map header names to texts, like {[\"x-meta\"] = \"v\"}";
  if (types[2] != "table") return reject(how + ", got a " + types[2]);
  const Value& h = out[2];
  if (h.kind == Value::Kind::kArray && h.items.empty()) return;  // {}
  const nlohmann::json parsed = h.kind == Value::Kind::kString
                                    ? nlohmann::json::parse(h.s, nullptr, false)
                                    : nlohmann::json();
  if (!parsed.is_object()) return reject(how);
  std::vector<std::pair<std::string, std::string>> headers;
  for (const auto& [name, value] : parsed.items()) {
    if (!value.is_string()) {
      return reject("header '" + name + "' must be a text, got " + JsonKind(value));
    }
    const std::string text = value.get<std::string>();
    if (!IsHeaderName(name)) return reject("'" + name + "' is not an HTTP header name");
    if (text.find_first_of(std::string("\r\n\0", 3)) != std::string::npos) {
      return reject("header '" + name + "' has a line break or NUL in its value");
    }
    if (text.empty()) {
      return reject("header '" + name + "' has an empty value; leave it out instead");
    }
    if (std::find(kStoreOwnedHeaders.begin(), kStoreOwnedHeaders.end(), Lower(name)) !=
        kStoreOwnedHeaders.end()) {
      return reject("header '" + name +
                    "' belongs to the store: a hook cannot set Authorization, Host, "
                    "Content-Length, Transfer-Encoding or the checksum headers");
    }
    headers.emplace_back(name, text);
  }
  if (!headers.empty() && spec_.store.kind == "dir") {
    return reject("'headers' go with http and s3 stores; a dir store takes none");
  }
  it->headers = std::move(headers);
}

Status ObjectsHook::Finish() {
  PLANRUN_RETURN_IF_ERROR(pool_->Finish());
  WarnIgnoredKeys(*pool_, ctx_, "objects", "{url, key, headers}");
  return Status::OK();
}

}  // namespace planrun
