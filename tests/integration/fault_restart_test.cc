// PostgreSQL restarted in the middle of a step: planrun stops with an error
// that names the step (exit 1), status tells the truth, and a re-run of
// apply finishes with exactly the result of an uninterrupted run; with
// --retry N the run reconnects and finishes on its own, with the same result.
//
// The test restarts the cluster it runs against with `pg_ctlcluster VERSION
// NAME restart -m fast`, finding it by PGPORT in pg_lsclusters. It only does
// so for a throwaway cluster made by pg_virtualenv (PG_CLUSTER_CONF_ROOT is
// set, or the cluster's config directory holds .by_pg_virtualenv), or when
// PLANRUN_FAULT_RESTART=1 says a shared cluster may be restarted; otherwise
// it passes with a message saying it was skipped.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "fault_process.h"
#include "fault_trial.h"
#include "support.h"

namespace planrun {
namespace testing {
namespace {

/// The command that restarts the cluster under test, or why there is none.
struct Restarter {
  std::vector<std::string> argv;
  std::string why_not;
};

/// Finds the cluster on PGPORT in pg_lsclusters and whether it may be restarted.
Restarter FindRestarter() {
  const char* env_port = std::getenv("PGPORT");
  const std::string port = env_port && *env_port ? env_port : "5432";
  CommandResult ls = Run({"pg_lsclusters", "-h"});
  if (ls.exit_code != 0) return {{}, "pg_lsclusters failed: " + ls.err};
  std::istringstream lines(ls.out);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream fields(line);
    std::string version, name, cluster_port, state;
    fields >> version >> name >> cluster_port >> state;
    if (cluster_port != port) continue;
    const char* root = std::getenv("PG_CLUSTER_CONF_ROOT");
    const std::string conf = std::string(root && *root ? root : "/etc/postgresql") + "/" + version +
                             "/" + name + "/.by_pg_virtualenv";
    const bool throwaway = (root && *root) || access(conf.c_str(), F_OK) == 0;
    if (!throwaway && EnvInt("PLANRUN_FAULT_RESTART", 0) != 1) {
      return {{},
              "cluster " + version + "/" + name + " on port " + port +
                  " is not a pg_virtualenv cluster; set PLANRUN_FAULT_RESTART=1 to restart "
                  "it anyway"};
    }
    // Never through systemd: the cluster is pg_virtualenv's, not a service.
    return {{"pg_ctlcluster", "--skip-systemctl-redirect", version, name, "restart", "-m", "fast"},
            ""};
  }
  return {{}, "no cluster in pg_lsclusters listens on port " + port + ":\n" + ls.out};
}

/// Waits until the server accepts connections again.
void WaitForServer() {
  for (int i = 0; i < 600; ++i) {
    std::unique_ptr<pg::Session> s;
    pg::ConnectOptions options;
    options.conninfo = "dbname=postgres";
    if (pg::Connect(options, &s).ok()) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  FAIL("the server did not come back within 60s");
}

const char kPlan[] = R"(version: 1
name: restart_trial
steps:
  - id: create_copies
    sql:
      up: CREATE TABLE copies (id bigint PRIMARY KEY, label text NOT NULL, score integer NOT NULL)
      down: DROP TABLE copies
      writes: [copies]
  - id: copy_rows
    copy:
      from: {table: items, key: id, columns: [name, score]}
      to: {table: copies, columns: [id, label, score]}
      batch_size: 1000
      lua: |
        function transform(row, ctx)
          if ctx.state.batch ~= ctx.batch then
            ctx.state.batch = ctx.batch
            ctx.log("batch " .. ctx.batch)
          end
          return {id = row.id, label = string.upper(row.name), score = row.score * 2}
        end
  - id: bump
    transform:
      table: copies
      key: id
      batch_size: 1000
      set: {score: score + 1}
)";

const char kItems[] =
    "CREATE TABLE items (id bigint PRIMARY KEY, name text NOT NULL, score integer NOT NULL);"
    "INSERT INTO items SELECT i, 'item ' || i, i % 1000 FROM generate_series(1, 100000) i;";

/// The plan directory and what an uninterrupted run of it leaves.
struct Reference {
  std::string dir;
  std::string tables;
  std::string schema;
};

/// Writes the plan and applies it without faults to a reference database.
Reference MakeReference() {
  Reference ref;
  ref.dir = TempDir("planrun-fault-restart");
  WriteFile(ref.dir + "/001.yaml", kPlan);
  ExecSql(FreshDatabase("fault_restart_ref"), kItems);
  REQUIRE(Planrun("fault_restart_ref", {"--plans", ref.dir, "apply"}).exit_code == 0);
  WaitForSessionsToEnd("fault_restart_ref");
  ref.tables =
      TableChecksums("dbname=fault_restart_ref", SkippedSchemas("dbname=fault_restart_ref"));
  ref.schema = SchemaDump("fault_restart_ref", kOwnSchemas);
  return ref;
}

/// Restarts the server (its output to a file in `dir`: the server the command
/// starts must not hold a pipe of ours open).
void Restart(const Restarter& restarter, const std::string& dir) {
  const std::string log = dir + "/restart.log";
  std::vector<std::string> argv = {"sh", "-c", "exec \"$@\" >" + log + " 2>&1", "sh"};
  argv.insert(argv.end(), restarter.argv.begin(), restarter.argv.end());
  CommandResult restart = Run(argv);
  INFO("the restart's output is in " << log);
  REQUIRE(restart.exit_code == 0);
}

/// Restarts the server once `trigger` appears in apply's stderr; checks the
/// error, status and the finished re-run against an uninterrupted run.
void RestartDuring(const Restarter& restarter, const std::string& trigger,
                   const std::string& step) {
  const Reference ref = MakeReference();
  const std::string& dir = ref.dir;
  const std::string db = "fault_restart";
  const std::string conn = FreshDatabase(db);
  ExecSql(conn, kItems);
  PlanrunProcess apply(db, {"--plans", dir, "-v", "apply"});
  REQUIRE(apply.WaitForLine(trigger, std::chrono::seconds(60)));
  Restart(restarter, dir);
  const int exit_code = apply.Wait();
  WaitForServer();
  const std::string err = apply.err();
  const std::string error_line = err.substr(err.rfind("\nerror: ") + 1);
  std::cout << "planrun after a restart during " << step << " (exit " << exit_code << "):\n"
            << error_line << std::endl;
  INFO(err);
  CHECK(exit_code == 1);
  CHECK(error_line.rfind("error: step '" + step + "' of plan 1 restart_trial failed to apply: ",
                         0) == 0);
  CHECK_THAT(err, Catch::Contains("\nthe connection to PostgreSQL was lost. Everything committed "
                                  "before that is kept (planrun status shows where it stopped): "
                                  "run planrun apply again to resume, or pass --retry N to "
                                  "reconnect on its own"));

  CommandResult status = Planrun(db, {"--plans", dir, "status", "--json"});
  INFO(status.err);
  REQUIRE(status.exit_code == 0);
  nlohmann::json plan = nlohmann::json::parse(status.out)["plans"][0];
  std::cout << "status after the restart: state " << plan["state"] << ", steps "
            << plan["steps"].dump() << std::endl;
  const std::string recorded =
      QueryValue(conn, "SELECT state FROM planrun.schema_migrations WHERE version = '1'");
  CHECK(plan["state"] == (recorded == "running" ? "interrupted" : recorded));
  CHECK((plan["state"] == "interrupted" || plan["state"] == "failed"));
  const std::string step_state = QueryValue(
      conn, "SELECT state FROM planrun.step_runs WHERE step_id = '" + step + "' AND phase = 'up'");
  for (const auto& s : plan["steps"]) {
    if (s["id"] == step) CHECK(s["state"] == step_state);
  }
  CHECK(plan["steps_done"] ==
        std::stoi(QueryValue(conn,
                             "SELECT count(*) FROM planrun.step_runs WHERE state = "
                             "'applied'")));

  CommandResult again = Planrun(db, {"--plans", dir, "apply"});
  INFO(again.err);
  REQUIRE(again.exit_code == 0);
  WaitForSessionsToEnd(db);
  CHECK(TableChecksums(conn, SkippedSchemas(conn)) == ref.tables);
  CHECK(SchemaDump(db, kOwnSchemas) == ref.schema);
}

/// With --retry, the run that lost the server reconnects and finishes itself.
void RestartWithRetry(const Restarter& restarter, const std::string& trigger) {
  const Reference ref = MakeReference();
  const std::string db = "fault_restart_retry";
  const std::string conn = FreshDatabase(db);
  ExecSql(conn, kItems);
  PlanrunProcess apply(db, {"--plans", ref.dir, "-v", "apply", "--retry", "5"});
  REQUIRE(apply.WaitForLine(trigger, std::chrono::seconds(60)));
  Restart(restarter, ref.dir);
  const int exit_code = apply.Wait();
  WaitForServer();
  const std::string err = apply.err();
  INFO(err);
  CHECK(exit_code == 0);
  CHECK_THAT(err, Catch::Contains("lost the connection to PostgreSQL: "));
  CHECK_THAT(err, Catch::Contains("(retry 1 of 5)"));
  CHECK_THAT(err, Catch::Contains("resuming plan 1 restart_trial: 1 of 3 steps already applied"));
  CHECK(QueryValue(conn, "SELECT state FROM planrun.schema_migrations WHERE version = '1'") ==
        "applied");
  WaitForSessionsToEnd(db);
  CHECK(TableChecksums(conn, SkippedSchemas(conn)) == ref.tables);
  CHECK(SchemaDump(db, kOwnSchemas) == ref.schema);
}

TEST_CASE("a server restart mid-step fails the run naming the step; a re-run finishes it") {
  const Restarter restarter = FindRestarter();
  const char* root = std::getenv("PG_CLUSTER_CONF_ROOT");
  if (restarter.argv.empty() && root && *root) {
    // A pg_virtualenv -t cluster (as scripts/test.sh makes) must be found.
    FAIL("cannot find the pg_virtualenv cluster to restart: " << restarter.why_not);
  }
  if (restarter.argv.empty()) {
    SUCCEED("skipped: " << restarter.why_not);
    std::cout << "fault_restart_test skipped: " << restarter.why_not << std::endl;
    return;
  }
  SECTION("in a copy, between Lua batches") {
    RestartDuring(restarter, "hook copy_rows: batch 20", "copy_rows");
  }
  SECTION("in an in-place transform") { RestartDuring(restarter, "applying step bump", "bump"); }
  SECTION("with --retry, apply reconnects and finishes on its own") {
    RestartWithRetry(restarter, "hook copy_rows: batch 20");
  }
}

}  // namespace
}  // namespace testing
}  // namespace planrun
