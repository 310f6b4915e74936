// The commands, one file each (cmd_apply.cc ...). Each takes a parsed
// Invocation and a Reporter and returns a Status whose ExitCode is the
// process's exit code. Main wires argv, the console reporter and these.
#pragma once

#include <string>
#include <vector>

#include "cli/invocation.h"
#include "report/reporter.h"

namespace planrun {

Status CmdApply(const Invocation& inv, Reporter& out);
Status CmdRollback(const Invocation& inv, Reporter& out);
Status CmdStatus(const Invocation& inv, Reporter& out);
Status CmdValidate(const Invocation& inv, Reporter& out);
Status CmdPlan(const Invocation& inv, Reporter& out);
Status CmdRejects(const Invocation& inv, Reporter& out);

/// Runs a whole command line (without the program name); returns the exit code.
int RunCommandLine(const std::vector<std::string>& args);

}  // namespace planrun
