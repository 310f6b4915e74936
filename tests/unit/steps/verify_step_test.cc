#include "steps/verify_step.h"

#include <catch2/catch.hpp>

#include "step_harness.h"

namespace planrun {
namespace testing {
namespace {

const char kTwo[] =
    "- name: every package has a description\n"
    "  sql: SELECT count(*) FROM packages WHERE description IS NULL\n"
    "  expect: 0\n"
    "- name: teams exist\n"
    "  sql: SELECT count(*) > 0 FROM teams\n"
    "  expect: true\n";

TEST_CASE("verify as a list is a barrier that changes nothing") {
  std::unique_ptr<Step> step;
  PARSE_OK(ParseVerifyStep, kTwo, &step);
  CHECK(step->IsBarrier());
  CHECK(step->Reads().empty());
  CHECK(step->Writes().empty());
  CHECK(step->reversibility() == Reversibility::kReversible);
  CHECK(step->DescribeUp(StepEnv()) ==
        std::vector<std::string>{"SELECT count(*) FROM packages WHERE description IS NULL",
                                 "SELECT count(*) > 0 FROM teams"});
  CHECK(step->DescribeDown(StepEnv()).empty());
  Harness h;
  REQUIRE(step->Revert(h.ctx).ok());
  CHECK(h.db.statements().empty());
}

TEST_CASE("verify as a mapping with reads is not a barrier") {
  std::unique_ptr<Step> step;
  PARSE_OK(ParseVerifyStep,
           "reads: [packages]\nassertions:\n  - {name: a, sql: SELECT 1, expect_rows: 1}\n", &step);
  CHECK_FALSE(step->IsBarrier());
  REQUIRE(step->Reads().size() == 1);
  CHECK(step->Reads()[0].Key() == "public.packages");
}

TEST_CASE("verify passes when every assertion holds") {
  std::unique_ptr<Step> step;
  ParseBody(ParseVerifyStep, kTwo, &step, "check");
  REQUIRE(step);
  Harness h;
  h.db.On("description IS NULL", Rows({{"0"}}));
  h.db.On("FROM teams", Rows({{"t"}}));
  REQUIRE(step->Apply(h.ctx).ok());
  CHECK(h.out.lines() ==
        std::vector<std::string>{"info: verify step 'check': all 2 assertions passed"});
}

TEST_CASE("verify reports each failed expect assertion") {
  std::unique_ptr<Step> step;
  ParseBody(ParseVerifyStep, kTwo, &step, "check");
  REQUIRE(step);
  Harness h;
  h.db.On("description IS NULL", Rows({{"3"}}));
  h.db.On("FROM teams", Rows({{"t"}}));
  Status st = step->Apply(h.ctx);
  CHECK(st.code() == StatusCode::kFailed);
  CHECK(st.message() ==
        "verify step 'check' failed: 1 of 2 assertions\n"
        "  assertion 'every package has a description' failed\n"
        "    query:    SELECT count(*) FROM packages WHERE description IS NULL\n"
        "    expected: 0\n"
        "    actual:   3");
  CHECK(h.db.statements().size() == 2);
}

TEST_CASE("verify expect: booleans, null, quoted text and no row") {
  std::unique_ptr<Step> step;
  ParseBody(ParseVerifyStep,
            "- {name: f, sql: SELECT false, expect: false}\n"
            "- {name: n, sql: SELECT NULL, expect: null}\n"
            "- {name: q, sql: SELECT 'true', expect: 'true'}\n"
            "- {name: e, sql: SELECT 1 WHERE false, expect: 1}\n"
            "- {name: m, sql: SELECT 1 WHERE false, expect: ~}\n",
            &step, "v");
  REQUIRE(step);
  Harness h;
  h.db.On("SELECT false", Rows({{"f"}}));
  h.db.On("SELECT NULL", Rows({{std::nullopt}}));
  h.db.On("SELECT 'true'", Rows({{"t"}}));
  Status st = step->Apply(h.ctx);
  CHECK(st.message() ==
        "verify step 'v' failed: 2 of 5 assertions\n"
        "  assertion 'q' failed\n"
        "    query:    SELECT 'true'\n"
        "    expected: true\n"
        "    actual:   t\n"
        "  assertion 'e' failed\n"
        "    query:    SELECT 1 WHERE false\n"
        "    expected: 1\n"
        "    actual:   NULL");
}

TEST_CASE("verify expect_rows shows up to five rows") {
  std::unique_ptr<Step> step;
  ParseBody(ParseVerifyStep,
            "- name: no orphans\n"
            "  sql: |\n"
            "    SELECT id, name FROM packages\n"
            "    WHERE team_id IS NULL\n"
            "  expect_rows: 0\n",
            &step, "v");
  REQUIRE(step);
  Harness h;
  h.db.On("team_id IS NULL",
          Rows({{"1", "a"}, {"2", std::nullopt}, {"3", "c"}, {"4", "d"}, {"5", "e"}, {"6", "f"}},
               {"id", "name"}));
  CHECK(step->Apply(h.ctx).message() ==
        "verify step 'v' failed: 1 of 1 assertions\n"
        "  assertion 'no orphans' failed\n"
        "    query:    SELECT id, name FROM packages\n"
        "              WHERE team_id IS NULL\n"
        "    expected: 0 rows\n"
        "    actual:   6 rows (showing 5)\n"
        "      id | name\n"
        "      1 | a\n"
        "      2 | NULL\n"
        "      3 | c\n"
        "      4 | d\n"
        "      5 | e");
}

TEST_CASE("verify expect_rows passes on the right count") {
  std::unique_ptr<Step> step;
  PARSE_OK(ParseVerifyStep, "- {name: one, sql: SELECT 1, expect_rows: 1}\n", &step);
  Harness h;
  h.db.On("SELECT 1", Rows({{"1"}}));
  CHECK(step->Apply(h.ctx).ok());
}

TEST_CASE("verify equals shows both queries and the first differing row") {
  std::unique_ptr<Step> step;
  ParseBody(ParseVerifyStep,
            "- {name: same, sql: SELECT a FROM x ORDER BY 1, equals: SELECT a FROM y ORDER BY 1}\n"
            "- {name: longer, sql: SELECT a FROM z, equals: SELECT a FROM w}\n",
            &step, "v");
  REQUIRE(step);
  Harness h;
  h.db.On("FROM x", Rows({{"1"}, {"2"}, {"3"}}));
  h.db.On("FROM y", Rows({{"1"}, {"5"}, {"3"}}));
  h.db.On("FROM z", Rows({{"1"}}));
  h.db.On("FROM w", Rows({{"1"}, {std::nullopt}}));
  CHECK(step->Apply(h.ctx).message() ==
        "verify step 'v' failed: 2 of 2 assertions\n"
        "  assertion 'same' failed\n"
        "    query:    SELECT a FROM x ORDER BY 1\n"
        "    equals:   SELECT a FROM y ORDER BY 1\n"
        "    first difference at row 2:\n"
        "      query:  2\n"
        "      equals: 5\n"
        "  assertion 'longer' failed\n"
        "    query:    SELECT a FROM z\n"
        "    equals:   SELECT a FROM w\n"
        "    first difference at row 2:\n"
        "      query:  (no row)\n"
        "      equals: NULL");
}

TEST_CASE("verify names the assertion whose query errors") {
  std::unique_ptr<Step> step;
  ParseBody(ParseVerifyStep, "- {name: bad, sql: SELEC 1, expect: 1}\n", &step, "v");
  REQUIRE(step);
  Harness h;
  h.db.FailOn("SELEC", Status::Database("syntax error at or near \"SELEC\"", "42601"));
  Status st = step->Apply(h.ctx);
  CHECK(st.code() == StatusCode::kDatabase);
  CHECK(st.message() == "verify step 'v': assertion 'bad': syntax error at or near \"SELEC\"");
}

TEST_CASE("verify equals on a connection: parsed, described, and its errors") {
  std::unique_ptr<Step> step;
  PARSE_OK(ParseVerifyStep,
           "- name: same users\n  sql: SELECT count(*) FROM users\n  equals: {connection: legacy, "
           "sql: SELECT count(*) FROM old_users}\n",
           &step);
  CHECK(step->DescribeUp(StepEnv()) ==
        std::vector<std::string>{"SELECT count(*) FROM users",
                                 "-- on connection legacy:\nSELECT count(*) FROM old_users"});
  auto error = [&](const std::string& yaml) {
    return ParseBody(ParseVerifyStep, yaml, &step).message();
  };
  CHECK(error("- {name: a, sql: SELECT 1, equals: {connection: legacyy, sql: SELECT 1}}\n") ==
        "plan.yaml:1:49: error: unknown connection 'legacyy'; did you mean 'legacy'?\n"
        "- {name: a, sql: SELECT 1, equals: {connection: legacyy, sql: SELECT 1}}\n"
        "                                                ^");
  CHECK(error("- {name: a, sql: SELECT 1, equals: {connection: legacy}}\n") ==
        "plan.yaml:1:36: error: 'equals' needs 'sql'\n"
        "- {name: a, sql: SELECT 1, equals: {connection: legacy}}\n"
        "                                   ^");
  CHECK(error("- {name: a, sql: SELECT 1, equals: {sql: SELECT 1, on: legacy}}\n") ==
        "plan.yaml:1:52: error: unknown key 'on' in 'equals'; expected one of: connection, sql\n"
        "- {name: a, sql: SELECT 1, equals: {sql: SELECT 1, on: legacy}}\n"
        "                                                   ^");
}

TEST_CASE("verify parse errors") {
  std::unique_ptr<Step> step;
  auto error = [&](const std::string& yaml) {
    return ParseBody(ParseVerifyStep, yaml, &step).message();
  };
  CHECK(error("- {name: a, sql: SELECT 1}\n") ==
        "plan.yaml:1:3: error: assertion 'a' needs one of 'expect', 'equals' or 'expect_rows'\n"
        "- {name: a, sql: SELECT 1}\n  ^");
  CHECK(error("- {name: a, sql: SELECT 1, expect: 1, expect_rows: 1}\n") ==
        "plan.yaml:1:52: error: assertion 'a' has more than one of 'expect', 'equals' and "
        "'expect_rows'; give exactly one\n"
        "- {name: a, sql: SELECT 1, expect: 1, expect_rows: 1}\n"
        "                                                   ^");
  CHECK(error("- {name: a, expect: 1}\n") ==
        "plan.yaml:1:3: error: assertion in verify step needs 'sql'\n- {name: a, expect: 1}\n  ^");
  CHECK(error("- {name: a, sql: SELECT 1, expect: [1]}\n") ==
        "plan.yaml:1:36: error: 'expect' must be a single value (text, a number, true, false) or "
        "null, got a list\n"
        "- {name: a, sql: SELECT 1, expect: [1]}\n                                   ^");
  CHECK(error("- {name: a, sql: SELECT 1, expect_rows: -1}\n") ==
        "plan.yaml:1:41: error: 'expect_rows' must not be negative\n"
        "- {name: a, sql: SELECT 1, expect_rows: -1}\n                                        ^");
  CHECK(error("- {name: a, sql: SELECT 1, expect: 1}\n- {name: a, sql: SELECT 2, expect: 2}\n") ==
        "plan.yaml:2:10: error: assertion 'a' is listed twice in verify step\n"
        "- {name: a, sql: SELECT 2, expect: 2}\n         ^");
  CHECK(error("[]\n") == "plan.yaml:1:1: error: verify step has no assertions\n[]\n^");
  CHECK(error("SELECT 1\n") ==
        "plan.yaml:1:1: error: verify step must be a list of assertions or a mapping with "
        "'assertions', got 'SELECT 1'\nSELECT 1\n^");
  CHECK(error("reads: [p]\n") ==
        "plan.yaml:1:1: error: verify step needs 'assertions'\nreads: [p]\n^");
  CHECK(error("reads: [p]\nassertion: []\n") ==
        "plan.yaml:2:1: error: unknown key 'assertion' in verify step; did you mean "
        "'assertions'?\nassertion: []\n^");
  CHECK(error("- {name: a, sql: SELECT 1, expects: 1}\n") ==
        "plan.yaml:1:28: error: unknown key 'expects' in assertion in verify step; did you "
        "mean 'expect'?\n- {name: a, sql: SELECT 1, expects: 1}\n                           ^");
}

}  // namespace
}  // namespace testing
}  // namespace planrun
