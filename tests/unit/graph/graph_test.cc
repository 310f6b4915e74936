#include "graph/graph.h"

#include <catch2/catch.hpp>

#include "fake_step.h"

namespace planrun {
namespace {

using testing::MakePlan;
using testing::StepBuilder;
using testing::Table;

/// An edge as a comparable, printable tuple of (from id, to id, reason).
using EdgeText = std::tuple<std::string, std::string, std::string>;

std::vector<EdgeText> Edges(const Graph& g) {
  std::vector<EdgeText> out;
  for (const Edge& e : g.edges) out.emplace_back(g.nodes[e.from]->id, g.nodes[e.to]->id, e.reason);
  return out;
}

Graph MustBuild(const Plan& plan, const std::vector<StepDecl>& steps,
                const std::vector<DeclaredFk>& catalog_fks = {}) {
  Graph g;
  Status s = BuildGraph(plan, steps, catalog_fks, &g);
  INFO(s.message());
  REQUIRE(s.ok());
  return g;
}

Graph MustBuild(const Plan& plan) { return MustBuild(plan, plan.steps); }

TEST_CASE("read after write waits for the writer") {
  Plan plan = MakePlan();
  plan.steps.push_back(StepBuilder("create").Writes({"users"}).Build());
  plan.steps.push_back(StepBuilder("other").Writes({"teams"}).Build());
  plan.steps.push_back(StepBuilder("check").Reads({"users"}).Build());
  Graph g = MustBuild(plan);
  CHECK(Edges(g) ==
        std::vector<EdgeText>{{"create", "check", "check reads users written by create"}});
  CHECK(g.nodes[2] == &plan.steps[2]);
  CHECK(g.preds == std::vector<std::vector<int>>{{}, {}, {0}});
  CHECK(g.succs == std::vector<std::vector<int>>{{2}, {}, {}});
}

TEST_CASE("write after write waits for every earlier writer") {
  Plan plan = MakePlan();
  plan.steps.push_back(StepBuilder("a").Writes({"users"}).Build());
  plan.steps.push_back(StepBuilder("b").Writes({"users"}).Build());
  plan.steps.push_back(StepBuilder("c").Writes({"users"}).Build());
  Graph g = MustBuild(plan);
  CHECK(Edges(g) == std::vector<EdgeText>{{"a", "b", "b writes users also written by a"},
                                          {"a", "c", "c writes users also written by a"},
                                          {"b", "c", "c writes users also written by b"}});
  CHECK(g.succs == std::vector<std::vector<int>>{{1, 2}, {2}, {}});
}

TEST_CASE("write after read waits for the reader, so a backup finishes first") {
  Plan plan = MakePlan();
  plan.steps.push_back(StepBuilder("backup", "backup").Reads({"packages"}).Build());
  plan.steps.push_back(StepBuilder("new_columns", "add_columns").Writes({"packages"}).Build());
  Graph g = MustBuild(plan);
  CHECK(Edges(g) == std::vector<EdgeText>{{"backup", "new_columns",
                                           "new_columns writes packages after backup reads it"}});
}

TEST_CASE("reading after a read adds no edge") {
  Plan plan = MakePlan();
  plan.steps.push_back(StepBuilder("a").Reads({"users"}).Build());
  plan.steps.push_back(StepBuilder("b").Reads({"users"}).Build());
  CHECK(MustBuild(plan).edges.empty());
}

TEST_CASE("tables compare by key, reasons show them as the step wrote them") {
  Plan plan = MakePlan();
  plan.steps.push_back(StepBuilder("a").Writes({"public.users"}).Build());
  plan.steps.push_back(StepBuilder("b").Reads({"users"}).Build());
  plan.steps.push_back(StepBuilder("c").Reads({"auth.users"}).Build());
  CHECK(Edges(MustBuild(plan)) == std::vector<EdgeText>{{"a", "b", "b reads users written by a"}});
}

TEST_CASE("several reasons for one pair share one edge, in rule order") {
  Plan plan = MakePlan();
  plan.steps.push_back(StepBuilder("a").Reads({"users"}).Writes({"users", "teams"}).Build());
  plan.steps.push_back(
      StepBuilder("b").Needs("a").Reads({"teams", "teams"}).Writes({"users"}).Build());
  Graph g = MustBuild(plan);
  CHECK(Edges(g) == std::vector<EdgeText>{{"a", "b",
                                           "b needs a; b reads teams written by a; b writes users "
                                           "also written by a; b writes users after a reads it"}});
  CHECK(g.preds == std::vector<std::vector<int>>{{}, {0}});
}

TEST_CASE("a foreign key declared by a step orders writes of the referencing table") {
  Plan plan = MakePlan();
  plan.steps.push_back(StepBuilder("teams").Writes({"teams"}).Build());
  plan.steps.push_back(StepBuilder("other").Writes({"audit"}).Build());
  plan.steps.push_back(StepBuilder("link", "add_columns")
                           .Writes({"packages"})
                           .Fk("packages", "teams")
                           .Fk("packages", "packages")
                           .Build());
  Graph g = MustBuild(plan);
  CHECK(Edges(g) ==
        std::vector<EdgeText>{
            {"teams", "link", "link writes packages, which references teams, written by teams"}});
}

TEST_CASE("a foreign key declared by any step of the section applies to every step") {
  Plan plan = MakePlan();
  plan.steps.push_back(StepBuilder("fill_teams").Writes({"teams"}).Build());
  plan.steps.push_back(StepBuilder("fill_packages").Writes({"packages"}).Build());
  plan.steps.push_back(StepBuilder("declare").Fk("packages", "teams").Build());
  CHECK(Edges(MustBuild(plan)) ==
        std::vector<EdgeText>{{"fill_teams", "fill_packages",
                               "fill_packages writes packages, which references teams, written by "
                               "fill_teams"}});
}

TEST_CASE("foreign keys from the catalog order writes too") {
  Plan plan = MakePlan();
  plan.steps.push_back(StepBuilder("users").Writes({"auth.users"}).Build());
  plan.steps.push_back(StepBuilder("orders").Writes({"orders"}).Build());
  SECTION("without the catalog the steps are independent") { CHECK(MustBuild(plan).edges.empty()); }
  SECTION("with it, orders waits") {
    std::vector<DeclaredFk> catalog = {{Table("public.orders"), Table("auth.users")},
                                       {Table("orders"), Table("auth.users")}};
    CHECK(Edges(MustBuild(plan, plan.steps, catalog)) ==
          std::vector<EdgeText>{
              {"users", "orders",
               "orders writes orders, which references auth.users, written by users"}});
  }
}

TEST_CASE("a foreign key does not order a step that only reads the referencing table") {
  Plan plan = MakePlan();
  plan.steps.push_back(StepBuilder("teams").Writes({"teams"}).Build());
  plan.steps.push_back(StepBuilder("count").Reads({"packages"}).Build());
  CHECK(MustBuild(plan, plan.steps, {{Table("packages"), Table("teams")}}).edges.empty());
}

TEST_CASE("barriers wait for every earlier step and hold every later one") {
  Plan plan = MakePlan();
  plan.steps.push_back(StepBuilder("a").Writes({"users"}).Build());
  plan.steps.push_back(StepBuilder("b").Writes({"teams"}).Build());
  plan.steps.push_back(StepBuilder("wall").Barrier().Build());
  plan.steps.push_back(StepBuilder("c").Reads({"users"}).Build());
  plan.steps.push_back(StepBuilder("d").Build());
  plan.steps.push_back(StepBuilder("check", "verify").Barrier().Build());
  plan.steps.push_back(StepBuilder("e").Writes({"teams"}).Build());
  Graph g = MustBuild(plan);
  // Only the steps between two barriers are linked to them: there is no
  // a -> check or wall -> e, both already implied through the barriers.
  CHECK(Edges(g) == std::vector<EdgeText>{
                        {"a", "wall", "wall is a barrier (runs after every earlier step)"},
                        {"b", "wall", "wall is a barrier (runs after every earlier step)"},
                        {"a", "c", "c reads users written by a"},
                        {"wall", "c", "wall is a barrier (runs before every later step)"},
                        {"wall", "d", "wall is a barrier (runs before every later step)"},
                        {"wall", "check", "check is a barrier (runs after every earlier step)"},
                        {"c", "check", "check is a barrier (runs after every earlier step)"},
                        {"d", "check", "check is a barrier (runs after every earlier step)"},
                        {"b", "e", "e writes teams also written by b"},
                        {"check", "e", "check is a barrier (runs before every later step)"},
                    });
  CHECK(g.preds[5] == std::vector<int>{2, 3, 4});
  CHECK(g.succs[2] == std::vector<int>{3, 4, 5});
  CHECK(g.Order() == std::vector<int>{0, 1, 2, 3, 4, 5, 6});
}

TEST_CASE("a barrier first in the section holds every step up to the next barrier") {
  Plan plan = MakePlan();
  plan.steps.push_back(StepBuilder("setup").Barrier().Build());
  plan.steps.push_back(StepBuilder("a").Build());
  plan.steps.push_back(StepBuilder("b").Build());
  Graph g = MustBuild(plan);
  CHECK(Edges(g) ==
        std::vector<EdgeText>{{"setup", "a", "setup is a barrier (runs before every later step)"},
                              {"setup", "b", "setup is a barrier (runs before every later step)"}});
}

TEST_CASE("steps that share nothing have no edges and run in file order") {
  Plan plan = MakePlan();
  plan.steps.push_back(StepBuilder("a").Writes({"x"}).Build());
  plan.steps.push_back(StepBuilder("b").Writes({"y"}).Build());
  plan.steps.push_back(StepBuilder("c").Reads({"z"}).Build());
  Graph g = MustBuild(plan);
  CHECK(g.edges.empty());
  CHECK(g.preds == std::vector<std::vector<int>>{{}, {}, {}});
  CHECK(g.Order() == std::vector<int>{0, 1, 2});
}

TEST_CASE("explicit needs add edges") {
  Plan plan = MakePlan();
  plan.steps.push_back(StepBuilder("a").Build());
  plan.steps.push_back(StepBuilder("b").Build());
  plan.steps.push_back(StepBuilder("c").Needs("a").Needs("a").Build());
  Graph g = MustBuild(plan);
  CHECK(Edges(g) == std::vector<EdgeText>{{"a", "c", "c needs a"}});
}

TEST_CASE("needs may point forward; Order runs the smallest ready step first") {
  Plan plan = MakePlan();
  plan.steps.push_back(StepBuilder("a").Needs("c").Build());
  plan.steps.push_back(StepBuilder("b").Build());
  plan.steps.push_back(StepBuilder("c").Build());
  plan.steps.push_back(StepBuilder("d").Reads({"t"}).Build());
  Graph g = MustBuild(plan);
  CHECK(Edges(g) == std::vector<EdgeText>{{"c", "a", "a needs c"}});
  CHECK(g.preds[0] == std::vector<int>{2});
  CHECK(g.succs[2] == std::vector<int>{0});
  CHECK(g.Order() == std::vector<int>{1, 2, 0, 3});
}

TEST_CASE("edges are sorted by (to, from)") {
  Plan plan = MakePlan();
  plan.steps.push_back(StepBuilder("a").Needs("d").Build());
  plan.steps.push_back(StepBuilder("b").Writes({"t"}).Build());
  plan.steps.push_back(StepBuilder("c").Needs("a").Build());
  plan.steps.push_back(StepBuilder("d").Reads({"t"}).Build());
  Graph g = MustBuild(plan);
  CHECK(Edges(g) == std::vector<EdgeText>{{"d", "a", "a needs d"},
                                          {"a", "c", "c needs a"},
                                          {"b", "d", "d reads t written by b"}});
  CHECK(g.Order() == std::vector<int>{1, 3, 0, 2});
}

// The YAML the locations below point into.
const char kCyclePlan[] =
    "version: 1\n"
    "name: test\n"
    "steps:\n"
    "  - id: a\n"
    "    needs: [b]\n"
    "    sql: {up: \"UPDATE users SET x = 1\"}\n"
    "  - id: b\n"
    "    needs: [d, a]\n"
    "    sql: {up: \"UPDATE users SET x = 2\"}\n"
    "  - id: c\n"
    "    needs: [b]\n"
    "  - id: d\n"
    "    needs: [nope]\n";

TEST_CASE("a needs naming no step of the section is located at the entry") {
  Plan plan = MakePlan(kCyclePlan);
  plan.steps.push_back(StepBuilder("a").At({4, 9}).Build());
  plan.steps.push_back(StepBuilder("d").At({12, 9}).Needs("nope", {13, 13}).Build());
  Graph g;
  Status s = BuildGraph(plan, plan.steps, {}, &g);
  CHECK(s.code() == StatusCode::kInvalid);
  CHECK(s.message() ==
        "plans/test.yaml:13:13: error: step 'd' needs 'nope', which is not a step of this section\n"
        "    needs: [nope]\n"
        "            ^");
}

TEST_CASE("rollback steps cannot need steps of the steps section") {
  Plan plan = MakePlan(kCyclePlan);
  plan.steps.push_back(StepBuilder("a").Build());
  plan.has_rollback = true;
  plan.rollback.push_back(StepBuilder("b").Needs("a", {5, 13}).Build());
  Graph g;
  Status s = BuildGraph(plan, plan.rollback, {}, &g);
  CHECK(s.message() ==
        "plans/test.yaml:5:13: error: step 'b' needs 'a', which is not a step of this section\n"
        "    needs: [b]\n"
        "            ^");
}

TEST_CASE("a needs that closes a loop with an inferred edge is a cycle") {
  Plan plan = MakePlan(kCyclePlan);
  plan.steps.push_back(StepBuilder("a").At({4, 9}).Needs("b", {5, 13}).Writes({"users"}).Build());
  plan.steps.push_back(StepBuilder("b").At({7, 9}).Writes({"users"}).Build());
  Graph g;
  Status s = BuildGraph(plan, plan.steps, {}, &g);
  CHECK(s.code() == StatusCode::kInvalid);
  CHECK(s.message() ==
        "plans/test.yaml:5:13: error: dependency cycle: a -> b -> a (inferred: b writes users also "
        "written by a); remove a 'needs' entry, or move the steps so the file order matches\n"
        "    needs: [b]\n"
        "            ^");
  CHECK(g.nodes.empty());
}

TEST_CASE("a cycle is reported from its earliest step, whichever step reached it") {
  // a waits for d, which waits for c (table t), which waits for b, which waits
  // for d: the search starts at a, finds d -> c -> b, and reports from b.
  Plan plan = MakePlan(kCyclePlan);
  plan.steps.push_back(StepBuilder("a").At({4, 9}).Needs("d", {5, 13}).Build());
  plan.steps.push_back(StepBuilder("b").At({7, 9}).Needs("d", {8, 13}).Build());
  plan.steps.push_back(StepBuilder("c").At({10, 9}).Needs("b", {11, 13}).Writes({"t"}).Build());
  plan.steps.push_back(StepBuilder("d").At({12, 9}).Reads({"t"}).Build());
  Graph g;
  Status s = BuildGraph(plan, plan.steps, {}, &g);
  CHECK(s.message() ==
        "plans/test.yaml:8:13: error: dependency cycle: b -> d -> c -> b (inferred: d reads t "
        "written by c); remove a 'needs' entry, or move the steps so the file order matches\n"
        "    needs: [d, a]\n"
        "            ^");
}

TEST_CASE("of two cycles the one found first in file order is reported") {
  Plan plan = MakePlan(kCyclePlan);
  plan.steps.push_back(StepBuilder("a").Needs("b", {5, 13}).Build());
  plan.steps.push_back(StepBuilder("b").Needs("d", {8, 13}).Needs("a", {8, 16}).Build());
  plan.steps.push_back(StepBuilder("c").Needs("b", {11, 13}).Build());
  plan.steps.push_back(StepBuilder("d").Needs("c", {13, 13}).Build());
  Graph g;
  Status s = BuildGraph(plan, plan.steps, {}, &g);
  // From a: a -> b, then b's first wait in file order is a (b's needs list
  // order does not matter), closing a -> b -> a before b -> d -> c -> b.
  CHECK(s.message() ==
        "plans/test.yaml:5:13: error: dependency cycle: a -> b -> a\n"
        "    needs: [b]\n"
        "            ^");
}

TEST_CASE("a step needing itself is a cycle") {
  Plan plan = MakePlan(kCyclePlan);
  plan.steps.push_back(StepBuilder("a").Build());
  plan.steps.push_back(StepBuilder("b").Needs("b", {8, 16}).Build());
  Graph g;
  Status s = BuildGraph(plan, plan.steps, {}, &g);
  CHECK(s.message() ==
        "plans/test.yaml:8:16: error: dependency cycle: b -> b\n"
        "    needs: [d, a]\n"
        "               ^");
}

TEST_CASE("an empty section gives an empty graph") {
  Plan plan = MakePlan();
  Graph g = MustBuild(plan);
  CHECK(g.nodes.empty());
  CHECK(g.Order().empty());
}

// ---- IrreversibleReasons ----

std::vector<std::string> Reasons(const Plan& plan) {
  return IrreversibleReasons(plan, MustBuild(plan));
}

TEST_CASE("a step needing a backup is reversible after a backup of what it writes") {
  Plan plan = MakePlan();
  plan.steps.push_back(
      StepBuilder("backup", "backup").Reads({"packages"}).BacksUp({"packages"}).Build());
  plan.steps.push_back(StepBuilder("other").Writes({"teams"}).Build());
  plan.steps.push_back(StepBuilder("fill_description")
                           .Writes({"public.packages"})
                           .Reversible(Reversibility::kNeedsBackup)
                           .Build());
  CHECK(Reasons(plan).empty());
}

TEST_CASE("a step needing a backup names each table no ancestor backup saves") {
  Plan plan = MakePlan();
  plan.steps.push_back(
      StepBuilder("backup", "backup").Reads({"packages"}).BacksUp({"packages"}).Build());
  plan.steps.push_back(StepBuilder("fill_description")
                           .Writes({"packages", "teams", "audit", "teams"})
                           .Reversible(Reversibility::kNeedsBackup)
                           .Build());
  CHECK(Reasons(plan) ==
        std::vector<std::string>{"step 'fill_description': sql without an inverse writes teams and "
                                 "audit, which no earlier backup step saves"});
}

TEST_CASE("a backup that is not an ancestor does not count") {
  Plan plan = MakePlan();
  SECTION("later in file order") {
    plan.steps.push_back(StepBuilder("fill_description")
                             .Writes({"packages"})
                             .Reversible(Reversibility::kNeedsBackup)
                             .Build());
    plan.steps.push_back(
        StepBuilder("backup", "backup").Reads({"packages"}).BacksUp({"packages"}).Build());
  }
  SECTION("earlier but unordered with the step") {
    plan.steps.push_back(StepBuilder("backup", "backup").BacksUp({"packages"}).Build());
    plan.steps.push_back(StepBuilder("fill_description")
                             .Writes({"packages"})
                             .Reversible(Reversibility::kNeedsBackup)
                             .Build());
  }
  CHECK(Reasons(plan) ==
        std::vector<std::string>{"step 'fill_description': sql without an inverse writes packages, "
                                 "which no earlier backup step saves"});
}

TEST_CASE("a backup reached through a barrier counts") {
  Plan plan = MakePlan();
  plan.steps.push_back(StepBuilder("backup", "backup").BacksUp({"packages"}).Build());
  plan.steps.push_back(StepBuilder("check", "verify").Barrier().Build());
  plan.steps.push_back(
      StepBuilder("fill").Writes({"packages"}).Reversible(Reversibility::kNeedsBackup).Build());
  CHECK(Reasons(plan).empty());
}

TEST_CASE("irreversible steps and steps that do not name their tables are reported in order") {
  Plan plan = MakePlan();
  plan.steps.push_back(StepBuilder("drop", "drop_table")
                           .Writes({"old"})
                           .Reversible(Reversibility::kIrreversible)
                           .Build());
  plan.steps.push_back(StepBuilder("ok").Writes({"users"}).Build());
  plan.steps.push_back(
      StepBuilder("anything").Barrier().Reversible(Reversibility::kNeedsBackup).Build());
  CHECK(Reasons(plan) ==
        std::vector<std::string>{"step 'drop': drop_table cannot be undone",
                                 "step 'anything': sql without an inverse does not name the "
                                 "tables it writes, so no backup can restore them"});
  SECTION("a rollback section makes any plan reversible") {
    plan.has_rollback = true;
    CHECK(Reasons(plan).empty());
  }
}

}  // namespace
}  // namespace planrun
