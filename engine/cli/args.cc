#include <CLI/CLI.hpp>
#include <algorithm>
#include <sstream>

#include "cli/invocation.h"
#include "util/build_info.h"

namespace planrun {

namespace {

// Converts a --to/--version string, reporting a usage error on bad input.
Status ParseVersionFlag(const std::string& flag, const std::string& text,
                        std::optional<Version>* out) {
  if (text.empty()) return Status::OK();
  Version v;
  if (!Version::Parse(text, &v)) {
    return Status::Invalid(flag + " " + text +
                           ": not a version (an integer or dotted numbers like 2026.11.21.1)");
  }
  *out = v;
  return Status::OK();
}

}  // namespace

ParseOutcome ParseArgs(const std::vector<std::string>& args, Invocation* out, std::string* text,
                       Status* error) {
  Invocation inv;
  CLI::App app{"planrun: declarative migration plans for PostgreSQL", "planrun"};
  app.require_subcommand(1);
  app.fallthrough();
  app.set_version_flag("--version", std::string("planrun ") + kPlanrunVersion);
  std::string log_format = "text";
  bool verbose = false, quiet = false;
  app.add_option("--db", inv.global.db,
                 "database URL or conninfo (default: DATABASE_URL, then libpq's PG* variables)");
  app.add_option("--plans", inv.global.plans_dir, "directory of plan files (searched recursively)")
      ->capture_default_str();
  app.add_option("--schema", inv.global.schema, "schema of planrun's tracking tables")
      ->capture_default_str();
  app.add_option("--log-format", log_format, "log lines as text or json")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  app.add_flag("-v,--verbose", verbose, "log more");
  app.add_flag("-q,--quiet", quiet, "log warnings and errors only");

  std::string apply_to, rollback_to;
  int64_t apply_lock_s = 10, rollback_lock_s = 10;
  auto* apply = app.add_subcommand("apply", "apply pending plans (resumes a failed one)");
  apply->add_option("--to", apply_to, "apply plans up to and including VERSION");
  apply->add_flag("--dry-run", inv.apply.dry_run,
                  "run in one transaction, print what would change, roll it back");
  apply->add_option("--jobs", inv.apply.jobs, "steps run at once on separate connections")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  apply->add_option("--lock-timeout", apply_lock_s, "seconds to wait for another planrun")
      ->check(CLI::Range(0, 86400))
      ->capture_default_str();
  apply
      ->add_option("--retry", inv.apply.retries,
                   "after losing the connection to PostgreSQL, reconnect with backoff and "
                   "resume, up to N times")
      ->check(CLI::Range(0, 100))
      ->capture_default_str();
  apply->add_flag("--allow-drift", inv.apply.allow_drift,
                  "go on although applied plans changed since");
  apply->add_flag("--allow-out-of-order", inv.apply.allow_out_of_order,
                  "apply plans older than the newest applied one");
  apply->add_flag("--rollback-on-failure", inv.apply.rollback_on_failure,
                  "roll back a plan whose apply fails, as if it said on_failure: rollback");
  apply->add_flag("--retry-rejects", inv.apply.retry_rejects,
                  "run the rows data steps rejected through their (fixed) hooks again");
  std::vector<std::string> restart_steps;
  apply->add_option("--restart-step", restart_steps,
                    "undo a data step's rows so far and start it over (repeatable)");
  auto* sample = apply->add_option("--sample", inv.apply.sample_rows,
                                   "with --dry-run: run data steps' hooks over the first N rows");
  sample->check(CLI::Range(int64_t{1}, int64_t{1000000}));

  auto* rollback = app.add_subcommand("rollback", "roll back the newest applied plan");
  rollback->add_option("--to", rollback_to, "roll back every plan newer than VERSION");
  rollback->add_flag("--restore-backups", inv.rollback.restore_backups,
                     "also restore every table the plan backed up, wholesale");
  rollback->add_option("--jobs", inv.rollback.jobs, "steps run at once")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  rollback->add_option("--lock-timeout", rollback_lock_s, "seconds to wait for another planrun")
      ->check(CLI::Range(0, 86400))
      ->capture_default_str();
  rollback
      ->add_option("--retry", inv.rollback.retries,
                   "after losing the connection to PostgreSQL, reconnect with backoff and "
                   "resume, up to N times")
      ->check(CLI::Range(0, 100))
      ->capture_default_str();

  auto* status = app.add_subcommand("status", "every plan in the directory and in the database");
  status->add_flag("--json", inv.status_json, "print JSON");

  auto* validate = app.add_subcommand("validate", "parse and check every plan; no database");

  std::string plan_format = "text";
  auto* plan = app.add_subcommand("plan", "print a plan's graph and the exact SQL of each step");
  plan->add_option("version", inv.plan_version, "the plan's version (default: every plan)");
  plan->add_option("--format", plan_format, "text, json, dot or mermaid")
      ->check(CLI::IsMember({"text", "json", "dot", "mermaid"}))
      ->capture_default_str();

  std::string rejects_version;
  auto* rejects = app.add_subcommand("rejects", "rows that data steps rejected, with the reasons");
  rejects->add_option("version", rejects_version, "only this plan's rejects");
  rejects->add_option("--step", inv.rejects_step, "only this step's rejects");
  rejects->add_flag("--json", inv.rejects_json, "print JSON");

  std::vector<std::string> reversed(args.rbegin(), args.rend());
  try {
    app.parse(reversed);
  } catch (const CLI::CallForHelp&) {
    *text = app.help();
    return ParseOutcome::kExit0;
  } catch (const CLI::CallForAllHelp&) {
    *text = app.help("", CLI::AppFormatMode::All);
    return ParseOutcome::kExit0;
  } catch (const CLI::CallForVersion&) {
    *text = std::string("planrun ") + kPlanrunVersion + "\n";
    return ParseOutcome::kExit0;
  } catch (const CLI::ParseError& e) {
    std::string msg = e.what();
    if (msg.empty()) msg = "bad command line";
    *error = Status::Invalid(msg + "\nRun 'planrun --help' for usage.");
    return ParseOutcome::kUsage;
  }
  if (verbose && quiet) {
    *error = Status::Invalid("-v and -q contradict each other; pass one");
    return ParseOutcome::kUsage;
  }
  inv.global.verbosity = verbose ? Verbosity::kVerbose
                         : quiet ? Verbosity::kQuiet
                                 : Verbosity::kNormal;
  inv.global.log_format = log_format == "json" ? LogFormat::kJson : LogFormat::kText;
  inv.apply.lock_timeout_ms = apply_lock_s * 1000;
  inv.rollback.lock_timeout_ms = rollback_lock_s * 1000;
  Status st = ParseVersionFlag("--to", apply_to, &inv.apply.to);
  if (st.ok()) st = ParseVersionFlag("--to", rollback_to, &inv.rollback.to);
  if (!st.ok()) {
    *error = st;
    return ParseOutcome::kUsage;
  }
  // PostgreSQL cuts names at 63 bytes, and planrun also makes <schema>_backup.
  if (inv.global.schema.empty() || inv.global.schema.size() > 56) {
    *error = Status::Invalid("--schema '" + inv.global.schema + "' must be 1 to 56 bytes long (" +
                             std::to_string(inv.global.schema.size()) +
                             " given): planrun also creates the schema <name>_backup, and "
                             "PostgreSQL names are at most 63 bytes");
    return ParseOutcome::kUsage;
  }
  if (!rejects_version.empty()) inv.plan_version = rejects_version;
  inv.apply.restart_steps.insert(restart_steps.begin(), restart_steps.end());
  if (inv.apply.sample_rows > 0 && !inv.apply.dry_run) {
    *error = Status::Invalid("--sample goes with --dry-run: apply --dry-run --sample " +
                             std::to_string(inv.apply.sample_rows));
    return ParseOutcome::kUsage;
  }
  if (!inv.plan_version.empty()) {
    std::optional<Version> v;
    st = ParseVersionFlag("plan", inv.plan_version, &v);
    if (!st.ok()) {
      *error = st;
      return ParseOutcome::kUsage;
    }
    inv.plan_version = v->text;
  }
  inv.plan_format = plan_format == "json"      ? PlanFormat::kJson
                    : plan_format == "dot"     ? PlanFormat::kDot
                    : plan_format == "mermaid" ? PlanFormat::kMermaid
                                               : PlanFormat::kText;
  if (apply->parsed()) inv.command = Command::kApply;
  if (rollback->parsed()) inv.command = Command::kRollback;
  if (status->parsed()) inv.command = Command::kStatus;
  if (validate->parsed()) inv.command = Command::kValidate;
  if (plan->parsed()) inv.command = Command::kPlan;
  if (rejects->parsed()) inv.command = Command::kRejects;
  *out = inv;
  return ParseOutcome::kRun;
}

}  // namespace planrun
