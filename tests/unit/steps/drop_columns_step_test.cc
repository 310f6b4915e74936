#include "steps/drop_columns_step.h"

#include <catch2/catch.hpp>

#include "step_harness.h"

namespace planrun {
namespace testing {
namespace {

const char kBody[] = "table: packages\ncolumns: [legacy, flags]\n";
const char kBackup[] = "\"planrun_backup\".\"v2__s1__public__packages\"";
const char kSaved[] = "\"planrun_backup\".\"v2__s1__public__packages__columns\"";

const char kSaveDefinitions[] =
    "CREATE TABLE \"planrun_backup\".\"v2__s1__public__packages__columns\" AS SELECT "
    "a.attname::text AS name, format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS "
    "not_null, pg_get_expr(d.adbin, d.adrelid) AS expr, a.attgenerated <> '' AS generated, "
    "a.attnum::int AS ordinal FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = "
    "a.attrelid AND d.adnum = a.attnum WHERE a.attrelid = '\"packages\"'::regclass AND "
    "a.attname IN ('legacy', 'flags') AND NOT a.attisdropped";

TEST_CASE("drop_columns describes saving, dropping and restoring") {
  std::unique_ptr<Step> step;
  PARSE_OK(ParseDropColumnsStep, kBody, &step);
  CHECK(step->DescribeUp(StepEnv()) ==
        std::vector<std::string>{
            "CREATE SCHEMA IF NOT EXISTS \"planrun_backup\"",
            std::string("CREATE TABLE ") + kBackup +
                " AS SELECT <primary key columns of \"packages\">, \"legacy\", \"flags\" FROM "
                "\"packages\"",
            kSaveDefinitions,
            "ALTER TABLE \"packages\" DROP COLUMN \"legacy\", DROP COLUMN \"flags\""});
  CHECK(step->DescribeDown(StepEnv()) ==
        std::vector<std::string>{
            std::string("ALTER TABLE \"packages\" ADD COLUMN \"legacy\" <type and default saved "
                        "in ") +
                kSaved + ">, ADD COLUMN \"flags\" <type and default saved in " + kSaved + ">",
            std::string("UPDATE \"packages\" AS d SET \"legacy\" = b.\"legacy\", \"flags\" = "
                        "b.\"flags\" FROM ") +
                kBackup + " AS b WHERE <primary key columns match>",
            "ALTER TABLE \"packages\" ALTER COLUMN <each saved NOT NULL column> SET NOT NULL",
            std::string("DROP TABLE ") + kBackup + ", " + kSaved});
  CHECK(step->reversibility() == Reversibility::kReversible);
  REQUIRE(step->Writes().size() == 1);
  CHECK(step->Writes()[0].Key() == "public.packages");
  CHECK(step->Transactional());
}

TEST_CASE("drop_columns uses the run's backup schema") {
  std::unique_ptr<Step> step;
  PARSE_OK(ParseDropColumnsStep, kBody, &step);
  StepEnv env;
  env.names.backup = "keep";
  CHECK(step->DescribeUp(env)[0] == "CREATE SCHEMA IF NOT EXISTS \"keep\"");
  CHECK(step->DescribeDown(env)[3] ==
        "DROP TABLE \"keep\".\"v2__s1__public__packages\", "
        "\"keep\".\"v2__s1__public__packages__columns\"");
}

TEST_CASE("drop_columns Apply saves the primary key and columns, then drops") {
  std::unique_ptr<Step> step;
  PARSE_OK(ParseDropColumnsStep, kBody, &step);
  Harness h;
  h.db.On("i.indisprimary", Rows({{"org"}, {"id"}}));
  REQUIRE(step->Apply(h.ctx).ok());
  std::vector<std::string> want = step->DescribeUp(StepEnv());
  want[1] = std::string("CREATE TABLE ") + kBackup +
            " AS SELECT \"org\", \"id\", \"legacy\", \"flags\" FROM \"packages\"";
  want.insert(want.begin(),
              "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid "
              "AND a.attnum = ANY (i.indkey) WHERE i.indrelid = to_regclass($1) AND "
              "i.indisprimary ORDER BY array_position(i.indkey::int2[], a.attnum) "
              "[$1=\"packages\"]");
  CHECK(h.db.statements() == want);
  CHECK(h.out.lines() ==
        std::vector<std::string>{"info: dropped columns legacy, flags from packages (saved in "
                                 "planrun_backup.v2__s1__public__packages)"});
}

TEST_CASE("drop_columns refuses a table without a primary key") {
  std::unique_ptr<Step> step;
  PARSE_OK(ParseDropColumnsStep, kBody, &step);
  Harness h;
  Status st = step->Apply(h.ctx);
  CHECK(st.code() == StatusCode::kFailed);
  CHECK(st.message() ==
        "drop_columns needs a primary key on packages to restore the dropped columns exactly on "
        "rollback; add a primary key, or use a sql step after a backup step");
  CHECK(h.db.statements().size() == 1);
}

TEST_CASE("drop_columns refuses to drop a primary key column") {
  std::unique_ptr<Step> step;
  PARSE_OK(ParseDropColumnsStep, "table: packages\ncolumns: [id]\n", &step);
  Harness h;
  h.db.On("i.indisprimary", Rows({{"id"}}));
  CHECK(step->Apply(h.ctx).message() ==
        "drop_columns cannot drop column 'id' of packages: it is part of the primary key");
  CHECK(h.db.statements().size() == 1);
}

TEST_CASE("drop_columns Revert re-adds, refills by primary key and drops the backups") {
  std::unique_ptr<Step> step;
  PARSE_OK(ParseDropColumnsStep, "table: packages\ncolumns: [legacy, flags, total]\n", &step);
  Harness h;
  h.db.On("to_regclass($1) IS NOT NULL AND", Rows({{"t"}}));
  h.db.On("ORDER BY ordinal", Rows({{"legacy", "text", "t", "'none'::text", "f"},
                                    {"flags", "integer", "f", std::nullopt, "f"},
                                    {"total", "integer", "f", "(likes * 2)", "t"}}));
  h.db.On("pg_attribute a ON a.attrelid = c.rel",
          Rows({{"f", "id", "bigint", "f", "f", "20"},
                {"f", "legacy", "text", "f", "f", "25"},
                {"f", "flags", "integer", "f", "f", "23"},
                {"f", "total", "integer", "f", "f", "23"}}));
  h.db.On("UPDATE", Affected(7));
  REQUIRE(step->Revert(h.ctx).ok());
  const std::vector<std::string>& sql = h.db.statements();
  REQUIRE(sql.size() == 7);
  CHECK(sql[0] == std::string("SELECT to_regclass($1) IS NOT NULL AND to_regclass($2) IS NOT "
                              "NULL [$1=") +
                      kBackup + ", $2=" + kSaved + "]");
  CHECK(sql[1] == std::string("SELECT name, type, not_null, expr, generated FROM ") + kSaved +
                      " ORDER BY ordinal");
  CHECK(sql[3] ==
        "ALTER TABLE \"packages\" ADD COLUMN \"legacy\" text DEFAULT 'none'::text, ADD COLUMN "
        "\"flags\" integer, ADD COLUMN \"total\" integer GENERATED ALWAYS AS ((likes * 2)) "
        "STORED");
  CHECK(sql[4] == std::string("UPDATE \"packages\" AS d SET \"legacy\" = b.\"legacy\", "
                              "\"flags\" = b.\"flags\" FROM ") +
                      kBackup + " AS b WHERE d.\"id\" = b.\"id\"");
  CHECK(sql[5] == "ALTER TABLE \"packages\" ALTER COLUMN \"legacy\" SET NOT NULL");
  CHECK(sql[6] == std::string("DROP TABLE ") + kBackup + ", " + kSaved);
  CHECK(h.ctx.counters["rows"] == 7);
  CHECK(h.out.lines() == std::vector<std::string>{"info: restored columns legacy, flags, total of "
                                                  "packages from "
                                                  "planrun_backup.v2__s1__public__packages"});
}

TEST_CASE("drop_columns Revert fails clearly when the backup is gone") {
  std::unique_ptr<Step> step;
  PARSE_OK(ParseDropColumnsStep, kBody, &step);
  Harness h;
  h.db.On("to_regclass($1) IS NOT NULL AND", Rows({{"f"}}));
  CHECK(step->Revert(h.ctx).message() ==
        "cannot restore columns legacy, flags of packages: backup tables "
        "planrun_backup.v2__s1__public__packages and v2__s1__public__packages__columns are "
        "missing");
  CHECK(h.db.statements().size() == 1);
}

TEST_CASE("drop_columns parse errors") {
  std::unique_ptr<Step> step;
  auto error = [&](const std::string& yaml) {
    return ParseBody(ParseDropColumnsStep, yaml, &step).message();
  };
  CHECK(error("table: p\n") ==
        "plan.yaml:1:1: error: drop_columns step needs 'columns'\n"
        "table: p\n^");
  CHECK(error("table: p\ncolumns: []\n") ==
        "plan.yaml:2:10: error: 'columns' in drop_columns step is empty\ncolumns: []\n"
        "         ^");
  CHECK(error("table: p\ncolumns: [a, a]\n") ==
        "plan.yaml:2:10: error: column 'a' is listed twice in drop_columns step\n"
        "columns: [a, a]\n         ^");
  CHECK(error("table: p\ncolumns: [a, 'b;c']\n") ==
        "plan.yaml:2:14: error: invalid identifier 'b;c' in drop_columns step: use letters, "
        "digits, _ and $, starting with a letter or _ (at most 63 bytes)\n"
        "columns: [a, 'b;c']\n             ^");
  CHECK(error("tables: p\ncolumns: [a]\n") ==
        "plan.yaml:1:1: error: unknown key 'tables' in drop_columns step; did you mean "
        "'table'?\ntables: p\n^");
}

}  // namespace
}  // namespace testing
}  // namespace planrun
