// A `backup: {to: dir}` step that cannot write its files: the file system
// fills up (a file-size limit on planrun, so write() fails with EFBIG as it
// would with ENOSPC), or the directory cannot be created. The step fails
// cleanly, names the file, leaves no file that looks like a finished backup,
// records no backup, changes nothing else; a re-run once the cause is fixed
// finishes the plan, and its rollback restores the data from the files.
#include <catch2/catch.hpp>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "support.h"

namespace planrun {
namespace testing {
namespace {

/// A plan that backs `events` up to `dir`, then empties it.
std::string PlanFor(const std::string& dir) {
  return R"(version: 1
name: disk
steps:
  - id: save
    backup: {tables: [events], to: )" +
         dir + R"(}
  - id: wipe
    sql: {up: DELETE FROM events, writes: [events]}
)";
}

constexpr char kEvents[] =
    "CREATE TABLE events (id bigint PRIMARY KEY, body text NOT NULL);"
    "INSERT INTO events SELECT i, repeat('x', 200) || i FROM generate_series(1, 20000) i;";

/// The files under `dir`, sorted, as "name size" lines.
std::string Listing(const std::string& dir) {
  std::vector<std::string> lines;
  if (!std::filesystem::exists(dir)) return "(no directory)";
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) {
      lines.push_back(std::filesystem::relative(e.path(), dir).string() + " " +
                      std::to_string(e.file_size()));
    }
  }
  std::sort(lines.begin(), lines.end());
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

TEST_CASE("a backup to a full disk fails cleanly and a re-run after freeing space finishes") {
  const std::string db = "fault_disk_full";
  const std::string conn = FreshDatabase(db);
  ExecSql(conn, kEvents);
  const std::string before = TableChecksums(conn);
  const std::string plans = TempDir("planrun-fault-disk");
  const std::string out = TempDir("planrun-fault-disk-out") + "/backup";
  WriteFile(plans + "/001.yaml", PlanFor(out));

  // 64 KiB per file: the 4 MiB table cannot be written. SIGXFSZ ignored, so
  // write() returns EFBIG instead of killing the process.
  CommandResult full = Run({"sh", "-c", "trap '' XFSZ; ulimit -f 64; exec \"$@\"", "sh",
                            PlanrunBinary(), "--plans", plans, "apply"},
                           {{"PGDATABASE", db}});
  INFO(full.err);
  CHECK(full.exit_code == 1);
  CHECK_THAT(full.err, Catch::Contains("error: step 'save' of plan 1 disk failed to apply: "));
  CHECK_THAT(full.err, Catch::Contains("File too large"));
  // Nothing that looks finished: no metadata.json, no temp files left.
  CHECK(Listing(out).find("metadata.json") == std::string::npos);
  CHECK(Listing(out).find(".tmp") == std::string::npos);
  CHECK(QueryValue(conn, "SELECT count(*) FROM planrun.backups") == "0");
  CHECK(QueryValue(conn, "SELECT state FROM planrun.step_runs WHERE step_id = 'save'") == "failed");
  CHECK(QueryValue(conn, "SELECT count(*) FROM planrun.step_runs WHERE step_id = 'wipe'") == "0");
  CHECK(TableChecksums(conn, {"planrun"}) == before);

  CommandResult again = Planrun(db, {"--plans", plans, "apply"});
  INFO(again.err);
  REQUIRE(again.exit_code == 0);
  CHECK(QueryValue(conn, "SELECT count(*) FROM events") == "0");
  CHECK(Listing(out).find("metadata.json") != std::string::npos);
  CommandResult back = Planrun(db, {"--plans", plans, "rollback"});
  INFO(back.err);
  REQUIRE(back.exit_code == 0);
  CHECK(TableChecksums(conn, {"planrun"}) == before);
}

TEST_CASE("a backup directory that cannot be created fails the step with the path and errno") {
  const std::string db = "fault_disk_notdir";
  const std::string conn = FreshDatabase(db);
  ExecSql(conn, kEvents);
  const std::string before = TableChecksums(conn);
  const std::string plans = TempDir("planrun-fault-notdir");
  // A regular file where a directory should be: even root cannot write there.
  const std::string blocker = plans + "/blocker";
  WriteFile(blocker, "not a directory\n");
  WriteFile(plans + "/001.yaml", PlanFor(blocker + "/backup"));
  CommandResult r = Planrun(db, {"--plans", plans, "apply"});
  INFO(r.err);
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Catch::Contains("error: step 'save' of plan 1 disk failed to apply: "));
  CHECK_THAT(r.err, Catch::Contains(blocker + "/backup"));
  CHECK_THAT(r.err, Catch::Contains("Not a directory"));
  CHECK(QueryValue(conn, "SELECT count(*) FROM planrun.backups") == "0");
  CHECK(TableChecksums(conn, {"planrun"}) == before);
}

}  // namespace
}  // namespace testing
}  // namespace planrun
