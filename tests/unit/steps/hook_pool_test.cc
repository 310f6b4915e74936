#include "steps/hook_pool.h"

#include <catch2/catch.hpp>

#include <mutex>
#include <thread>

namespace planrun {
namespace testing {
namespace {

std::unique_ptr<HookPool> StartPool(int workers, const std::string& code) {
  HookSpec spec;
  spec.present = true;
  spec.source = lua::HookSource{"t.lua", code, ""};
  lua::HookContext context;
  context.step_id = "s";
  std::unique_ptr<HookPool> pool;
  const Status st = HookPool::Start(spec, context, workers, &pool);
  INFO(st.message());
  REQUIRE(st.ok());
  return pool;
}

const char kDouble[] = R"(function transform(row, ctx)
  if row.n == 13 then error("unlucky", 0) end
  if row.n % 5 == 0 then return nil end
  return {n = row.n * 2, batch = ctx.batch, typo = 1}
end)";

TEST_CASE("Slices: one per state, at least 256 rows each") {
  auto pool = StartPool(3, kDouble);
  CHECK(pool->Slices(0) == 1);
  CHECK(pool->Slices(256) == 1);
  CHECK(pool->Slices(257) == 2);
  CHECK(pool->Slices(5000) == 3);
}

TEST_CASE("ForEachSlice covers every row once, in contiguous slices on separate threads") {
  auto pool = StartPool(2, kDouble);
  std::mutex mu;
  std::vector<std::pair<size_t, size_t>> ranges(2);
  std::vector<std::thread::id> threads(2);
  const Status st = pool->ForEachSlice(
      4, 1000,
      [&](lua::Hook&, size_t slice, size_t begin, size_t end, std::vector<std::string>* extra) {
        std::lock_guard<std::mutex> lock(mu);
        ranges[slice] = {begin, end};
        threads[slice] = std::this_thread::get_id();
        AddExtraKeys({"x", "y"}, extra);
        AddExtraKeys({"y"}, extra);
        return Status::OK();
      });
  REQUIRE(st.ok());
  CHECK(ranges[0] == std::make_pair<size_t, size_t>(0, 500));
  CHECK(ranges[1] == std::make_pair<size_t, size_t>(500, 1000));
  CHECK(threads[0] != threads[1]);
  CHECK(pool->ignored_keys() == std::set<std::string>{"x", "y"});
}

TEST_CASE("ForEachSlice returns the first slice's error after all slices ran") {
  auto pool = StartPool(2, kDouble);
  std::vector<int> ran(2, 0);
  const Status st = pool->ForEachSlice(
      1, 600, [&](lua::Hook&, size_t slice, size_t, size_t, std::vector<std::string>*) {
        ran[slice] = 1;
        return Status::Failed("slice " + std::to_string(slice) + " failed");
      });
  CHECK(st.message() == "slice 0 failed");
  CHECK(ran == std::vector<int>{1, 1});
}

TEST_CASE("Run gives each row's outcome in row order, whatever the number of workers") {
  for (int workers : {1, 2, 3}) {
    auto pool = StartPool(workers, kDouble);
    std::vector<std::vector<Value>> rows;
    for (int i = 1; i <= 700; ++i) rows.push_back({Value::Int(i)});
    std::vector<RowResult> results;
    REQUIRE(pool->Run(7, {"n"}, rows, {"n", "batch"}, &results).ok());
    REQUIRE(results.size() == 700);
    CHECK(results[0].outcome == lua::RowOutcome::kRow);
    CHECK(results[0].out == std::vector<Value>{Value::Int(2), Value::Int(7)});
    CHECK(results[4].outcome == lua::RowOutcome::kSkip);
    CHECK(results[12].outcome == lua::RowOutcome::kReject);
    CHECK(results[12].reason == "unlucky");
    CHECK(results[698].out == std::vector<Value>{Value::Int(1398), Value::Int(7)});
    CHECK(pool->ignored_keys() == std::set<std::string>{"typo"});
  }
}

}  // namespace
}  // namespace testing
}  // namespace planrun
