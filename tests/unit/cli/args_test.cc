// Command-line parsing: flags land in the right option fields, and bad usage
// gets one clear error (exit 2).
#include <catch2/catch.hpp>

#include "cli/invocation.h"

namespace planrun {
namespace {

ParseOutcome Parse(const std::vector<std::string>& args, Invocation* inv, std::string* text,
                   Status* error) {
  return ParseArgs(args, inv, text, error);
}

TEST_CASE("apply flags and global options before or after the command") {
  Invocation inv;
  std::string text;
  Status error;
  REQUIRE(Parse({"--db", "postgresql://u@h/db", "apply", "--to", "2026.11.21.1", "--jobs", "2",
                 "--lock-timeout", "3", "--allow-drift", "--plans", "migrations", "-q"},
                &inv, &text, &error) == ParseOutcome::kRun);
  CHECK(inv.command == Command::kApply);
  CHECK(inv.global.db == "postgresql://u@h/db");
  CHECK(inv.global.plans_dir == "migrations");
  CHECK(inv.global.verbosity == Verbosity::kQuiet);
  REQUIRE(inv.apply.to.has_value());
  CHECK(inv.apply.to->text == "2026.11.21.1");
  CHECK(inv.apply.jobs == 2);
  CHECK(inv.apply.lock_timeout_ms == 3000);
  CHECK(inv.apply.allow_drift);
  CHECK_FALSE(inv.apply.dry_run);
  CHECK_FALSE(inv.apply.allow_out_of_order);
}

TEST_CASE("defaults") {
  Invocation inv;
  std::string text;
  Status error;
  REQUIRE(Parse({"apply"}, &inv, &text, &error) == ParseOutcome::kRun);
  CHECK(inv.global.plans_dir == "plans");
  CHECK(inv.global.schema == "planrun");
  CHECK(inv.global.db.empty());
  CHECK(inv.global.log_format == LogFormat::kText);
  CHECK(inv.apply.jobs == 4);
  CHECK(inv.apply.lock_timeout_ms == 10000);
  CHECK_FALSE(inv.apply.to.has_value());
}

TEST_CASE("rollback, status, validate and plan") {
  Invocation inv;
  std::string text;
  Status error;
  REQUIRE(Parse({"rollback", "--to", "0", "--restore-backups"}, &inv, &text, &error) ==
          ParseOutcome::kRun);
  CHECK(inv.command == Command::kRollback);
  CHECK(inv.rollback.to->text == "0");
  CHECK(inv.rollback.restore_backups);

  REQUIRE(Parse({"status", "--json", "--schema", "ops"}, &inv, &text, &error) ==
          ParseOutcome::kRun);
  CHECK(inv.command == Command::kStatus);
  CHECK(inv.status_json);
  CHECK(inv.global.schema == "ops");

  REQUIRE(Parse({"--log-format", "json", "validate"}, &inv, &text, &error) == ParseOutcome::kRun);
  CHECK(inv.command == Command::kValidate);
  CHECK(inv.global.log_format == LogFormat::kJson);

  REQUIRE(Parse({"plan", "2", "--format", "mermaid"}, &inv, &text, &error) == ParseOutcome::kRun);
  CHECK(inv.command == Command::kPlan);
  CHECK(inv.plan_version == "2");
  CHECK(inv.plan_format == PlanFormat::kMermaid);
}

TEST_CASE("usage errors are exit 2 with one message") {
  Invocation inv;
  std::string text;
  Status error;
  CHECK(Parse({}, &inv, &text, &error) == ParseOutcome::kUsage);
  CHECK(ExitCode(error) == 2);
  CHECK(error.message() == "A subcommand is required\nRun 'planrun --help' for usage.");

  CHECK(Parse({"apply", "--to", "v2"}, &inv, &text, &error) == ParseOutcome::kUsage);
  CHECK(error.message() ==
        "--to v2: not a version (an integer or dotted numbers like 2026.11.21.1)");

  CHECK(Parse({"apply", "--jobs", "0"}, &inv, &text, &error) == ParseOutcome::kUsage);
  CHECK(error.message() == "--jobs: Value 0 not in range 1 to 64\nRun 'planrun --help' for usage.");

  CHECK(Parse({"apply", "--bogus"}, &inv, &text, &error) == ParseOutcome::kUsage);
  CHECK(error.message() ==
        "The following argument was not expected: --bogus\nRun 'planrun --help' for usage.");

  CHECK(Parse({"-v", "-q", "status"}, &inv, &text, &error) == ParseOutcome::kUsage);
  CHECK(error.message() == "-v and -q contradict each other; pass one");

  CHECK(Parse({"status", "--log-format", "xml"}, &inv, &text, &error) == ParseOutcome::kUsage);
  CHECK(error.message().find("--log-format: xml not in {text,json}") == 0);

  CHECK(Parse({"--schema", std::string(57, 's'), "apply"}, &inv, &text, &error) ==
        ParseOutcome::kUsage);
  CHECK(error.message() == "--schema '" + std::string(57, 's') +
                               "' must be 1 to 56 bytes long (57 given): planrun also creates the "
                               "schema <name>_backup, and PostgreSQL names are at most 63 bytes");
  CHECK(Parse({"--schema", "", "status"}, &inv, &text, &error) == ParseOutcome::kUsage);
  CHECK(error.message().rfind("--schema '' must be 1 to 56 bytes long (0 given)", 0) == 0);
  CHECK(Parse({"--schema", std::string(56, 's'), "apply"}, &inv, &text, &error) ==
        ParseOutcome::kRun);
}

TEST_CASE("help and version exit 0") {
  Invocation inv;
  std::string text;
  Status error;
  CHECK(Parse({"--help"}, &inv, &text, &error) == ParseOutcome::kExit0);
  CHECK(text.find("apply") != std::string::npos);
  CHECK(text.find("rollback") != std::string::npos);
  CHECK(Parse({"--version"}, &inv, &text, &error) == ParseOutcome::kExit0);
  CHECK(text.rfind("planrun 0.", 0) == 0);
}

}  // namespace
}  // namespace planrun
