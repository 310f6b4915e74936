// Parser: plan YAML text -> Plan. Reads the plan header and each step's shared
// keys itself; the body under a step's kind key goes to that kind's parser,
// looked up in a StepRegistry (steps/builtin.h gives the real one, tests may
// pass their own). Every error is a located PlanError (plan/source.h).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "plan/node.h"
#include "plan/plan.h"

namespace planrun {

/// What a step kind's parser gets besides the YAML body.
struct StepParseContext {
  const SourceFile& file;
  const std::string& plan_dir;  // directory of the plan file
  const Defaults& settings;     // the step's effective settings
  const std::string& step_id;
  const Version& version;
  /// Files the step reads (Lua hooks...), as paths a later open() can use;
  /// the parser appends to it so the plan checksum covers them.
  std::vector<std::string>* files;
  /// The plan's `connections:` by name, to check a step's `connection:`.
  const std::map<std::string, std::string>* connections;
};

/// Parses the value under a step's kind key into a Step.
using StepParser = std::function<Status(const Node& body, const StepParseContext& ctx,
                                        std::unique_ptr<Step>* out)>;

/// One step kind: its YAML key and its parser.
struct StepKindInfo {
  std::string name;
  StepParser parse;
};
using StepRegistry = std::vector<StepKindInfo>;

/// Parses and checks one plan file's text. Checks within the file: required
/// keys, types, unknown keys (with "did you mean"), duplicate step ids,
/// `needs` targets, identifiers. Cross-file checks are the loader's.
Status ParsePlan(const SourceFile& file, const StepRegistry& kinds, Plan* out);

}  // namespace planrun
