#include "steps/rename_columns_step.h"

#include <catch2/catch.hpp>

#include "step_harness.h"

namespace planrun {
namespace testing {
namespace {

TEST_CASE("rename_columns renames in order and back in reverse order") {
  std::unique_ptr<Step> step;
  PARSE_OK(ParseRenameColumnsStep, "table: auth.users\ncolumns: {a: b, c: d}\n", &step);
  CHECK(step->DescribeUp(StepEnv()) ==
        std::vector<std::string>{"ALTER TABLE \"auth\".\"users\" RENAME COLUMN \"a\" TO \"b\"",
                                 "ALTER TABLE \"auth\".\"users\" RENAME COLUMN \"c\" TO \"d\""});
  CHECK(step->DescribeDown(StepEnv()) ==
        std::vector<std::string>{"ALTER TABLE \"auth\".\"users\" RENAME COLUMN \"d\" TO \"c\"",
                                 "ALTER TABLE \"auth\".\"users\" RENAME COLUMN \"b\" TO \"a\""});
  CHECK(step->reversibility() == Reversibility::kReversible);
  REQUIRE(step->Writes().size() == 1);
  CHECK(step->Writes()[0].Key() == "auth.users");
  CHECK(step->Reads().empty());
  CHECK(step->ForeignKeys().empty());
  CHECK_FALSE(step->IsBarrier());
}

TEST_CASE("rename_columns Apply and Revert run one statement per column") {
  std::unique_ptr<Step> step;
  PARSE_OK(ParseRenameColumnsStep, "table: users\ncolumns: {a: b, c: d}\n", &step);
  Harness h;
  REQUIRE(step->Apply(h.ctx).ok());
  CHECK(h.db.statements() == step->DescribeUp(StepEnv()));
  REQUIRE(step->Revert(h.ctx).ok());
  CHECK(h.db.statements().size() == 4);
  CHECK(h.db.statements()[2] == "ALTER TABLE \"users\" RENAME COLUMN \"d\" TO \"c\"");
  CHECK(h.out.lines() == std::vector<std::string>{"info: renamed columns a to b, c to d in users",
                                                  "info: renamed columns d to c, b to a in users"});
}

TEST_CASE("rename_columns stops at the first failing rename") {
  std::unique_ptr<Step> step;
  PARSE_OK(ParseRenameColumnsStep, "table: users\ncolumns: {a: b, c: d}\n", &step);
  Harness h;
  h.db.FailOn("\"a\" TO", Status::Database("column \"a\" does not exist", "42703"));
  CHECK(step->Apply(h.ctx).message() == "column \"a\" does not exist");
  CHECK(h.db.statements().size() == 1);
  CHECK(h.out.lines().empty());
}

TEST_CASE("rename_columns parse errors") {
  std::unique_ptr<Step> step;
  auto error = [&](const std::string& yaml) {
    return ParseBody(ParseRenameColumnsStep, yaml, &step).message();
  };
  CHECK(error("table: users\ncolumns: [a, b]\n") ==
        "plan.yaml:2:10: error: 'columns' must be a mapping of old name to new name, got a list\n"
        "columns: [a, b]\n         ^");
  CHECK(error("table: users\ncolumns: {}\n") ==
        "plan.yaml:2:10: error: 'columns' in rename_columns step is empty\n"
        "columns: {}\n         ^");
  CHECK(error("table: users\n") ==
        "plan.yaml:1:1: error: rename_columns step needs 'columns'\ntable: users\n^");
  CHECK(error("columns: {a: b}\n") ==
        "plan.yaml:1:1: error: rename_columns step needs 'table'\ncolumns: {a: b}\n^");
  CHECK(error("table: users\ncolumns: {a: 'b c'}\n") ==
        "plan.yaml:2:14: error: invalid identifier 'b c' in rename_columns step: use letters, "
        "digits, _ and $, starting with a letter or _ (at most 63 bytes)\n"
        "columns: {a: 'b c'}\n             ^");
  CHECK(error("table: users\ncolumns: {a: [b]}\n") ==
        "plan.yaml:2:14: error: new name for column 'a' must be an identifier, got a list\n"
        "columns: {a: [b]}\n             ^");
  CHECK(error("table: users\ncolumns: {a: x, b: x}\n") ==
        "plan.yaml:2:20: error: two columns are renamed to 'x' in rename_columns step\n"
        "columns: {a: x, b: x}\n                   ^");
  CHECK(error("table: users\ncolumn: {a: x}\n") ==
        "plan.yaml:2:1: error: unknown key 'column' in rename_columns step; did you mean "
        "'columns'?\ncolumn: {a: x}\n^");
}

}  // namespace
}  // namespace testing
}  // namespace planrun
