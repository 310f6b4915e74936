// Helpers for integration tests. They need a running PostgreSQL reachable
// through libpq's PG* variables (scripts/test.sh runs ctest inside
// pg_virtualenv). Each test works in its own fresh database.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "pg/session.h"

namespace planrun {
namespace testing {

/// The source tree (PLANRUN_SOURCE_DIR) and the built binary (PLANRUN_BINARY).
std::string SourceDir();
std::string PlanrunBinary();

/// Drops and creates database `name`; returns a conninfo for it ("dbname=name").
std::string FreshDatabase(const std::string& name);

/// A session to `conninfo`; fails the test on error.
std::unique_ptr<pg::Session> Connect(const std::string& conninfo);

/// The first value of the first row of `sql`, or "<null>"; fails the test on error.
std::string QueryValue(const std::string& conninfo, const std::string& sql);

/// Runs `sql`; fails the test on error.
void ExecSql(const std::string& conninfo, const std::string& sql);

/// An ordered checksum of every table (but temporary ones) outside
/// pg_catalog/information_schema
/// (and outside the schemas in `skip_schemas`): "schema.table count md5" lines.
std::string TableChecksums(const std::string& conninfo,
                           const std::vector<std::string>& skip_schemas = {});

/// A schema dump of the database (pg_dump --schema-only, no comments/owners),
/// skipping `skip_schemas`.
std::string SchemaDump(const std::string& dbname,
                       const std::vector<std::string>& skip_schemas = {});

/// What a finished command did.
struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

/// Runs argv[0] with arguments, extra environment variables, in `cwd` (empty:
/// the current directory); captures stdout and stderr.
CommandResult Run(const std::vector<std::string>& argv,
                  const std::map<std::string, std::string>& env = {}, const std::string& cwd = "");

/// Runs the planrun binary with `args` against `dbname` (sets PGDATABASE).
CommandResult Planrun(const std::string& dbname, const std::vector<std::string>& args,
                      const std::map<std::string, std::string>& env = {});

/// A new empty directory under the system temp dir.
std::string TempDir(const std::string& prefix);

/// Writes `text` to `path`, creating parent directories.
void WriteFile(const std::string& path, const std::string& text);

}  // namespace testing
}  // namespace planrun
