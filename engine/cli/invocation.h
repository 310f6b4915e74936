// Invocation: a parsed command line as plain structs. cli/args.cc is the only
// code that talks to CLI11; the cmd_* functions take an Invocation, so they
// can be called from tests without a command line.
#pragma once

#include <string>
#include <vector>

#include "graph/format.h"
#include "report/reporter.h"
#include "run/apply.h"
#include "run/rollback.h"
#include "util/status.h"

namespace planrun {

/// Options every command takes.
struct GlobalOptions {
  std::string db;                   // --db URL; else DATABASE_URL; else libpq's PG* variables
  std::string plans_dir = "plans";  // --plans DIR, searched recursively for *.yaml / *.yml
  std::string schema = "planrun";   // --schema NAME for the tracking tables
  LogFormat log_format = LogFormat::kText;
  Verbosity verbosity = Verbosity::kNormal;
};

/// The subcommands.
enum class Command { kApply, kRollback, kStatus, kValidate, kPlan, kRejects };

/// A whole command line.
struct Invocation {
  GlobalOptions global;
  Command command = Command::kStatus;
  ApplyOptions apply;
  RollbackOptions rollback;
  bool status_json = false;
  std::string plan_version;  // `plan [VERSION]` and `rejects [VERSION]`; empty: every plan
  std::string rejects_step;  // `rejects --step ID`
  bool rejects_json = false;
  PlanFormat plan_format = PlanFormat::kText;
};

/// What ParseArgs decided.
enum class ParseOutcome {
  kRun,    // run the command in the Invocation
  kExit0,  // help or version was printed
  kUsage,  // bad usage; the message is in the Status
};

/// Parses `args` (without the program name). Help and version text go to `*text`.
ParseOutcome ParseArgs(const std::vector<std::string>& args, Invocation* out, std::string* text,
                       Status* error);

}  // namespace planrun
