#include "steps/create_index_step.h"

#include <catch2/catch.hpp>

#include "step_harness.h"

namespace planrun {
namespace testing {
namespace {

const char kValidity[] =
    "SELECT i.indisvalid FROM pg_index i WHERE i.indexrelid = to_regclass($1) "
    "[$1=\"public\".\"packages_name_idx\"]";
const char kCreate[] =
    "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS \"packages_name_idx\" ON \"packages\" USING "
    "\"btree\" (\"name\")";
const char kDrop[] = "DROP INDEX CONCURRENTLY IF EXISTS \"public\".\"packages_name_idx\"";

TEST_CASE("create_index defaults: concurrently, btree, a derived name") {
  std::unique_ptr<Step> step;
  PARSE_OK(ParseCreateIndexStep, "table: packages\ncolumns: [name]\nunique: true\n", &step);
  CHECK(step->DescribeUp(StepEnv()) == std::vector<std::string>{kCreate});
  CHECK(step->DescribeDown(StepEnv()) == std::vector<std::string>{kDrop});
  CHECK_FALSE(step->Transactional());
  CHECK_FALSE(step->RevertTransactional());
  CHECK(step->reversibility() == Reversibility::kReversible);
  REQUIRE(step->Writes().size() == 1);
  CHECK(step->Writes()[0].Key() == "public.packages");
}

TEST_CASE("create_index with every option") {
  std::unique_ptr<Step> step;
  PARSE_OK(ParseCreateIndexStep,
           "table: app.packages\ncolumns: [team_id, name]\nexpressions: ['lower(title)']\n"
           "name: by_team\nusing: gin\nwhere: deleted_at IS NULL\nconcurrently: false\n",
           &step);
  CHECK(step->DescribeUp(StepEnv()) ==
        std::vector<std::string>{
            "CREATE INDEX IF NOT EXISTS \"by_team\" ON \"app\".\"packages\" USING \"gin\" "
            "(\"team_id\", \"name\", (lower(title))) WHERE deleted_at IS NULL"});
  CHECK(step->DescribeDown(StepEnv()) ==
        std::vector<std::string>{"DROP INDEX IF EXISTS \"app\".\"by_team\""});
  CHECK(step->Transactional());
}

TEST_CASE("create_index shortens a long derived name") {
  std::unique_ptr<Step> step;
  const std::string col(60, 'c');
  PARSE_OK(ParseCreateIndexStep, "table: packages\ncolumns: [" + col + ", d]\n", &step);
  const std::string sql = step->DescribeUp(StepEnv())[0];
  const std::string full = "packages_" + col + "_d_idx";
  INFO(sql);
  CHECK(sql.find("\"" + full.substr(0, 54) + "_") != std::string::npos);
  CHECK(sql.find(full) == std::string::npos);
}

TEST_CASE("create_index Apply concurrently creates and checks validity") {
  std::unique_ptr<Step> step;
  PARSE_OK(ParseCreateIndexStep, "table: packages\ncolumns: [name]\nunique: true\n", &step);
  Harness h;
  h.db.On("indisvalid", Rows({}));
  h.db.On("indisvalid", Rows({{"t"}}));
  REQUIRE(step->Apply(h.ctx).ok());
  CHECK(h.db.statements() == std::vector<std::string>{kValidity, kCreate, kValidity});
  CHECK(h.out.lines() ==
        std::vector<std::string>{"info: created index packages_name_idx on packages"});
}

TEST_CASE("create_index drops an invalid index left by an interrupted run first") {
  std::unique_ptr<Step> step;
  PARSE_OK(ParseCreateIndexStep, "table: packages\ncolumns: [name]\nunique: true\n", &step);
  Harness h;
  h.db.On("indisvalid", Rows({{"f"}}));
  h.db.On("indisvalid", Rows({{"t"}}));
  REQUIRE(step->Apply(h.ctx).ok());
  CHECK(h.db.statements() == std::vector<std::string>{kValidity, kDrop, kCreate, kValidity});
  CHECK(h.out.lines()[0] == "info: dropped invalid index packages_name_idx left by an earlier run");
}

TEST_CASE("create_index drops an index that ends up invalid and fails") {
  std::unique_ptr<Step> step;
  PARSE_OK(ParseCreateIndexStep, "table: packages\ncolumns: [name]\nunique: true\n", &step);
  Harness h;
  h.db.On("indisvalid", Rows({}));
  h.db.FailOn("CREATE UNIQUE INDEX",
              Status::Database("could not create unique index \"packages_name_idx\"", "23505"));
  h.db.On("indisvalid", Rows({{"f"}}));
  Status st = step->Apply(h.ctx);
  CHECK(st.code() == StatusCode::kFailed);
  CHECK(st.message() ==
        "index \"packages_name_idx\" is invalid after CREATE INDEX CONCURRENTLY (a duplicate "
        "key?); dropped it, fix the data and run apply again: could not create unique index "
        "\"packages_name_idx\"");
  CHECK(h.db.statements() == std::vector<std::string>{kValidity, kCreate, kValidity, kDrop});
}

TEST_CASE("create_index reports an error that left no index as it is") {
  std::unique_ptr<Step> step;
  PARSE_OK(ParseCreateIndexStep, "table: packages\ncolumns: [name]\n", &step);
  Harness h;
  h.db.FailOn("CREATE INDEX", Status::Database("column \"name\" does not exist", "42703"));
  Status st = step->Apply(h.ctx);
  CHECK(st.code() == StatusCode::kDatabase);
  CHECK(st.message() == "column \"name\" does not exist");
}

TEST_CASE("create_index fails when another relation has the name") {
  std::unique_ptr<Step> step;
  PARSE_OK(ParseCreateIndexStep, "table: packages\ncolumns: [name]\n", &step);
  Harness h;
  CHECK(step->Apply(h.ctx).message() ==
        "index \"packages_name_idx\" was not created: another relation with that name exists "
        "in schema public");
}

TEST_CASE("create_index in a dry run builds without CONCURRENTLY") {
  std::unique_ptr<Step> step;
  PARSE_OK(ParseCreateIndexStep, "table: packages\ncolumns: [name]\nunique: true\n", &step);
  Harness h;
  h.ctx.dry_run = true;
  h.db.On("indisvalid", Rows({{"f"}}));
  h.db.On("indisvalid", Rows({{"t"}}));
  REQUIRE(step->Apply(h.ctx).ok());
  CHECK(h.db.statements() ==
        std::vector<std::string>{
            kValidity, "DROP INDEX IF EXISTS \"public\".\"packages_name_idx\"",
            "CREATE UNIQUE INDEX IF NOT EXISTS \"packages_name_idx\" ON \"packages\" USING "
            "\"btree\" (\"name\")",
            kValidity});
  REQUIRE(step->Revert(h.ctx).ok());
  CHECK(h.db.statements().back() == "DROP INDEX IF EXISTS \"public\".\"packages_name_idx\"");
}

TEST_CASE("create_index not concurrently runs only the CREATE") {
  std::unique_ptr<Step> step;
  PARSE_OK(ParseCreateIndexStep, "table: packages\ncolumns: [name]\nconcurrently: false\n", &step);
  Harness h;
  REQUIRE(step->Apply(h.ctx).ok());
  REQUIRE(step->Revert(h.ctx).ok());
  CHECK(h.db.statements() ==
        std::vector<std::string>{
            "CREATE INDEX IF NOT EXISTS \"packages_name_idx\" ON \"packages\" USING \"btree\" "
            "(\"name\")",
            "DROP INDEX IF EXISTS \"public\".\"packages_name_idx\""});
  CHECK(h.out.lines() ==
        std::vector<std::string>{"info: created index packages_name_idx on packages",
                                 "info: dropped index packages_name_idx on packages"});
}

TEST_CASE("create_index parse errors") {
  std::unique_ptr<Step> step;
  auto error = [&](const std::string& yaml) {
    return ParseBody(ParseCreateIndexStep, yaml, &step).message();
  };
  CHECK(error("table: p\n") ==
        "plan.yaml:1:1: error: create_index step needs 'columns' or 'expressions'\ntable: p\n^");
  CHECK(error("table: p\nexpressions: ['lower(a)']\n") ==
        "plan.yaml:1:1: error: create_index step needs 'name' when it indexes only "
        "expressions\ntable: p\n^");
  CHECK(error("table: p\ncolumns: [a]\nname: 'x y'\n") ==
        "plan.yaml:3:7: error: invalid identifier 'x y' in create_index step: use letters, "
        "digits, _ and $, starting with a letter or _ (at most 63 bytes)\nname: 'x y'\n      ^");
  CHECK(error("table: p\ncolumns: [a]\nusing: 'btree;'\n") ==
        "plan.yaml:3:8: error: invalid identifier 'btree;' in create_index step: use letters, "
        "digits, _ and $, starting with a letter or _ (at most 63 bytes)\nusing: 'btree;'\n"
        "       ^");
  CHECK(error("table: p\ncolumns: [a]\nwhere: ''\n") ==
        "plan.yaml:3:8: error: 'where' in create_index step is empty\nwhere: ''\n       ^");
  CHECK(error("table: p\ncolumns: [a]\nconcurrent: true\n") ==
        "plan.yaml:3:1: error: unknown key 'concurrent' in create_index step; did you mean "
        "'concurrently'?\nconcurrent: true\n^");
}

}  // namespace
}  // namespace testing
}  // namespace planrun
