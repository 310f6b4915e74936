#include "steps/objects_hook.h"

#include <catch2/catch.hpp>

#include "plan/plan.h"
#include "step_harness.h"
#include "util/sha256.h"

namespace planrun {
namespace testing {
namespace {

/// An ObjectsHook over inline `code`, for a step "s1" of plan 3 "pics".
struct HookRig {
  Plan plan;
  StepDecl decl;
  Harness h;
  ObjectsSpec spec;
  std::unique_ptr<ObjectsHook> hook;

  HookRig(const std::string& code, const std::string& store, const std::string& key_template) {
    plan.name = "pics";
    REQUIRE(Version::Parse("3", &plan.version));
    decl.id = "s1";
    h.ctx.env.plan = &plan;
    h.ctx.env.decl = &decl;
    spec.key = {"id"};
    spec.url_hook.present = true;
    spec.url_hook.source = lua::HookSource{"hooks/pick.lua", code, "."};
    spec.store.kind = store;
    std::string error;
    REQUIRE(ParseTemplate(key_template, &spec.store.key, &error));
    const Status st = ObjectsHook::Start(spec, h.ctx, &hook);
    INFO(st.message());
    REQUIRE(st.ok());
  }

  /// Runs the hook over rows (id, a, b) as batch 1.
  std::vector<ObjectItem> Apply(const std::vector<std::vector<pg::Value>>& rows) {
    ColumnSpec id{"id", 20, "bigint", TypeClass::kInt};
    ColumnSpec a{"a", 25, "text", TypeClass::kText};
    ColumnSpec b{"b", 25, "text", TypeClass::kText};
    pg::Result r;
    r.rows = rows;
    std::vector<ObjectItem> items(rows.size());
    const Status st = hook->Apply(1, {id, a, b}, r, &items);
    INFO(st.message());
    REQUIRE(st.ok());
    return items;
  }
};

const char kPick[] = R"(local picked = 0
function setup(ctx) ctx.state.prefix = "k/" .. ctx.step .. "/" end
function transform(row, ctx)
  local id = row.id
  if id == 1 then
    picked = picked + 1
    return {url = row.a or row.b, key = ctx.state.prefix .. id .. ".png",
            headers = {["x-meta"] = "batch " .. ctx.batch}, colour = "red"}
  end
  if id == 2 then return nil end
  if id == 3 then error("no picture for " .. id, 0) end
  if id == 4 then return {url = 42} end
  if id == 5 then return {url = "http://x/5", headers = {["x-n"] = 5}} end
  if id == 6 then return {url = "http://x/6", headers = {authorization = "Bearer stolen"}} end
  if id == 7 then return {url = "http://x/7", key = {}} end
  if id == 8 then return {key = "k"} end
  if id == 9 then return {url = "http://x/9", headers = "x-meta: v"} end
  if id == 10 then return {url = function() end} end
  if id == 11 then return {url = "http://x/11", headers = {["bad name"] = "v"}} end
  if id == 12 then return {url = "http://x/12", headers = {["x-a"] = "1\r\nHost: evil"}} end
  if id == 13 then return {url = ""} end
  if id == 14 then return {url = "http://x/14", headers = {"x-meta", "v"}} end
  if id == 15 then return {url = "http://x/15", headers = {["Content-Type"] = "image/webp"}} end
  if id == 16 then error("missing " .. id) end
  if id == 17 then return {url = "http://x/17", headers = {["x-api-key"] = ""}} end
  return {url = "http://x/" .. id, headers = {}}
end
function finish(ctx) ctx.log("picked " .. picked) end)";

TEST_CASE("the url hook gives each row its source, key and headers, or skips or rejects it") {
  HookRig rig(kPick, "http", "designs/{id}.png");
  std::vector<std::vector<pg::Value>> rows;
  for (int id = 1; id <= 18; ++id) {
    rows.push_back({std::to_string(id),
                    id == 1 ? pg::Value() : pg::Value("http://a/" + std::to_string(id)),
                    "http://b/" + std::to_string(id)});
  }
  const std::vector<ObjectItem> items = rig.Apply(rows);
  using State = ObjectItem::State;
  CHECK(items[0].state == State::kPending);
  CHECK(items[0].source_url == "http://b/1");  // a is NULL: the hook took b
  CHECK(items[0].key == "k/s1/1.png");
  CHECK(items[0].key_given);
  CHECK(items[0].headers ==
        std::vector<std::pair<std::string, std::string>>{{"x-meta", "batch 1"}});
  CHECK(items[1].state == State::kSkipped);
  const std::string p = "hook hooks/pick.lua: row (id)=(";
  const std::vector<std::string> reasons = {
      "",
      "",
      "no picture for 3",
      p + "4): 'url' must be a text, got a number",
      p + "5): header 'x-n' must be a text, got a number",
      p + "6): header 'authorization' belongs to the store: a hook cannot set Authorization, "
          "Host, Content-Length, Transfer-Encoding or the checksum headers",
      p + "7): 'key' must be a text, got a table",
      p + "8): the returned table has no 'url'; return nil to skip a row",
      p + "9): 'headers' must map header names to texts, like {[\"x-meta\"] = \"v\"}, got a "
          "string",
      p + "10): 'url' must be a text, got a function",
      p + "11): 'bad name' is not an HTTP header name",
      p + "12): header 'x-a' has a line break or NUL in its value",
      p + "13): 'url' is empty",
      p + "14): 'headers' must map header names to texts, like {[\"x-meta\"] = \"v\"}",
      "",
      "hooks/pick.lua:24: missing 16",
      p + "17): header 'x-api-key' has an empty value; leave it out instead",
      ""};
  for (size_t i = 2; i < reasons.size(); ++i) {
    INFO("row " << i + 1);
    if (reasons[i].empty()) {
      CHECK(items[i].state == State::kPending);
    } else {
      CHECK(items[i].state == State::kRejected);
      CHECK(items[i].reason == reasons[i]);
    }
  }
  CHECK(items[14].headers ==
        std::vector<std::pair<std::string, std::string>>{{"Content-Type", "image/webp"}});
  CHECK(items[17].source_url == "http://x/18");
  CHECK_FALSE(items[17].key_given);  // the key template makes its key
  CHECK(items[17].headers.empty());
  REQUIRE(rig.hook->Finish().ok());
  CHECK(rig.h.out.lines() ==
        std::vector<std::string>{
            "info: hook s1: picked 1",
            "warn: objects s1: the hook returned keys that are not in {url, key, headers}, and "
            "they were ignored: colour"});
}

TEST_CASE("without a key template the hook must give the key; a dir store takes no headers") {
  HookRig rig(R"(function transform(row)
  if row.id == 1 then return {url = row.a, key = "one.bin"} end
  if row.id == 2 then return {url = row.a} end
  return {url = row.a, key = "three.bin", headers = {["x-meta"] = "v"}}
end)",
              "dir", "");
  const std::vector<ObjectItem> items = rig.Apply({{"1", "http://a/1", pg::Value()},
                                                   {"2", "http://a/2", pg::Value()},
                                                   {"3", "http://a/3", pg::Value()}});
  CHECK(items[0].state == ObjectItem::State::kPending);
  CHECK(items[0].key == "one.bin");
  CHECK(items[1].reason ==
        "hook hooks/pick.lua: row (id)=(2): the returned table has no 'key' and 'to' has no key "
        "template");
  CHECK(items[2].reason ==
        "hook hooks/pick.lua: row (id)=(3): 'headers' go with http and s3 stores; a dir store "
        "takes none");
  CHECK(items[2].headers.empty());
}

TEST_CASE("the fingerprint covers the hook's source and modules; a row key reads like SQL's") {
  ObjectsSpec spec;
  CHECK(ObjectsFingerprint(spec, "abc") == Sha256Hex("abc"));
  spec.url_hook.present = true;
  spec.url_hook.source.code = "function transform(row) return nil end";
  const std::string one = ObjectsFingerprint(spec, "abc");
  spec.url_hook.modules = "\n-- ./lib.lua\nreturn {}";
  const std::string two = ObjectsFingerprint(spec, "abc");
  spec.url_hook.source.code += "\n";
  const std::string three = ObjectsFingerprint(spec, "abc");
  CHECK(one != Sha256Hex("abc"));
  CHECK(one != two);
  CHECK(two != three);
  CHECK(DescribeRowKey({"id"}, {"7"}) == "(id)=(7)");
  CHECK(DescribeRowKey({"tenant", "name"}, {"3", "a b"}) == "(tenant, name)=(3, a b)");
}

}  // namespace
}  // namespace testing
}  // namespace planrun
