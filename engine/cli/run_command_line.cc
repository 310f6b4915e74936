#include <iostream>

#include "cli/commands.h"
#include "util/redact.h"

namespace planrun {

namespace {

Status Dispatch(const Invocation& inv, Reporter& out) {
  switch (inv.command) {
    case Command::kApply:
      return CmdApply(inv, out);
    case Command::kRollback:
      return CmdRollback(inv, out);
    case Command::kStatus:
      return CmdStatus(inv, out);
    case Command::kValidate:
      return CmdValidate(inv, out);
    case Command::kPlan:
      return CmdPlan(inv, out);
    case Command::kRejects:
      return CmdRejects(inv, out);
  }
  return Status::Internal("unknown command");
}

// Plan errors already read "file:line:col: error: ..."; others get the prefix.
std::string ErrorText(const Status& st) {
  const std::string& m = st.message();
  const bool located =
      m.find(": error: ") != std::string::npos && m.find(": error: ") < m.find('\n');
  return Redact(located ? m : "error: " + m);
}

}  // namespace

int RunCommandLine(const std::vector<std::string>& args) {
  Invocation inv;
  std::string text;
  Status error;
  switch (ParseArgs(args, &inv, &text, &error)) {
    case ParseOutcome::kExit0:
      std::cout << text << std::flush;
      return 0;
    case ParseOutcome::kUsage:
      std::cerr << ErrorText(error) << std::endl;
      return ExitCode(error);
    case ParseOutcome::kRun:
      break;
  }
  auto reporter = MakeConsoleReporter(inv.global.log_format, inv.global.verbosity);
  Status st = Dispatch(inv, *reporter);
  if (!st.ok()) std::cerr << ErrorText(st) << std::endl;
  return ExitCode(st);
}

}  // namespace planrun
