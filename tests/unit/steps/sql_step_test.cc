#include "steps/sql_step.h"

#include <catch2/catch.hpp>

#include "step_harness.h"

namespace planrun {
namespace testing {
namespace {

TEST_CASE("sql step parses up, down, reads, writes and transaction") {
  std::unique_ptr<Step> step;
  PARSE_OK(ParseSqlStep,
           "up: UPDATE packages SET likes = 0\n"
           "down: UPDATE packages SET likes = NULL\n"
           "reads: [teams]\n"
           "writes: [packages, auth.users]\n"
           "transaction: false\n",
           &step);
  REQUIRE(step->Reads().size() == 1);
  CHECK(step->Reads()[0].Key() == "public.teams");
  REQUIRE(step->Writes().size() == 2);
  CHECK(step->Writes()[1].Key() == "auth.users");
  CHECK_FALSE(step->IsBarrier());
  CHECK_FALSE(step->Transactional());
  CHECK_FALSE(step->RevertTransactional());
  CHECK(step->reversibility() == Reversibility::kReversible);
  CHECK(step->DescribeUp(StepEnv()) == std::vector<std::string>{"UPDATE packages SET likes = 0"});
  CHECK(step->DescribeDown(StepEnv()) ==
        std::vector<std::string>{"UPDATE packages SET likes = NULL"});
}

TEST_CASE("sql step without reads or writes is a transactional barrier") {
  std::unique_ptr<Step> step;
  PARSE_OK(ParseSqlStep, "up: SELECT 1\n", &step);
  CHECK(step->IsBarrier());
  CHECK(step->Transactional());
  CHECK(step->reversibility() == Reversibility::kIrreversible);
  CHECK(step->DescribeDown(StepEnv()).empty());
}

TEST_CASE("sql step that only reads is not a barrier") {
  std::unique_ptr<Step> step;
  PARSE_OK(ParseSqlStep, "up: SELECT 1\nreads: packages\n", &step);
  CHECK_FALSE(step->IsBarrier());
  CHECK(step->reversibility() == Reversibility::kIrreversible);
}

TEST_CASE("sql step with writes and no down needs a backup") {
  std::unique_ptr<Step> step;
  PARSE_OK(ParseSqlStep, "up: DELETE FROM packages\nwrites: [packages]\n", &step);
  CHECK(step->reversibility() == Reversibility::kNeedsBackup);
}

TEST_CASE("sql step parse errors") {
  std::unique_ptr<Step> step;
  CHECK(ParseBody(ParseSqlStep, "down: SELECT 1\n", &step).message() ==
        "plan.yaml:1:1: error: sql step needs 'up'\ndown: SELECT 1\n^");
  CHECK(ParseBody(ParseSqlStep, "up: '  '\n", &step).message() ==
        "plan.yaml:1:5: error: 'up' in sql step is empty\nup: '  '\n    ^");
  CHECK(ParseBody(ParseSqlStep, "up: SELECT 1\nwrite: [packages]\n", &step).message() ==
        "plan.yaml:2:1: error: unknown key 'write' in sql step; did you mean 'writes'?\n"
        "write: [packages]\n^");
  CHECK(ParseBody(ParseSqlStep, "up: SELECT 1\ntransaction: 'no'\n", &step).message() ==
        "plan.yaml:2:14: error: 'transaction' must be true or false, got 'no'\n"
        "transaction: 'no'\n             ^");
  CHECK(ParseBody(ParseSqlStep, "- SELECT 1\n", &step).message() ==
        "plan.yaml:1:1: error: sql step must be a mapping, got a list\n- SELECT 1\n^");
}

TEST_CASE("sql step Apply runs up and counts affected rows") {
  std::unique_ptr<Step> step;
  PARSE_OK(ParseSqlStep, "up: UPDATE packages SET likes = 0\nwrites: packages\n", &step);
  Harness h;
  h.db.On("UPDATE packages", Affected(12));
  REQUIRE(step->Apply(h.ctx).ok());
  CHECK(h.db.statements() == std::vector<std::string>{"UPDATE packages SET likes = 0"});
  CHECK(h.ctx.counters["rows"] == 12);
  CHECK(h.out.lines() == std::vector<std::string>{"info: ran sql: 12 rows affected"});
}

TEST_CASE("sql step Revert runs down") {
  std::unique_ptr<Step> step;
  PARSE_OK(ParseSqlStep, "up: UPDATE p SET a = 1\ndown: UPDATE p SET a = 0\n", &step);
  Harness h;
  h.db.On("UPDATE p", Affected(3));
  REQUIRE(step->Revert(h.ctx).ok());
  CHECK(h.db.statements() == std::vector<std::string>{"UPDATE p SET a = 0"});
  CHECK(h.out.lines() == std::vector<std::string>{"info: ran sql down: 3 rows affected"});
}

TEST_CASE("sql step passes database errors through") {
  std::unique_ptr<Step> step;
  PARSE_OK(ParseSqlStep, "up: SELEC 1\n", &step);
  Harness h;
  h.db.FailOn("SELEC", Status::Database("syntax error at or near \"SELEC\"", "42601"));
  Status st = step->Apply(h.ctx);
  CHECK(st.code() == StatusCode::kDatabase);
  CHECK(st.message() == "syntax error at or near \"SELEC\"");
  CHECK(h.ctx.counters.count("rows") == 0);
}

TEST_CASE("sql step outside a transaction is skipped in a dry run") {
  std::unique_ptr<Step> step;
  PARSE_OK(ParseSqlStep, "up: VACUUM packages\ntransaction: false\n", &step);
  Harness h;
  h.ctx.dry_run = true;
  REQUIRE(step->Apply(h.ctx).ok());
  CHECK(h.db.statements().empty());
  CHECK(h.out.lines() ==
        std::vector<std::string>{"info: not run in dry run: step runs outside a transaction"});
}

TEST_CASE("sql step in a transaction runs in a dry run") {
  std::unique_ptr<Step> step;
  PARSE_OK(ParseSqlStep, "up: UPDATE p SET a = 1\n", &step);
  Harness h;
  h.ctx.dry_run = true;
  REQUIRE(step->Apply(h.ctx).ok());
  CHECK(h.db.statements() == std::vector<std::string>{"UPDATE p SET a = 1"});
}

}  // namespace
}  // namespace testing
}  // namespace planrun
