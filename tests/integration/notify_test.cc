// Plan-level `notify:` webhooks against tests/objects/fault_server.py: a JSON
// POST after apply and rollback, and a failing webhook never changes the
// outcome.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "../objects/test_server.h"
#include "net/http_client.h"
#include "support.h"

namespace planrun {
namespace testing {
namespace {

nlohmann::json Hooks(const std::string& url) {
  net::Client client(net::ClientOptions{});
  return nlohmann::json::parse(client.Run(net::MakeRequest("GET", url + "/_stats")).body)["hooks"];
}

std::string Plans(const std::string& notify) {
  const std::string dir = TempDir("notify-plans");
  WriteFile(dir + "/1_things.yaml",
            "version: 1\nname: things\nnotify:\n" + notify +
                "steps:\n  - id: make\n    sql:\n      up: CREATE TABLE things (id int); INSERT "
                "INTO things VALUES (1), (2)\n      down: DROP TABLE things\n      writes: "
                "[things]\n");
  return dir;
}

TEST_CASE("apply and rollback each POST the plan's outcome") {
  FaultServer server;
  const std::string db = "planrun_notify_ok";
  FreshDatabase(db);
  const std::string dir = Plans("  - {url: env:HOOK_URL, on: [success, failure]}\n");
  const std::map<std::string, std::string> env = {{"HOOK_URL", server.Url() + "/hook"}};
  CommandResult r = Planrun(db, {"--plans", dir, "apply"}, env);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.err.find("notify: told " + server.Url() + " that plan 1 things is applied") !=
        std::string::npos);
  nlohmann::json hooks = Hooks(server.Url());
  REQUIRE(hooks.size() == 1);
  CHECK(hooks[0]["command"] == "apply");
  CHECK(hooks[0]["plan"] == "things");
  CHECK(hooks[0]["version"] == "1");
  CHECK(hooks[0]["state"] == "applied");
  CHECK(hooks[0]["outcome"] == "success");
  CHECK(hooks[0]["error"] == "");
  CHECK(hooks[0]["duration_ms"].is_number());
  CHECK(hooks[0]["steps"].dump() == R"([{"counters":{"rows":2},"id":"make","state":"applied"}])");

  CommandResult rb = Planrun(db, {"--plans", dir, "rollback"}, env);
  REQUIRE(rb.exit_code == 0);
  hooks = Hooks(server.Url());
  REQUIRE(hooks.size() == 2);
  CHECK(hooks[1]["command"] == "rollback");
  CHECK(hooks[1]["state"] == "rolled_back");
  CHECK(hooks[1]["outcome"] == "success");

  // Applied again after the rollback: one more; then nothing pending: none.
  CHECK(Planrun(db, {"--plans", dir, "apply"}, env).exit_code == 0);
  CHECK(Planrun(db, {"--plans", dir, "apply"}, env).exit_code == 0);
  CHECK(Hooks(server.Url()).size() == 3);
}

TEST_CASE("a failed apply notifies with the error; on: [success] stays quiet") {
  FaultServer server;
  const std::string db = "planrun_notify_fail";
  FreshDatabase(db);
  const std::string dir = TempDir("notify-fail");
  WriteFile(dir + "/1_bad.yaml",
            "version: 1\nname: bad\nnotify:\n  - {url: \"${env:HOOK_BASE}/hook\", on: failure}\n"
            "  - {url: \"${env:HOOK_BASE}/hook\", on: [success]}\n"
            "steps:\n  - id: divide\n    sql:\n      up: SELECT 1/0\n      down: SELECT 1\n");
  CommandResult r = Planrun(db, {"--plans", dir, "apply"}, {{"HOOK_BASE", server.Url()}});
  CHECK(r.exit_code == 1);
  const nlohmann::json hooks = Hooks(server.Url());
  REQUIRE(hooks.size() == 1);
  CHECK(hooks[0]["state"] == "failed");
  CHECK(hooks[0]["outcome"] == "failure");
  CHECK(hooks[0]["error"].get<std::string>().find("division by zero") != std::string::npos);
  CHECK(hooks[0]["steps"][0]["state"] == "failed");
}

TEST_CASE("a failing webhook is logged and never changes the exit code") {
  FaultServer server({"--fail", "1"});
  const std::string db = "planrun_notify_down";
  FreshDatabase(db);
  const std::string dir = Plans("  - {url: env:HOOK_URL}\n");
  CommandResult r = Planrun(db, {"--plans", dir, "apply"}, {{"HOOK_URL", server.Url() + "/hook"}});
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.err.find("notify " + server.Url() +
                   ": HTTP 500 after 4 attempts; the outcome of plan 1 is unchanged") !=
        std::string::npos);
  CHECK(Hooks(server.Url()).empty());

  CommandResult unset = Planrun(db, {"--plans", dir, "rollback"});
  CHECK(unset.exit_code == 0);
  CHECK(unset.err.find("notify: notify url of plan 1 reads the environment variable HOOK_URL, "
                       "which is not set; no notification sent") != std::string::npos);
}

}  // namespace
}  // namespace testing
}  // namespace planrun
