// planrun: parse the command line, run one command, exit with its code.
#include <string>
#include <vector>

#include "cli/commands.h"

int main(int argc, char** argv) {
  return planrun::RunCommandLine(std::vector<std::string>(argv + 1, argv + argc));
}
