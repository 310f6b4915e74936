// The bad-plan corpus (tests/corpus/bad_plans, see tests/unit/cli/
// bad_plans_test.cc) through `planrun apply` against a real database: each
// entry fails with exactly its .err text and exit 2, and the database is
// exactly as before: same schema, same rows, no tracking schema created.
#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "support.h"

namespace planrun {
namespace testing {
namespace {

namespace fs = std::filesystem;

/// The whole content of `path`.
std::string ReadAll(const fs::path& path) {
  std::ifstream f(path, std::ios::binary);
  std::ostringstream text;
  text << f.rdbuf();
  return text.str();
}

TEST_CASE("every bad plan fails apply with its .err text, exit 2, and no database change") {
  const std::string db = "bad_plans_apply";
  const std::string conn = FreshDatabase(db);
  // Tables the corpus plans name, so that nothing fails for want of them.
  ExecSql(conn,
          "CREATE TABLE users (id bigint PRIMARY KEY, email text, name text);"
          "CREATE TABLE packages (id bigint PRIMARY KEY, name text);"
          "INSERT INTO users SELECT i, 'u' || i || '@example.com', 'user ' || i "
          "FROM generate_series(1, 100) i;"
          "INSERT INTO packages VALUES (1, 'core'), (2, 'extra');");
  const std::string schema_before = SchemaDump(db);
  const std::string rows_before = TableChecksums(conn);

  const fs::path corpus = fs::path(SourceDir()) / "tests/corpus/bad_plans";
  std::vector<fs::path> entries;
  for (const auto& e : fs::directory_iterator(corpus)) {
    if (e.is_directory() || e.path().extension() == ".yaml") entries.push_back(e.path());
  }
  std::sort(entries.begin(), entries.end());
  REQUIRE(entries.size() >= 40);
  for (const fs::path& entry : entries) {
    INFO("corpus entry: " << entry.filename().string());
    const std::string dir = TempDir("planrun-bad-apply");
    if (fs::is_directory(entry)) {
      for (const auto& f : fs::directory_iterator(entry)) {
        fs::copy_file(f.path(), fs::path(dir) / f.path().filename());
      }
    } else {
      fs::copy_file(entry, fs::path(dir) / "plan.yaml");
    }
    CommandResult r = Run({PlanrunBinary(), "--plans", ".", "apply"}, {{"PGDATABASE", db}}, dir);
    CHECK(r.exit_code == 2);
    CHECK(r.out.empty());
    CHECK(r.err == ReadAll(corpus / (entry.stem().string() + ".err")));
    CHECK(QueryValue(conn, "SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'planrun%'") ==
          "0");
    fs::remove_all(dir);
  }
  CHECK(SchemaDump(db) == schema_before);
  CHECK(TableChecksums(conn) == rows_before);
  CHECK(QueryValue(conn, "SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'planrun%'") == "0");
}

}  // namespace
}  // namespace testing
}  // namespace planrun
