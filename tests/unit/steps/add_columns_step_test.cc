#include "steps/add_columns_step.h"

#include <catch2/catch.hpp>

#include "step_harness.h"

namespace planrun {
namespace testing {
namespace {

const char kBody[] =
    "table: packages\n"
    "columns:\n"
    "  - {name: description, type: text, default: \"''\", not_null: true}\n"
    "  - {name: team_id, type: bigint, references: auth.teams(id), unique: true}\n"
    "  - {name: likes, type: 'numeric(10,2)', default: 0, check: likes >= 0}\n";

TEST_CASE("add_columns builds one ALTER TABLE and its inverse") {
  std::unique_ptr<Step> step;
  PARSE_OK(ParseAddColumnsStep, kBody, &step);
  CHECK(step->DescribeUp(StepEnv()) ==
        std::vector<std::string>{
            "ALTER TABLE \"packages\" ADD COLUMN \"description\" text DEFAULT '' NOT NULL, "
            "ADD COLUMN \"team_id\" bigint UNIQUE REFERENCES \"auth\".\"teams\" (\"id\"), "
            "ADD COLUMN \"likes\" numeric(10,2) DEFAULT 0 CHECK (likes >= 0)"});
  CHECK(step->DescribeDown(StepEnv()) ==
        std::vector<std::string>{"ALTER TABLE \"packages\" DROP COLUMN IF EXISTS \"description\", "
                                 "DROP COLUMN IF EXISTS \"team_id\", DROP COLUMN IF EXISTS "
                                 "\"likes\""});
  CHECK(step->reversibility() == Reversibility::kReversible);
  CHECK(step->Transactional());
  CHECK_FALSE(step->IsBarrier());
  CHECK(step->Reads().empty());
  REQUIRE(step->Writes().size() == 1);
  CHECK(step->Writes()[0].Key() == "public.packages");
  REQUIRE(step->ForeignKeys().size() == 1);
  CHECK(step->ForeignKeys()[0].from.Key() == "public.packages");
  CHECK(step->ForeignKeys()[0].to.Key() == "auth.teams");
}

TEST_CASE("add_columns references without a column") {
  std::unique_ptr<Step> step;
  PARSE_OK(ParseAddColumnsStep,
           "table: s.packages\ncolumns: [{name: team_id, type: int, references: teams}]\n", &step);
  CHECK(step->DescribeUp(StepEnv()) ==
        std::vector<std::string>{
            "ALTER TABLE \"s\".\"packages\" ADD COLUMN \"team_id\" int REFERENCES \"teams\""});
  REQUIRE(step->ForeignKeys().size() == 1);
  CHECK(step->ForeignKeys()[0].to.Key() == "public.teams");
}

TEST_CASE("add_columns Apply and Revert run the described SQL and report") {
  std::unique_ptr<Step> step;
  PARSE_OK(ParseAddColumnsStep, kBody, &step);
  Harness h;
  REQUIRE(step->Apply(h.ctx).ok());
  REQUIRE(step->Revert(h.ctx).ok());
  std::vector<std::string> want = step->DescribeUp(StepEnv());
  want.push_back(step->DescribeDown(StepEnv())[0]);
  CHECK(h.db.statements() == want);
  CHECK(h.out.lines() == std::vector<std::string>{
                             "info: added columns description, team_id, likes to packages",
                             "info: dropped columns description, team_id, likes from packages"});
}

TEST_CASE("IsSqlTypeName accepts type names and nothing else") {
  for (const char* ok :
       {"text", "uuid", "numeric(10,2)", "numeric(10, -2)", "timestamp with time zone",
        "timestamp(3) with time zone", "character varying(20)", "text[]", "int[][]",
        "varchar(20)[]", "public.mood", "double precision"}) {
    INFO(ok);
    CHECK(IsSqlTypeName(ok));
  }
  for (const char* bad : {"", "text; DROP TABLE x", "text)", "(text)", "int -- x", "1abc", "text[",
                          "numeric(a)", "int, x", "\"quoted\"", "text  "}) {
    INFO(bad);
    CHECK_FALSE(IsSqlTypeName(bad));
  }
}

TEST_CASE("add_columns parse errors") {
  std::unique_ptr<Step> step;
  auto error = [&](const std::string& yaml) {
    return ParseBody(ParseAddColumnsStep, yaml, &step).message();
  };
  CHECK(error("table: p\ncolumns: [{name: c, type: 'text; DROP TABLE p'}]\n") ==
        "plan.yaml:2:27: error: invalid type 'text; DROP TABLE p' for column 'c': use a type "
        "name such as text, numeric(10,2), timestamp with time zone or text[]\n"
        "columns: [{name: c, type: 'text; DROP TABLE p'}]\n"
        "                          ^");
  CHECK(error("table: p\ncolumns: [{name: c, type: int, references: 'teams(id'}]\n") ==
        "plan.yaml:2:44: error: invalid reference 'teams(id' for column 'c': use table, "
        "table(column) or schema.table(column) with plain identifiers\n"
        "columns: [{name: c, type: int, references: 'teams(id'}]\n"
        "                                           ^");
  CHECK(error("table: p\ncolumns: [{name: c, type: int, references: 'a.b.c(id)'}]\n") ==
        "plan.yaml:2:44: error: invalid reference 'a.b.c(id)' for column 'c': use table, "
        "table(column) or schema.table(column) with plain identifiers\n"
        "columns: [{name: c, type: int, references: 'a.b.c(id)'}]\n"
        "                                           ^");
  CHECK(error("table: p\n") ==
        "plan.yaml:1:1: error: add_columns step needs 'columns'\n"
        "table: p\n^");
  CHECK(error("table: p\ncolumns: []\n") ==
        "plan.yaml:2:10: error: 'columns' in add_columns step is empty\ncolumns: []\n         ^");
  CHECK(error("table: p\ncolumns: {c: text}\n") ==
        "plan.yaml:2:10: error: 'columns' must be a list, got a mapping\n"
        "columns: {c: text}\n         ^");
  CHECK(error("table: p\ncolumns:\n  - {name: c}\n") ==
        "plan.yaml:3:5: error: column in add_columns step needs 'type'\n  - {name: c}\n    ^");
  CHECK(error("table: p\ncolumns:\n  - {name: c, type: int, nulable: true}\n") ==
        "plan.yaml:3:26: error: unknown key 'nulable' in column in add_columns step; "
        "expected one of: check, default, name, not_null, references, type, unique\n  - {name: c, "
        "type: int, nulable: true}\n                         ^");
  CHECK(error("table: p\ncolumns:\n  - {name: c, type: int}\n  - {name: c, type: text}\n") ==
        "plan.yaml:4:12: error: column 'c' is listed twice in add_columns step\n"
        "  - {name: c, type: text}\n           ^");
  CHECK(error("table: p\ncolumns: [{name: 'a b', type: int}]\n") ==
        "plan.yaml:2:18: error: invalid identifier 'a b' in column in add_columns step: use "
        "letters, digits, _ and $, starting with a letter or _ (at most 63 bytes)\n"
        "columns: [{name: 'a b', type: int}]\n                 ^");
  CHECK(error("table: p\ncolums: []\n") ==
        "plan.yaml:2:1: error: unknown key 'colums' in add_columns step; did you mean "
        "'columns'?\ncolums: []\n^");
}

}  // namespace
}  // namespace testing
}  // namespace planrun
