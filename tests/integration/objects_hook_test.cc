// The `objects` step with `url: {hook: ...}` against fault_server.py on
// loopback: a Lua hook picks each row's source from one of two columns, sets
// its object key and x-meta headers, skips rows without a source and rejects
// banned ones. Every row must end stored exactly as the hook said, skipped
// and untouched, or in planrun.rejects with its reason; a SIGKILL and a
// re-run change nothing of that, and rollback restores the table exactly.
#include <signal.h>
#include <sys/wait.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "../objects/test_server.h"
#include "objects_support.h"
#include "support.h"
#include "util/sha256.h"

namespace planrun {
namespace testing {
namespace {

const char kHook[] = R"(-- Picks each design's source: the full image, else the thumbnail.
local keys = require("lib.keys")

function setup(ctx)
  ctx.state.seen = 0
end

function transform(row, ctx)
  ctx.state.seen = ctx.state.seen + 1
  if row.kind == "banned" then error("design " .. row.id .. " is banned", 0) end
  if row.kind == "broken" then return {url = 404} end
  local url, source = row.image_url, "image"
  if url == nil then url, source = row.thumb_url, "thumb" end
  if url == nil then return nil end
  return {
    url = url,
    key = keys.design(row),
    headers = {["x-meta-design"] = tostring(row.id), ["x-meta-source"] = source},
  }
end

function finish(ctx)
  ctx.log("looked at " .. ctx.state.seen .. " designs")
end
)";

const char kKeys[] = R"(local M = {}
function M.design(row) return "designs/" .. row.kind .. "/" .. row.id .. ".png" end
return M
)";

/// What the hook makes of design `id` (see MakeDesigns).
enum class Fate { kImage, kThumb, kSkip, kBanned, kBroken };

Fate FateOf(int id) {
  if (id == 33) return Fate::kBroken;
  if (id % 7 == 0) return Fate::kBanned;
  if (id % 10 == 0) return Fate::kSkip;
  return id % 2 == 0 ? Fate::kImage : Fate::kThumb;
}

/// custom_design with `n` rows: even ids have an image and a thumbnail, odd
/// ids a thumbnail only, every tenth neither; multiples of 7 are banned and
/// 33 is broken.
void MakeDesigns(const std::string& conn, const std::string& source, int n) {
  ExecSql(conn,
          "CREATE TABLE custom_design (id bigint PRIMARY KEY, kind text NOT NULL, image_url text, "
          "thumb_url text, storage_url text, image_sha256 text, image_bytes bigint, note text "
          "DEFAULT 'keep');"
          "INSERT INTO custom_design (id, kind, image_url, thumb_url) SELECT g, CASE WHEN g = 33 "
          "THEN 'broken' WHEN g % 7 = 0 THEN 'banned' WHEN g % 2 = 0 THEN 'a' ELSE 'b' END, "
          "CASE WHEN g % 2 = 0 AND g % 10 <> 0 THEN '" +
              source +
              "/src/img' || g || '.png?size=' || (1000 + g) END, CASE WHEN g % 10 <> 0 THEN '" +
              source +
              "/src/thumb' || g || '.png?size=' || (500 + g) END FROM generate_series(1, " +
              std::to_string(n) + ") g");
}

/// A plan directory with the hook, its module and one objects step.
std::string PlanDir(const std::string& extra) {
  const std::string dir = TempDir("objects-hook-plans");
  WriteFile(dir + "/hooks/design_source.lua", kHook);
  WriteFile(dir + "/lib/keys.lua", kKeys);
  WriteFile(dir + "/1_designs.yaml",
            "version: 1\nname: designs\nsteps:\n  - id: designs_to_storage\n    objects:\n"
            "      from: {table: custom_design, key: id, where: \"storage_url IS NULL\"}\n"
            "      url: {hook: hooks/design_source.lua}\n"
            "      to: {store: http, base_url: env:STORAGE_URL, headers: {Authorization: "
            "\"Bearer ${env:STORAGE_KEY}\"}}\n"
            "      set: {storage_url: \"{url}\", image_sha256: \"{sha256}\", image_bytes: "
            "\"{size}\"}\n"
            "      delete_on_rollback: true\n" +
                extra);
  return dir;
}

/// The counts the summary line reports for designs 1..n.
struct Expected {
  int uploaded = 0, skipped = 0, rejected = 0;
  int64_t bytes = 0;
  std::string rejects;  // "[\"7\"] design 7 is banned | ..." in id order
};

Expected Expect(int n, const std::string& hook_path) {
  Expected e;
  for (int id = 1; id <= n; ++id) {
    const std::string key = "[\"" + std::to_string(id) + "\"] ";
    switch (FateOf(id)) {
      case Fate::kImage:
        ++e.uploaded;
        e.bytes += 1000 + id;
        break;
      case Fate::kThumb:
        ++e.uploaded;
        e.bytes += 500 + id;
        break;
      case Fate::kSkip:
        ++e.skipped;
        break;
      case Fate::kBanned:
      case Fate::kBroken:
        e.rejects += std::string(e.rejected++ ? " | " : "") + key +
                     (FateOf(id) == Fate::kBanned
                          ? "design " + std::to_string(id) + " is banned"
                          : "hook " + hook_path + ": row (id)=(" + std::to_string(id) +
                                "): 'url' must be a text, got a number");
        break;
    }
  }
  return e;
}

/// Each design 1..n as the hook said: stored at its key with the source's
/// bytes and headers, exactly once, or untouched.
void CheckRows(const std::string& conn, const std::string& server, int n) {
  const nlohmann::json objects = Stats(server)["objects"];
  pg::Result r;
  Connect(conn)->Exec(
      "SELECT id, kind, coalesce(storage_url, 'NULL'), coalesce(image_sha256, 'NULL'), "
      "coalesce(image_bytes::text, 'NULL'), note FROM custom_design ORDER BY id",
      &r);
  REQUIRE(r.rows.size() == static_cast<size_t>(n));
  int bad = 0, uploaded = 0;
  for (size_t i = 0; i < r.rows.size(); ++i) {
    const int id = std::stoi(r.get(i, 0));
    const Fate fate = FateOf(id);
    bool ok = r.get(i, 5) == "keep";
    if (fate == Fate::kImage || fate == Fate::kThumb) {
      ++uploaded;
      const bool image = fate == Fate::kImage;
      const std::string body = image ? SourceBody("img" + std::to_string(id) + ".png", 1000 + id)
                                     : SourceBody("thumb" + std::to_string(id) + ".png", 500 + id);
      const std::string key = "designs/" + r.get(i, 1) + "/" + std::to_string(id) + ".png";
      const nlohmann::json meta = {{"x-meta-design", std::to_string(id)},
                                   {"x-meta-source", image ? "image" : "thumb"}};
      ok = ok && r.get(i, 2) == server + "/store/" + key && r.get(i, 3) == Sha256Hex(body) &&
           r.get(i, 4) == std::to_string(body.size()) && objects.contains(key) &&
           objects[key]["sha256"] == Sha256Hex(body) && objects[key]["puts"] == 1 &&
           objects[key]["meta"] == meta;
    } else {
      ok = ok && r.get(i, 2) == "NULL" && r.get(i, 3) == "NULL" && r.get(i, 4) == "NULL";
    }
    if (!ok && ++bad <= 3)
      FAIL_CHECK("design " << id << " is not as the hook said: " << r.get(i, 2));
  }
  CHECK(bad == 0);
  CHECK(objects.size() == static_cast<size_t>(uploaded));
}

std::string OpenRejects(const std::string& conn) {
  return QueryValue(conn,
                    "SELECT coalesce(string_agg(row_key::text || ' ' || reason, ' | ' ORDER BY "
                    "(row_key->>0)::int), '') FROM planrun.rejects WHERE resolved_at IS NULL");
}

std::string TableText(const std::string& conn) {
  return QueryValue(conn, "SELECT string_agg(t::text, E'\\n' ORDER BY id) FROM custom_design t");
}

TEST_CASE("a url hook picks sources, keys and headers, skips and rejects; rollback is exact") {
  FaultServer server;
  const std::string db = "planrun_ohook_main";
  const std::string conn = FreshDatabase(db);
  MakeDesigns(conn, server.Url(), 40);
  const std::string before = TableText(conn);
  const std::string dir = PlanDir("      max_rejects: 6\n");
  const std::string hook = dir + "/hooks/design_source.lua";
  const std::map<std::string, std::string> env = {{"STORAGE_URL", server.Url() + "/store"},
                                                  {"STORAGE_KEY", "tok-ohook"}};

  CommandResult plan = Planrun(db, {"--plans", dir, "plan"}, env);
  INFO(plan.err);
  REQUIRE(plan.exit_code == 0);
  CHECK_THAT(plan.out, Catch::Contains("-- per batch of 100 rows, 8 transfers in flight: download "
                                       "the URL the hook " +
                                       hook +
                                       " gives each row, upload to the http store as the hook's "
                                       "key unless it holds the same sha256:"));
  CHECK_THAT(plan.out,
             Catch::Contains("SELECT \"id\", <every other column> FROM \"custom_design\" WHERE "
                             "(storage_url IS NULL) AND (<key>) > (<last key>) ORDER BY "
                             "\"id\" LIMIT 100"));
  CommandResult dry = Planrun(db, {"--plans", dir, "apply", "--dry-run", "--sample", "12"}, env);
  INFO(dry.err);
  REQUIRE(dry.exit_code == 0);
  const std::string src = server.Url() + "/src/";
  CHECK_THAT(dry.err,
             Catch::Contains(
                 "objects designs_to_storage (dry run): 40 rows would have their objects moved to "
                 "the http store " +
                 server.Url() + "/store, their URLs from the hook " + hook +
                 "\ninfo  hook designs_to_storage: looked at 12 designs\ninfo  objects "
                 "designs_to_storage (dry run, the hook over the first 12 rows): 10 "
                 "would move, 1 skipped, 1 rejected\ninfo    (id)=(1): " +
                 src +
                 "thumb1.png?size=501 -> designs/b/1.png, headers x-meta-design, "
                 "x-meta-source\ninfo    (id)=(2): " +
                 src +
                 "img2.png?size=1002 -> designs/a/2.png, headers x-meta-design, "
                 "x-meta-source\ninfo    (id)=(3): " +
                 src +
                 "thumb3.png?size=503 -> designs/b/3.png, headers x-meta-design, "
                 "x-meta-source\ninfo    (id)=(7): rejected: design 7 is banned\n"));
  CHECK(Stats(server.Url())["objects"].empty());

  CommandResult r = Planrun(db, {"--plans", dir, "apply"}, env);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const Expected e = Expect(40, hook);
  CHECK(e.uploaded == 30);
  CHECK(e.skipped == 4);
  CHECK(e.rejected == 6);
  CHECK_THAT(r.err,
             Catch::Contains("objects designs_to_storage: 40 processed, 30 uploaded, 0 "
                             "skipped (already stored), 4 skipped by the hook, 6 rejected, " +
                             std::to_string(e.bytes) + " bytes moved"));
  CHECK_THAT(r.err, Catch::Contains("hook designs_to_storage: looked at 40 designs"));
  CheckRows(conn, server.Url(), 40);
  CHECK(OpenRejects(conn) == e.rejects);
  // The rejected row as the hook saw it, every column (jsonb orders the keys).
  CHECK(QueryValue(conn, "SELECT input FROM planrun.rejects WHERE row_key::text = '[\"7\"]'") ==
        "{\"id\": \"7\", \"kind\": \"banned\", \"note\": \"keep\", \"image_url\": null, "
        "\"thumb_url\": \"" +
            server.Url() +
            "/src/thumb7.png?size=507\", \"image_bytes\": null, \"storage_url\": null, "
            "\"image_sha256\": null}");
  CHECK(Stats(server.Url())["auth"] == nlohmann::json::array({"Bearer tok-ohook"}));

  CommandResult rb = Planrun(db, {"--plans", dir, "rollback"}, env);
  INFO(rb.err);
  REQUIRE(rb.exit_code == 0);
  CHECK_THAT(rb.err, Catch::Contains("objects designs_to_storage: restored 30 rows of "
                                     "custom_design to their previous values; deleted 30 "
                                     "uploaded objects"));
  CHECK(TableText(conn) == before);
  CHECK(Stats(server.Url())["objects"].empty());
}

TEST_CASE("SIGKILL mid-step: an edited hook is refused, the same hook resumes to the same table") {
  FaultServer server({"--delay-ms", "20"});
  const std::string db = "planrun_ohook_kill";
  const std::string conn = FreshDatabase(db);
  MakeDesigns(conn, server.Url(), 200);
  const std::string before = TableText(conn);
  const std::string dir =
      PlanDir("      concurrency: 4\n      batch_size: 10\n      max_rejects: 40\n");
  const std::string hook = dir + "/hooks/design_source.lua";
  setenv("PGDATABASE", db.c_str(), 1);
  setenv("STORAGE_URL", (server.Url() + "/store").c_str(), 1);
  setenv("STORAGE_KEY", "tok-ohook-kill", 1);
  auto done = [&] {
    return std::stoul(
        QueryValue(conn, "SELECT count(*) FROM custom_design WHERE storage_url IS NOT NULL"));
  };
  {
    ChildProcess child({PlanrunBinary(), "--plans", dir, "apply"});
    // Wait until some batches are committed and the next one has uploaded
    // objects its rows do not point at yet.
    for (int i = 0; i < 3000; ++i) {
      if (done() >= 40 && Stats(server.Url())["objects"].size() > done()) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    kill(child.pid(), SIGKILL);
    waitpid(child.pid(), nullptr, 0);
  }
  // A COMMIT sent just before the kill still completes: wait until the
  // killed run's sessions are gone before counting.
  for (int i = 0; i < 400; ++i) {
    if (QueryValue(conn,
                   "SELECT count(*) FROM pg_stat_activity WHERE datname = "
                   "current_database() AND pid <> pg_backend_pid()") == "0") {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  const size_t done_before = done();
  const size_t stored_before = Stats(server.Url())["objects"].size();
  CHECK(done_before >= 40);
  CHECK(done_before < 150);
  // Usually the killed batch had uploaded some objects; a kill just after a
  // commit leaves none, and the checks below hold either way.
  CHECK(stored_before >= done_before);

  WriteFile(hook, std::string(kHook) + "-- edited after the kill\n");
  CommandResult edited = Planrun(db, {"--plans", dir, "apply"});
  CHECK(edited.exit_code != 0);
  CHECK_THAT(edited.err, Catch::Contains("step 'designs_to_storage' changed since its checkpoint"));
  CHECK(done() == done_before);

  WriteFile(hook, kHook);
  CommandResult r = Planrun(db, {"--plans", dir, "apply"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.err, Catch::Contains("objects designs_to_storage: resuming after batch "));
  const Expected e = Expect(200, hook);
  CheckRows(conn, server.Url(), 200);  // every object sent once: none twice after the kill
  CHECK(OpenRejects(conn) == e.rejects);
  // The killed batch's uploads are found in the store, not sent again.
  const size_t orphans = stored_before - done_before;
  CHECK_THAT(r.err, Catch::Contains("objects designs_to_storage: 200 processed, " +
                                    std::to_string(e.uploaded - orphans) + " uploaded, " +
                                    std::to_string(orphans) + " skipped (already stored), " +
                                    std::to_string(e.skipped) + " skipped by the hook, " +
                                    std::to_string(e.rejected) + " rejected, "));

  CommandResult rb = Planrun(db, {"--plans", dir, "rollback"});
  INFO(rb.err);
  REQUIRE(rb.exit_code == 0);
  CHECK(TableText(conn) == before);
  // delete_on_rollback deletes what the step recorded as uploaded; the
  // killed batch's objects were recorded as already stored.
  CHECK(Stats(server.Url())["objects"].size() == orphans);
  unsetenv("STORAGE_URL");
  unsetenv("STORAGE_KEY");
}

}  // namespace
}  // namespace testing
}  // namespace planrun
