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

Status HookPool::Run(int64_t batch, const std::vector<std::string>& in_names,
                     const std::vector<std::vector<Value>>& rows,
                     const std::vector<std::string>& out_names, std::vector<RowResult>* results) {
  results->assign(rows.size(), RowResult());
  // Small batches are not worth a thread: at least 256 rows per slice.
  const size_t slices = std::max<size_t>(1, std::min(hooks_.size(), (rows.size() + 255) / 256));
  const size_t per = (rows.size() + slices - 1) / slices;
  std::vector<Status> errors(slices);
  std::vector<std::set<std::string>> extra(slices);
  auto work = [&](size_t s) {
    lua::Hook& hook = *hooks_[s];
    hook.SetBatch(batch);
    const size_t end = std::min(rows.size(), (s + 1) * per);
    std::vector<std::string> keys;
    for (size_t i = s * per; i < end; ++i) {
      RowResult& r = (*results)[i];
      keys.clear();
      Status st =
          hook.Transform(in_names, rows[i], out_names, &r.out, &r.outcome, &r.reason, &keys);
      if (!st.ok()) {
        errors[s] = st;
        return;
      }
      extra[s].insert(keys.begin(), keys.end());
    }
  };
  std::vector<std::thread> threads;
  for (size_t s = 1; s < slices; ++s) threads.emplace_back(work, s);
  work(0);
  for (auto& t : threads) t.join();
  for (const Status& st : errors) PLANRUN_RETURN_IF_ERROR(st);
  for (const auto& keys : extra) ignored_keys_.insert(keys.begin(), keys.end());
  return Status::OK();
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
