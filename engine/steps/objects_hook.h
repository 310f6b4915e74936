// ObjectsHook: the Lua hook of an `objects` step written `url: {hook:
// file.lua}`. For each row of a batch it calls transform(row, ctx) (the
// contract of lua/hook.h: same sandbox, setup/finish, require rules) with the
// row's columns, and turns the result into the row's ObjectItem:
//
//   {url = "...", key = "...", headers = {...}}  url: the source (required);
//                                                key: the object key instead of
//                                                the key template (optional);
//                                                headers: added to the upload
//   nil                                          the row is skipped, untouched
//   error("reason")                              the row is rejected with reason
//
// A returned value of the wrong type, or a header the store owns
// (Authorization, Host, Content-Length, the checksum headers), rejects the
// row with a reason naming its key. The hook runs on the calling thread (one
// Lua state); transfers, not the hook, take the time. Not thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "pg/session.h"
#include "steps/hook_pool.h"
#include "steps/objects_spec.h"
#include "steps/objects_store.h"
#include "steps/step.h"

namespace planrun {

/// The url hook of one objects step run.
class ObjectsHook {
 public:
  /// Loads spec.url_hook into one Lua state and runs setup(ctx).
  /// REQUIRES: spec.url_hook.present.
  static Status Start(const ObjectsSpec& spec, StepContext& ctx, std::unique_ptr<ObjectsHook>* out);

  /// Runs the hook over `rows` (fields described by `columns`, the first
  /// spec.key.size() of them the key) as batch `batch`; items[i] belongs to
  /// row i and gets its source_url, key and headers, or ends kSkipped or
  /// kRejected. A non-ok Status (the hook over its budget, a non-table
  /// return) fails the step.
  Status Apply(int64_t batch, const std::vector<ColumnSpec>& columns, const pg::Result& rows,
               std::vector<ObjectItem>* items);

  /// Runs finish(ctx), then warns once about returned keys it ignored.
  Status Finish();

 private:
  ObjectsHook(const ObjectsSpec& spec, StepContext& ctx) : spec_(spec), ctx_(ctx) {}

  /// Fills `it` from the values the hook returned for url, key and headers
  /// (`types`: their Lua types); rejects it when one is wrong.
  void Take(const std::string& row, const std::vector<Value>& out,
            const std::vector<std::string>& types, ObjectItem* it) const;

  const ObjectsSpec& spec_;
  StepContext& ctx_;
  std::unique_ptr<HookPool> pool_;
};

/// The fingerprint of an objects step's definition: its YAML and, with a url
/// hook, the hook's source and the modules it requires, so an edited hook is
/// a changed step on resume.
std::string ObjectsFingerprint(const ObjectsSpec& spec, const std::string& decl_checksum);

/// What the hook made of a dry run's sample (`rows`, `items` after Apply):
/// a count line, then up to three rows that would move (source -> key,
/// headers) and up to three rejects.
std::vector<std::string> DescribeSample(const std::string& step_id, size_t key_count,
                                        const std::vector<ColumnSpec>& columns,
                                        const pg::Result& rows,
                                        const std::vector<ObjectItem>& items);

/// "(id)=(7)", "(a, b)=(1, x)": a row's key for messages.
std::string DescribeRowKey(const std::vector<std::string>& names,
                           const std::vector<std::string>& values);

}  // namespace planrun
