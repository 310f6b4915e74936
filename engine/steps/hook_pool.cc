#include "steps/hook_pool.h"

#include <algorithm>
#include <thread>

#include "plan/plan.h"
#include "report/reporter.h"
#include "util/strings.h"

namespace planrun {

Status HookPool::Start(const HookSpec& spec, const lua::HookContext& context, int workers,
                       std::unique_ptr<HookPool>* out) {
  auto pool = std::make_unique<HookPool>();
  for (int i = 0; i < std::max(1, workers); ++i) {
    std::unique_ptr<lua::Hook> hook;
    PLANRUN_RETURN_IF_ERROR(lua::Hook::Load(spec.source, context, lua::HookLimits(), &hook));
    PLANRUN_RETURN_IF_ERROR(hook->Setup());
    pool->hooks_.push_back(std::move(hook));
  }
  *out = std::move(pool);
  return Status::OK();
}

void AddExtraKeys(const std::vector<std::string>& keys, std::vector<std::string>* extra) {
  for (const std::string& k : keys) {
    if (std::find(extra->begin(), extra->end(), k) == extra->end()) extra->push_back(k);
  }
}

size_t HookPool::Slices(size_t rows) const {
  // Small batches are not worth a thread: at least 256 rows per slice.
  return std::max<size_t>(1, std::min(hooks_.size(), (rows + 255) / 256));
}

Status HookPool::ForEachSlice(int64_t batch, size_t rows, const SliceFn& fn) {
  const size_t slices = Slices(rows);
  const size_t per = (rows + slices - 1) / slices;
  std::vector<Status> errors(slices);
  std::vector<std::vector<std::string>> extra(slices);
  auto work = [&](size_t s) {
    lua::Hook& hook = *hooks_[s];
    hook.SetBatch(batch);
    errors[s] = fn(hook, s, std::min(rows, s * per), std::min(rows, (s + 1) * per), &extra[s]);
  };
  std::vector<std::thread> threads;
  for (size_t s = 1; s < slices; ++s) threads.emplace_back(work, s);
  work(0);
  for (auto& t : threads) t.join();
  for (const Status& st : errors) PLANRUN_RETURN_IF_ERROR(st);
  for (const auto& keys : extra) ignored_keys_.insert(keys.begin(), keys.end());
  return Status::OK();
}

Status HookPool::Run(int64_t batch, const std::vector<std::string>& in_names,
                     const std::vector<std::vector<Value>>& rows,
                     const std::vector<std::string>& out_names, std::vector<RowResult>* results) {
  results->assign(rows.size(), RowResult());
  return ForEachSlice(batch, rows.size(),
                      [&](lua::Hook& hook, size_t, size_t begin, size_t end,
                          std::vector<std::string>* extra) -> Status {
                        std::vector<std::string> keys;
                        for (size_t i = begin; i < end; ++i) {
                          RowResult& r = (*results)[i];
                          keys.clear();
                          PLANRUN_RETURN_IF_ERROR(hook.Transform(
                              in_names, rows[i], out_names, &r.out, &r.outcome, &r.reason, &keys));
                          AddExtraKeys(keys, extra);
                        }
                        return Status::OK();
                      });
}

void WarnIgnoredKeys(const HookPool& pool, StepContext& ctx, const std::string& verb,
                     const std::string& columns_key) {
  if (pool.ignored_keys().empty()) return;
  std::vector<std::string> keys(pool.ignored_keys().begin(), pool.ignored_keys().end());
  ctx.out->Warn(verb + " " + ctx.env.decl->id + ": the hook returned keys that are not in " +
                columns_key + ", and they were ignored: " + Join(keys, ", "));
}

Status HookPool::Finish() {
  for (auto& hook : hooks_) PLANRUN_RETURN_IF_ERROR(hook->Finish());
  return Status::OK();
}

}  // namespace planrun
