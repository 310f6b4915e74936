#include "plan/parser.h"

#include <catch2/catch.hpp>
#include <string>

#include "util/sha256.h"

namespace planrun {
namespace {

/// A step that remembers what its kind's parser was given.
class RecordedStep : public Step {
 public:
  std::string body;  // CanonicalText of the body
  std::string step_id;
  std::string plan_dir;
  std::string version;
  Defaults settings;

  Reversibility reversibility() const override { return Reversibility::kReversible; }
  std::vector<std::string> DescribeUp(const StepEnv&) const override { return {}; }
  std::vector<std::string> DescribeDown(const StepEnv&) const override { return {}; }
  Status Apply(StepContext&) const override { return Status::OK(); }
  Status Revert(StepContext&) const override { return Status::OK(); }
};

Status Record(const Node& body, const StepParseContext& ctx, std::unique_ptr<Step>* out) {
  auto step = std::make_unique<RecordedStep>();
  step->body = CanonicalText(body);
  step->step_id = ctx.step_id;
  step->plan_dir = ctx.plan_dir;
  step->version = ctx.version.text;
  step->settings = ctx.settings;
  *out = std::move(step);
  return Status::OK();
}

/// add_columns, backup and sql record their body; sql refuses a non-string
/// body the way a real kind would; hook names a file the plan reads.
const StepRegistry& FakeKinds() {
  static const StepRegistry* kinds = new StepRegistry{
      {"sql",
       [](const Node& body, const StepParseContext& ctx, std::unique_ptr<Step>* out) {
         if (!body.IsScalar()) {
           return PlanError(ctx.file, body.loc,
                            "sql step must be a string, got " + body.KindName());
         }
         return Record(body, ctx, out);
       }},
      {"backup", Record},
      {"add_columns", Record},
      {"hook",
       [](const Node& body, const StepParseContext& ctx, std::unique_ptr<Step>* out) {
         ctx.files->push_back(ctx.plan_dir + "/" + body.scalar);
         return Record(body, ctx, out);
       }},
  };
  return *kinds;
}

const RecordedStep& Recorded(const StepDecl& decl) {
  const auto* step = dynamic_cast<const RecordedStep*>(decl.step.get());
  REQUIRE(step != nullptr);
  return *step;
}

/// Parses `text` as "p/t.yaml"; the error message, or "" on success.
std::string ErrorOf(const std::string& text, Plan* plan = nullptr) {
  Plan local;
  Status s = ParsePlan(SourceFile{"p/t.yaml", text}, FakeKinds(), plan ? plan : &local);
  if (!s.ok()) CHECK(s.code() == StatusCode::kInvalid);
  return s.message();
}

const char kFullPlan[] =
    "version: 2\n"
    "name: packages_v2\n"
    "description: Flatten package metadata and add team support\n"
    "requires: [1]\n"
    "defaults: {lock_timeout: 2s, statement_timeout: 10min, lock_retries: 3, batch_size: 500}\n"
    "params: {default_niche: other, limit: 10}\n"
    "steps:\n"
    "  - id: backup\n"
    "    description: keep a copy\n"
    "    backup: {tables: [packages]}\n"
    "  - id: add\n"
    "    needs: [backup]\n"
    "    lock_timeout: 5s\n"
    "    batch_size: 100\n"
    "    add_columns: {table: packages, columns: [team]}\n"
    "  - id: touch\n"
    "    needs: add\n"
    "    lock_retries: 0\n"
    "    sql: UPDATE packages SET team = 'core'\n"
    "rollback:\n"
    "  - id: undo\n"
    "    statement_timeout: 1h\n"
    "    sql: ALTER TABLE packages DROP COLUMN team\n";

TEST_CASE("ParsePlan reads a full plan") {
  Plan plan;
  Status s =
      ParsePlan(SourceFile{"plans/examples/002_packages_v2.yaml", kFullPlan}, FakeKinds(), &plan);
  INFO(s.message());
  REQUIRE(s.ok());
  CHECK(plan.source.path == "plans/examples/002_packages_v2.yaml");
  CHECK(plan.source.text == kFullPlan);
  CHECK(plan.dir == "plans/examples");
  CHECK(plan.version.text == "2");
  CHECK(plan.version_loc.line == 1);
  CHECK(plan.version_loc.col == 10);
  CHECK(plan.name == "packages_v2");
  CHECK(plan.name_loc.line == 2);
  CHECK(plan.name_loc.col == 7);
  CHECK(plan.description == "Flatten package metadata and add team support");
  REQUIRE(plan.requires_versions.size() == 1);
  CHECK(plan.requires_versions[0].first.text == "1");
  CHECK(plan.requires_versions[0].second.line == 4);
  CHECK(plan.requires_versions[0].second.col == 12);
  CHECK(plan.defaults.lock_timeout_ms == 2000);
  CHECK(plan.defaults.statement_timeout_ms == 600000);
  CHECK(plan.defaults.lock_retries == 3);
  CHECK(plan.defaults.batch_size == 500);
  CHECK(plan.params ==
        std::map<std::string, std::string>{{"default_niche", "other"}, {"limit", "10"}});
  CHECK(plan.files.empty());
  CHECK(plan.checksum.empty());

  REQUIRE(plan.steps.size() == 3);
  const StepDecl& backup = plan.steps[0];
  CHECK(backup.id == "backup");
  CHECK(backup.loc.line == 8);
  CHECK(backup.loc.col == 9);
  CHECK(backup.kind == "backup");
  CHECK(backup.kind_loc.line == 10);
  CHECK(backup.kind_loc.col == 5);
  CHECK(backup.description == "keep a copy");
  CHECK(backup.needs.empty());
  CHECK(backup.settings.lock_timeout_ms == 2000);
  CHECK(backup.settings.batch_size == 500);
  CHECK(
      backup.checksum ==
      Sha256Hex(R"({"id":"backup","description":"keep a copy","backup":{"tables":["packages"]}})"));
  CHECK(Recorded(backup).body == R"({"tables":["packages"]})");
  CHECK(Recorded(backup).step_id == "backup");
  CHECK(Recorded(backup).plan_dir == "plans/examples");
  CHECK(Recorded(backup).version == "2");

  const StepDecl& add = plan.steps[1];
  CHECK(add.kind == "add_columns");
  REQUIRE(add.needs.size() == 1);
  CHECK(add.needs[0].first == "backup");
  CHECK(add.needs[0].second.line == 12);
  CHECK(add.needs[0].second.col == 13);
  CHECK(add.settings.lock_timeout_ms == 5000);
  CHECK(add.settings.statement_timeout_ms == 600000);
  CHECK(add.settings.lock_retries == 3);
  CHECK(add.settings.batch_size == 100);
  CHECK(Recorded(add).settings.lock_timeout_ms == 5000);
  CHECK(Recorded(add).body == R"({"table":"packages","columns":["team"]})");

  const StepDecl& touch = plan.steps[2];
  REQUIRE(touch.needs.size() == 1);
  CHECK(touch.needs[0].first == "add");
  CHECK(touch.needs[0].second.line == 17);
  CHECK(touch.needs[0].second.col == 12);
  CHECK(touch.settings.lock_retries == 0);
  CHECK(Recorded(touch).body == R"("UPDATE packages SET team = 'core'")");

  CHECK(plan.has_rollback);
  REQUIRE(plan.rollback.size() == 1);
  CHECK(plan.rollback[0].id == "undo");
  CHECK(plan.rollback[0].kind == "sql");
  CHECK(plan.rollback[0].settings.statement_timeout_ms == 3600000);
  CHECK(plan.rollback[0].settings.lock_timeout_ms == 2000);

  CHECK(plan.FindStep("add") == &plan.steps[1]);
  CHECK(plan.FindStep("undo") == nullptr);
  CHECK(plan.FindStep("nope") == nullptr);
}

TEST_CASE("ParsePlan fills the defaults and leaves optional parts empty") {
  Plan plan;
  REQUIRE(ErrorOf("version: \"2026.11.21.1\"\nname: p\nsteps: [{id: a, sql: SELECT 1}]\n", &plan) ==
          "");
  CHECK(plan.version.parts == std::vector<uint64_t>{2026, 11, 21, 1});
  CHECK(plan.description.empty());
  CHECK(plan.requires_versions.empty());
  CHECK(plan.params.empty());
  CHECK_FALSE(plan.has_rollback);
  CHECK(plan.rollback.empty());
  CHECK_FALSE(plan.rollback_on_failure);
  const Defaults& s = plan.steps.at(0).settings;
  CHECK(s.lock_timeout_ms == 0);
  CHECK(s.statement_timeout_ms == 0);
  CHECK(s.lock_retries == 5);
  CHECK(s.batch_size == 5000);
}

TEST_CASE("ParsePlan gives kind parsers the plan directory and collects their files") {
  Plan plan;
  REQUIRE(
      ErrorOf("version: 1\nname: p\nsteps:\n  - {id: a, hook: a.lua}\n  - {id: b, hook: b.lua}\n",
              &plan) == "");
  CHECK(plan.files == std::vector<std::string>{"p/a.lua", "p/b.lua"});
  Plan bare;
  REQUIRE(ParsePlan(SourceFile{"t.yaml", "version: 1\nname: p\nsteps: [{id: a, hook: h.lua}]\n"},
                    FakeKinds(), &bare)
              .ok());
  CHECK(bare.dir == ".");
  CHECK(bare.files == std::vector<std::string>{"./h.lua"});
}

TEST_CASE("ParsePlan needs a version") {
  CHECK(ErrorOf("{}\n") == "p/t.yaml:1:1: error: plan needs 'version'\n{}\n^");
  CHECK(ErrorOf("") ==
        "p/t.yaml:1:1: error: plan file is empty; a plan needs 'version', 'name' and 'steps'");
  CHECK(ErrorOf("name: p\nsteps: []\n") == "p/t.yaml:1:1: error: plan needs 'version'\nname: p\n^");
}

TEST_CASE("ParsePlan refuses a version that is not numbers") {
  CHECK(ErrorOf("version: v2\n") ==
        "p/t.yaml:1:10: error: 'version' must be a non-negative integer or dotted numbers like "
        "2026.11.21.1, got 'v2'\nversion: v2\n         ^");
  CHECK(ErrorOf("version: [2]\n") ==
        "p/t.yaml:1:10: error: 'version' must be a non-negative integer or dotted numbers like "
        "2026.11.21.1, got a list\nversion: [2]\n         ^");
  CHECK(ErrorOf("version: 2026.01.05\n") ==
        "p/t.yaml:1:10: error: 'version' must not have leading zeros, got '2026.01.05'; write "
        "2026.1.5\nversion: 2026.01.05\n         ^");
}

TEST_CASE("ParsePlan refuses a document that is not a mapping") {
  CHECK(ErrorOf("- version: 2\n") ==
        "p/t.yaml:1:1: error: plan must be a mapping, got a list\n- version: 2\n^");
}

TEST_CASE("ParsePlan passes YAML errors through") {
  CHECK(ErrorOf("version: 2\nname: a\nname: b\n") ==
        "p/t.yaml:3:1: error: duplicate key 'name'; first at 2:1\nname: b\n^");
}

TEST_CASE("ParsePlan reports unknown top-level keys before missing ones") {
  CHECK(ErrorOf("version: 2\nname: p\nstep: []\n") ==
        "p/t.yaml:3:1: error: unknown key 'step' in plan; did you mean 'steps'?\nstep: []\n^");
  CHECK(ErrorOf("version: 2\nname: p\nowner: me\nsteps: []\n") ==
        "p/t.yaml:3:1: error: unknown key 'owner' in plan; expected one of: connections, defaults, "
        "description, name, notify, on_failure, params, requires, rollback, steps, version\nowner: "
        "me\n^");
}

TEST_CASE("ParsePlan reads notify webhooks, both outcomes by default") {
  Plan plan;
  REQUIRE(ErrorOf("version: 2\nname: p\nnotify:\n  - {url: env:HOOK}\n  - {url: "
                  "\"https://h/${env:T}\", on: failure}\nsteps:\n  - {id: a, backup: {}}\n",
                  &plan) == "");
  REQUIRE(plan.notify.size() == 2);
  CHECK(plan.notify[0].url == "env:HOOK");
  CHECK(plan.notify[0].on == std::vector<std::string>{"success", "failure"});
  CHECK(plan.notify[1].url == "https://h/${env:T}");
  CHECK(plan.notify[1].on == std::vector<std::string>{"failure"});
  CHECK(ErrorOf("version: 2\nname: p\nnotify: {url: x}\nsteps: []\n") ==
        "p/t.yaml:3:9: error: 'notify' must be a list of {url, on} entries, got a mapping\n"
        "notify: {url: x}\n        ^");
  CHECK(ErrorOf("version: 2\nname: p\nnotify: [{url: x, on: [done]}]\nsteps: []\n") ==
        "p/t.yaml:3:23: error: 'on' takes success and failure, got 'done'\n"
        "notify: [{url: x, on: [done]}]\n                      ^");
  CHECK(ErrorOf("version: 2\nname: p\nnotify: [{on: failure}]\nsteps: []\n") ==
        "p/t.yaml:3:10: error: notify entry needs 'url'\nnotify: [{on: failure}]\n         ^");
}

TEST_CASE("ParsePlan reads on_failure") {
  Plan plan;
  REQUIRE(ErrorOf("version: 2\nname: p\non_failure: rollback\nsteps: [{id: a, backup: {}}]\n",
                  &plan) == "");
  CHECK(plan.rollback_on_failure);
  Plan stop;
  REQUIRE(ErrorOf("version: 2\nname: p\non_failure: stop\nsteps: [{id: a, backup: {}}]\n", &stop) ==
          "");
  CHECK_FALSE(stop.rollback_on_failure);
  CHECK(ErrorOf("version: 2\nname: p\non_failure: [rollback]\nsteps: []\n") ==
        "p/t.yaml:3:13: error: 'on_failure' must be a string, got a list\n"
        "on_failure: [rollback]\n            ^");
}

TEST_CASE("ParsePlan needs a plain identifier as name") {
  CHECK(ErrorOf("version: 2\nsteps: []\n") ==
        "p/t.yaml:1:1: error: plan needs 'name'\nversion: 2\n^");
  CHECK(ErrorOf("version: 2\nname: my plan\n") ==
        "p/t.yaml:2:7: error: invalid identifier 'my plan' in plan: use letters, digits, _ and "
        "$, starting with a letter or _ (at most 63 bytes)\nname: my plan\n      ^");
}

TEST_CASE("ParsePlan needs a non-empty list of steps") {
  CHECK(ErrorOf("version: 2\nname: p\n") ==
        "p/t.yaml:1:1: error: plan needs 'steps'\nversion: 2\n^");
  CHECK(ErrorOf("version: 2\nname: p\nsteps: {id: a}\n") ==
        "p/t.yaml:3:8: error: 'steps' must be a list, got a mapping\nsteps: {id: a}\n       ^");
  CHECK(ErrorOf("version: 2\nname: p\nsteps: []\n") ==
        "p/t.yaml:3:8: error: plan has no steps; add at least one under 'steps:'\nsteps: []\n"
        "       ^");
  CHECK(ErrorOf("version: 2\nname: p\nsteps:\n") ==
        "p/t.yaml:3:1: error: plan has no steps; add at least one under 'steps:'\nsteps:\n^");
  CHECK(ErrorOf("version: 2\nname: p\nsteps: [backup]\n") ==
        "p/t.yaml:3:9: error: each item of 'steps' must be a mapping, got 'backup'\n"
        "steps: [backup]\n        ^");
}

TEST_CASE("ParsePlan needs an id on every step") {
  CHECK(ErrorOf("version: 2\nname: p\nsteps:\n  - sql: SELECT 1\n") ==
        "p/t.yaml:4:5: error: step needs 'id'\n  - sql: SELECT 1\n    ^");
  CHECK(ErrorOf("version: 2\nname: p\nsteps:\n  - id: 1st\n    sql: SELECT 1\n") ==
        "p/t.yaml:4:9: error: invalid identifier '1st' in step: use letters, digits, _ and $, "
        "starting with a letter or _ (at most 63 bytes)\n  - id: 1st\n        ^");
}

TEST_CASE("ParsePlan refuses duplicate step ids across steps and rollback") {
  const char* text =
      "version: 2\nname: p\nsteps:\n  - id: backup\n    backup: {}\n"
      "  - id: backup\n    sql: SELECT 1\n";
  CHECK(ErrorOf(text) ==
        "p/t.yaml:6:9: error: duplicate step id 'backup'; first declared at 4:9\n"
        "  - id: backup\n        ^");
  CHECK(ErrorOf("version: 2\nname: p\nsteps: [{id: a, sql: x}]\nrollback: [{id: a, sql: y}]\n") ==
        "p/t.yaml:4:17: error: duplicate step id 'a'; first declared at 3:14\n"
        "rollback: [{id: a, sql: y}]\n                ^");
}

TEST_CASE("ParsePlan needs exactly one kind per step") {
  CHECK(ErrorOf("version: 2\nname: p\nsteps:\n  - id: x\n    description: d\n") ==
        "p/t.yaml:4:5: error: step 'x' has no kind; add one of: add_columns, backup, hook, sql\n"
        "  - id: x\n    ^");
  CHECK(ErrorOf("version: 2\nname: p\nsteps:\n  - id: x\n    sql: SELECT 1\n    backup: {}\n") ==
        "p/t.yaml:6:5: error: step 'x' has two kinds, 'sql' and 'backup'; split it into two "
        "steps\n    backup: {}\n    ^");
}

TEST_CASE("ParsePlan suggests a close key for an unknown one in a step") {
  CHECK(ErrorOf("version: 2\nname: p\nsteps:\n  - id: x\n    bakup: {tables: [p]}\n") ==
        "p/t.yaml:5:5: error: unknown key 'bakup' in step 'x'; did you mean 'backup'?\n"
        "    bakup: {tables: [p]}\n    ^");
  CHECK(ErrorOf("version: 2\nname: p\nsteps:\n  - id: x\n    neds: [y]\n    sql: SELECT 1\n") ==
        "p/t.yaml:5:5: error: unknown key 'neds' in step 'x'; did you mean 'needs'?\n"
        "    neds: [y]\n    ^");
}

TEST_CASE("ParsePlan names an unknown kind") {
  CHECK(ErrorOf("version: 2\nname: p\nsteps:\n  - id: x\n    frobnicate: {}\n") ==
        "p/t.yaml:5:5: error: step 'x' has unknown kind 'frobnicate'; expected one of: "
        "add_columns, backup, hook, sql\n    frobnicate: {}\n    ^");
  CHECK(ErrorOf("version: 2\nname: p\nsteps:\n  - id: x\n    sql: SELECT 1\n    owner: me\n") ==
        "p/t.yaml:6:5: error: unknown key 'owner' in step 'x'; expected one of: batch_size, "
        "description, id, lock_retries, lock_timeout, needs, sql, statement_timeout\n"
        "    owner: me\n    ^");
}

TEST_CASE("ParsePlan checks needs against the steps of the same section") {
  const std::string head = "version: 2\nname: p\nsteps:\n  - id: a\n    sql: x\n";
  CHECK(ErrorOf(head + "  - id: b\n    needs: [a, nope]\n    sql: y\n") ==
        "p/t.yaml:7:16: error: step 'b' needs 'nope', which is not a step of this plan\n"
        "    needs: [a, nope]\n               ^");
  CHECK(ErrorOf(head + "  - id: b\n    needs: b\n    sql: y\n") ==
        "p/t.yaml:7:12: error: step 'b' needs itself\n    needs: b\n           ^");
  CHECK(ErrorOf(head + "  - id: b\n    needs: [a, a]\n    sql: y\n") ==
        "p/t.yaml:7:16: error: step 'b' needs 'a' twice\n    needs: [a, a]\n               ^");
  CHECK(ErrorOf(head + "rollback:\n  - id: r\n    needs: [a]\n    sql: y\n") ==
        "p/t.yaml:8:13: error: step 'r' needs 'a', which is not a rollback step of this plan\n"
        "    needs: [a]\n            ^");
  CHECK(ErrorOf(head + "  - id: b\n    needs: [c]\n    sql: y\n  - id: c\n    sql: z\n") == "");
}

TEST_CASE("ParsePlan checks the settings keys") {
  const std::string head = "version: 2\nname: p\n";
  const std::string steps = "steps: [{id: a, sql: x}]\n";
  CHECK(ErrorOf(head + "defaults: {batch_size: 0}\n" + steps) ==
        "p/t.yaml:3:24: error: 'batch_size' must be 1 or more, got 0\n"
        "defaults: {batch_size: 0}\n                       ^");
  CHECK(ErrorOf(head + "defaults: {lock_retries: -1}\n" + steps) ==
        "p/t.yaml:3:26: error: 'lock_retries' must be 0 or more, got -1\n"
        "defaults: {lock_retries: -1}\n                         ^");
  CHECK(ErrorOf(head + "defaults: {lock_timout: 2s}\n" + steps) ==
        "p/t.yaml:3:12: error: unknown key 'lock_timout' in defaults; did you mean "
        "'lock_timeout'?\ndefaults: {lock_timout: 2s}\n           ^");
  CHECK(ErrorOf(head + "defaults: [2s]\n" + steps) ==
        "p/t.yaml:3:11: error: defaults must be a mapping, got a list\ndefaults: [2s]\n"
        "          ^");
  CHECK(ErrorOf(head + "steps: [{id: a, sql: x, statement_timeout: forever}]\n") ==
        "p/t.yaml:3:44: error: 'statement_timeout' must be a duration like 2s or 10min, got "
        "'forever'\nsteps: [{id: a, sql: x, statement_timeout: forever}]\n"
        "                                           ^");
  CHECK(ErrorOf(head + "steps: [{id: a, sql: x, batch_size: -5}]\n") ==
        "p/t.yaml:3:37: error: 'batch_size' must be 1 or more, got -5\n"
        "steps: [{id: a, sql: x, batch_size: -5}]\n                                    ^");
}

TEST_CASE("ParsePlan checks params") {
  const std::string head = "version: 2\nname: p\nsteps: [{id: a, sql: x}]\n";
  CHECK(ErrorOf(head + "params: {niche: [a]}\n") ==
        "p/t.yaml:4:17: error: 'niche' must be a string, got a list\nparams: {niche: [a]}\n"
        "                ^");
  CHECK(ErrorOf(head + "params: {my-niche: a}\n") ==
        "p/t.yaml:4:10: error: invalid identifier 'my-niche' in params: use letters, digits, _ "
        "and $, starting with a letter or _ (at most 63 bytes)\nparams: {my-niche: a}\n"
        "         ^");
  CHECK(ErrorOf(head + "params: x\n") ==
        "p/t.yaml:4:9: error: params must be a mapping, got 'x'\nparams: x\n        ^");
}

TEST_CASE("ParsePlan checks requires") {
  const std::string head = "version: 3\nname: p\nsteps: [{id: a, sql: x}]\n";
  Plan plan;
  REQUIRE(ErrorOf(head + "requires: 2.5\n", &plan) == "");
  REQUIRE(plan.requires_versions.size() == 1);
  CHECK(plan.requires_versions[0].first.text == "2.5");
  CHECK(ErrorOf(head + "requires: [1, 4]\n") ==
        "p/t.yaml:4:15: error: plan 3 requires 4, a later version; a plan can only require "
        "earlier versions\nrequires: [1, 4]\n              ^");
  CHECK(ErrorOf(head + "requires: 3.0\n") ==
        "p/t.yaml:4:11: error: plan 3 requires its own version; a plan can only require earlier "
        "versions\nrequires: 3.0\n          ^");
  CHECK(ErrorOf(head + "requires: [1, one]\n") ==
        "p/t.yaml:4:15: error: each item of 'requires' must be a non-negative integer or dotted "
        "numbers like 2026.11.21.1, got 'one'\nrequires: [1, one]\n              ^");
  CHECK(ErrorOf(head + "requires: {v: 1}\n") ==
        "p/t.yaml:4:11: error: 'requires' must be a version or a list of versions, got a "
        "mapping\nrequires: {v: 1}\n          ^");
  CHECK(ErrorOf(head + "requires: [1, 1.0]\n") ==
        "p/t.yaml:4:15: error: 'requires' lists 1.0 twice; first at 4:12\n"
        "requires: [1, 1.0]\n              ^");
}

TEST_CASE("ParsePlan checks the rollback section") {
  const std::string head = "version: 2\nname: p\nsteps: [{id: a, sql: x}]\n";
  CHECK(ErrorOf(head + "rollback: []\n") ==
        "p/t.yaml:4:11: error: 'rollback' has no steps; list the steps that undo this plan, or "
        "remove 'rollback:' to use the automatic inverses\nrollback: []\n          ^");
  CHECK(ErrorOf(head + "rollback: {id: r}\n") ==
        "p/t.yaml:4:11: error: 'rollback' must be a list, got a mapping\nrollback: {id: r}\n"
        "          ^");
  CHECK(ErrorOf(head + "rollback: [r]\n") ==
        "p/t.yaml:4:12: error: each item of 'rollback' must be a mapping, got 'r'\n"
        "rollback: [r]\n           ^");
}

TEST_CASE("ParsePlan passes a kind parser's error through") {
  CHECK(ErrorOf("version: 2\nname: p\nsteps:\n  - id: a\n    sql: [1]\n") ==
        "p/t.yaml:5:10: error: sql step must be a string, got a list\n    sql: [1]\n         ^");
}

TEST_CASE("ParsePlan gives each step a checksum of its entry") {
  Plan a, b, c;
  REQUIRE(ErrorOf("version: 2\nname: p\nsteps:\n  - id: s\n    sql: SELECT 1 # one\n", &a) == "");
  REQUIRE(ErrorOf("{version: 2, name: p, steps: [{id: s, sql: 'SELECT 1'}]}", &b) == "");
  REQUIRE(ErrorOf("{version: 2, name: p, steps: [{id: s, sql: 'SELECT 2'}]}", &c) == "");
  CHECK(a.steps[0].checksum == Sha256Hex(R"({"id":"s","sql":"SELECT 1"})"));
  CHECK(a.steps[0].checksum == b.steps[0].checksum);
  CHECK(a.steps[0].checksum != c.steps[0].checksum);
}

}  // namespace
}  // namespace planrun
