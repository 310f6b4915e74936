#include "graph/format.h"

#include <catch2/catch.hpp>

#include "fake_step.h"

namespace planrun {
namespace {

using testing::MakePlan;
using testing::StepBuilder;

Version V(const std::string& text, uint64_t n) {
  Version v;
  v.text = text;
  v.parts = {n};
  return v;
}

/// Three steps: a backup, an update that needs it, and a barrier check.
Plan PackagesPlan() {
  Plan plan = MakePlan();
  plan.source.path = "plans/examples/002_packages_v2.yaml";
  plan.version = V("2", 2);
  plan.name = "packages_v2";
  plan.description = "Flatten package metadata and add team support";
  plan.requires_versions.push_back({V("1", 1), Loc{4, 11}});
  plan.checksum = "9f2c";
  plan.steps.push_back(StepBuilder("backup", "backup")
                           .Describe("Save packages before changing it")
                           .Reads({"packages"})
                           .BacksUp({"packages"})
                           .Up({"CREATE SCHEMA IF NOT EXISTS \"{backup}\"",
                                "CREATE TABLE \"{backup}\".\"packages_2_{id}\" AS TABLE "
                                "\"packages\";"})
                           .Down({"DROP TABLE IF EXISTS \"{backup}\".\"packages_2_{id}\""})
                           .Build());
  plan.steps.push_back(
      StepBuilder("fill")
          .Needs("backup")
          .Writes({"packages"})
          .Reversible(Reversibility::kNeedsBackup)
          .Up({"\nUPDATE packages\n   SET team_id = 1\n\n WHERE team_id IS NULL  \n"})
          .Build());
  plan.steps.push_back(StepBuilder("check", "verify")
                           .Barrier()
                           .OutsideTransaction()
                           .Up({"SELECT count(*) = 0 FROM packages WHERE team_id IS NULL"})
                           .Build());
  return plan;
}

std::string Format(const Plan& plan, PlanFormat format) {
  Graph steps;
  Status s = BuildGraph(plan, plan.steps, {}, &steps);
  REQUIRE(s.ok());
  Graph rollback;
  if (plan.has_rollback) REQUIRE(BuildGraph(plan, plan.rollback, {}, &rollback).ok());
  SchemaNames names;
  names.backup = "pr_backup";
  return FormatPlan(plan, steps, plan.has_rollback ? &rollback : nullptr, names, format);
}

TEST_CASE("the header says when the plan is rolled back on failure") {
  Plan plan = PackagesPlan();
  plan.rollback_on_failure = true;
  const std::string text = Format(plan, PlanFormat::kText);
  CHECK(text.find("  reversible: yes\n  on failure: rollback (undo the plan if a step fails)\n\n"
                  "step 1/3") != std::string::npos);
  CHECK(Format(plan, PlanFormat::kJson).find("\"on_failure\": \"rollback\",") != std::string::npos);
}

TEST_CASE("text shows the header, each step's SQL and why it waits") {
  CHECK(Format(PackagesPlan(), PlanFormat::kText) ==
        R"out(plan 2 packages_v2 (plans/examples/002_packages_v2.yaml)
  Flatten package metadata and add team support
  requires: 1
  checksum: sha256:9f2c
  reversible: yes

step 1/3 backup (backup)
  Save packages before changing it
  up:
    CREATE SCHEMA IF NOT EXISTS "pr_backup";
    CREATE TABLE "pr_backup"."packages_2_backup" AS TABLE "packages";
  down:
    DROP TABLE IF EXISTS "pr_backup"."packages_2_backup";

step 2/3 fill (sql) after backup
  because: fill needs backup
           fill writes packages after backup reads it
  up:
    UPDATE packages
       SET team_id = 1

     WHERE team_id IS NULL;
  down: none; rollback restores its tables from a backup

step 3/3 check (verify) after backup, fill
  because: check is a barrier (runs after every earlier step)
  runs outside a transaction
  up:
    SELECT count(*) = 0 FROM packages WHERE team_id IS NULL;
  down: nothing to undo
)out");
}

TEST_CASE("text lists why a plan cannot be rolled back") {
  Plan plan = MakePlan();
  plan.steps.push_back(StepBuilder("fill_description")
                           .Writes({"packages"})
                           .Reversible(Reversibility::kNeedsBackup)
                           .Up({"UPDATE packages SET description = ''"})
                           .Build());
  plan.steps.push_back(StepBuilder("drop", "drop_table")
                           .Writes({"legacy"})
                           .Reversible(Reversibility::kIrreversible)
                           .Up({"DROP TABLE legacy"})
                           .Build());
  CHECK(Format(plan, PlanFormat::kText) == R"out(plan 1 test (plans/test.yaml)
  checksum: sha256:
  reversible: no
    step 'fill_description': sql without an inverse writes packages, which no earlier backup step saves
    step 'drop': drop_table cannot be undone

step 1/2 fill_description (sql)
  up:
    UPDATE packages SET description = '';
  down: none; rollback restores its tables from a backup

step 2/2 drop (drop_table)
  up:
    DROP TABLE legacy;
  down: none; cannot be undone
)out");
}

TEST_CASE("json has every field, statements exactly as steps give them") {
  CHECK(Format(PackagesPlan(), PlanFormat::kJson) == R"out({
  "version": "2",
  "name": "packages_v2",
  "file": "plans/examples/002_packages_v2.yaml",
  "description": "Flatten package metadata and add team support",
  "requires": [
    "1"
  ],
  "checksum": "sha256:9f2c",
  "reversible": true,
  "irreversible_reasons": [],
  "on_failure": "stop",
  "steps": [
    {
      "id": "backup",
      "kind": "backup",
      "description": "Save packages before changing it",
      "after": [],
      "transactional": true,
      "reversibility": "reversible",
      "up": [
        "CREATE SCHEMA IF NOT EXISTS \"pr_backup\"",
        "CREATE TABLE \"pr_backup\".\"packages_2_backup\" AS TABLE \"packages\";"
      ],
      "down": [
        "DROP TABLE IF EXISTS \"pr_backup\".\"packages_2_backup\""
      ]
    },
    {
      "id": "fill",
      "kind": "sql",
      "description": "",
      "after": [
        {
          "id": "backup",
          "reason": "fill needs backup; fill writes packages after backup reads it"
        }
      ],
      "transactional": true,
      "reversibility": "needs_backup",
      "up": [
        "\nUPDATE packages\n   SET team_id = 1\n\n WHERE team_id IS NULL  \n"
      ],
      "down": []
    },
    {
      "id": "check",
      "kind": "verify",
      "description": "",
      "after": [
        {
          "id": "backup",
          "reason": "check is a barrier (runs after every earlier step)"
        },
        {
          "id": "fill",
          "reason": "check is a barrier (runs after every earlier step)"
        }
      ],
      "transactional": false,
      "reversibility": "reversible",
      "up": [
        "SELECT count(*) = 0 FROM packages WHERE team_id IS NULL"
      ],
      "down": []
    }
  ],
  "edges": [
    {
      "from": "backup",
      "to": "fill",
      "reason": "fill needs backup; fill writes packages after backup reads it"
    },
    {
      "from": "backup",
      "to": "check",
      "reason": "check is a barrier (runs after every earlier step)"
    },
    {
      "from": "fill",
      "to": "check",
      "reason": "check is a barrier (runs after every earlier step)"
    }
  ],
  "rollback": [],
  "rollback_edges": []
}
)out");
}

TEST_CASE("dot labels nodes with id and kind, edges with reasons") {
  CHECK(Format(PackagesPlan(), PlanFormat::kDot) == R"out(digraph "plan_2" {
  node [shape=box];
  "backup" [label="backup\n(backup)"];
  "fill" [label="fill\n(sql)"];
  "check" [label="check\n(verify)"];
  "backup" -> "fill" [label="fill needs backup; fill writes packages after backup reads it"];
  "backup" -> "check" [label="check is a barrier (runs after every earlier step)"];
  "fill" -> "check" [label="check is a barrier (runs after every earlier step)"];
}
)out");
}

TEST_CASE("mermaid names nodes by position and labels edges with reasons") {
  CHECK(Format(PackagesPlan(), PlanFormat::kMermaid) == R"out(flowchart TD
  s1["backup<br/>(backup)"]
  s2["fill<br/>(sql)"]
  s3["check<br/>(verify)"]
  s1 -->|"fill needs backup; fill writes packages after backup reads it"| s2
  s1 -->|"check is a barrier (runs after every earlier step)"| s3
  s2 -->|"check is a barrier (runs after every earlier step)"| s3
)out");
}

/// One step, and a rollback section of two steps that reuse its id.
Plan RollbackPlan() {
  Plan plan = MakePlan();
  plan.steps.push_back(StepBuilder("fill")
                           .Writes({"packages"})
                           .Reversible(Reversibility::kIrreversible)
                           .Up({"UPDATE packages SET team_id = 1"})
                           .Down({"never shown"})
                           .Build());
  plan.has_rollback = true;
  plan.rollback.push_back(
      StepBuilder("fill").Writes({"packages"}).Up({"UPDATE packages SET team_id = NULL"}).Build());
  plan.rollback.push_back(StepBuilder("check", "verify").Barrier().Up({"SELECT 1"}).Build());
  return plan;
}

TEST_CASE("text shows the rollback section instead of each step's down") {
  CHECK(Format(RollbackPlan(), PlanFormat::kText) == R"out(plan 1 test (plans/test.yaml)
  checksum: sha256:
  reversible: yes (rollback section)

step 1/1 fill (sql)
  up:
    UPDATE packages SET team_id = 1;

rollback (runs instead of undoing each step):

step 1/2 fill (sql)
  up:
    UPDATE packages SET team_id = NULL;

step 2/2 check (verify) after fill
  because: check is a barrier (runs after every earlier step)
  up:
    SELECT 1;
)out");
}

TEST_CASE("json, dot and mermaid show the rollback section as its own graph") {
  Plan plan = RollbackPlan();
  CHECK(Format(plan, PlanFormat::kJson) == R"out({
  "version": "1",
  "name": "test",
  "file": "plans/test.yaml",
  "description": "",
  "requires": [],
  "checksum": "sha256:",
  "reversible": true,
  "irreversible_reasons": [],
  "on_failure": "stop",
  "steps": [
    {
      "id": "fill",
      "kind": "sql",
      "description": "",
      "after": [],
      "transactional": true,
      "reversibility": "irreversible",
      "up": [
        "UPDATE packages SET team_id = 1"
      ]
    }
  ],
  "edges": [],
  "rollback": [
    {
      "id": "fill",
      "kind": "sql",
      "description": "",
      "after": [],
      "transactional": true,
      "reversibility": "reversible",
      "up": [
        "UPDATE packages SET team_id = NULL"
      ]
    },
    {
      "id": "check",
      "kind": "verify",
      "description": "",
      "after": [
        {
          "id": "fill",
          "reason": "check is a barrier (runs after every earlier step)"
        }
      ],
      "transactional": true,
      "reversibility": "reversible",
      "up": [
        "SELECT 1"
      ]
    }
  ],
  "rollback_edges": [
    {
      "from": "fill",
      "to": "check",
      "reason": "check is a barrier (runs after every earlier step)"
    }
  ]
}
)out");
  CHECK(Format(plan, PlanFormat::kDot) == R"out(digraph "plan_1" {
  node [shape=box];
  "fill" [label="fill\n(sql)"];
  subgraph "cluster_rollback" {
    label="rollback";
    "rollback/fill" [label="fill\n(sql)"];
    "rollback/check" [label="check\n(verify)"];
    "rollback/fill" -> "rollback/check" [label="check is a barrier (runs after every earlier step)"];
  }
}
)out");
  CHECK(Format(plan, PlanFormat::kMermaid) == R"out(flowchart TD
  s1["fill<br/>(sql)"]
  subgraph rollback
    r1["fill<br/>(sql)"]
    r2["check<br/>(verify)"]
    r1 -->|"check is a barrier (runs after every earlier step)"| r2
  end
)out");
}

TEST_CASE("dot and mermaid escape quotes in names") {
  Plan plan = MakePlan();
  plan.version = V("2026.1", 2026);
  plan.steps.push_back(StepBuilder("say \"hi\"\\").Writes({"t"}).Build());
  plan.steps.push_back(StepBuilder("end").Writes({"t"}).Build());
  CHECK(Format(plan, PlanFormat::kDot) == R"out(digraph "plan_2026.1" {
  node [shape=box];
  "say \"hi\"\\" [label="say \"hi\"\\\n(sql)"];
  "end" [label="end\n(sql)"];
  "say \"hi\"\\" -> "end" [label="end writes t also written by say \"hi\"\\"];
}
)out");
  CHECK(Format(plan, PlanFormat::kMermaid) == R"out(flowchart TD
  s1["say #quot;hi#quot;\<br/>(sql)"]
  s2["end<br/>(sql)"]
  s1 -->|"end writes t also written by say #quot;hi#quot;\"| s2
)out");
}

// Regression: plan text that is not UTF-8 made the JSON writer throw, and
// `planrun plan --format json` abort (found by tests/fuzz/plan_fuzz).
TEST_CASE("json of a plan whose text is not UTF-8 replaces the bad bytes") {
  Plan plan = MakePlan();
  plan.version = V("1", 1);
  plan.name = "latin1";
  plan.description = "caf\xe9 \xd2\xdf";
  plan.steps.push_back(StepBuilder("a").Up({"SELECT 'na\xefve'"}).Writes({"t"}).Build());
  const std::string json = Format(plan, PlanFormat::kJson);
  const std::string bad = "\xef\xbf\xbd";  // U+FFFD
  CHECK(json.find("\"description\": \"caf" + bad + " " + bad + bad + "\",") != std::string::npos);
  CHECK(json.find("\"SELECT 'na" + bad + "ve'\"") != std::string::npos);
}

}  // namespace
}  // namespace planrun
