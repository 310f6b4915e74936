// Helpers for step unit tests: parse one kind's body from YAML text without
// ParsePlan, and a StepContext wired to a FakeSession and a RecordingReporter.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "fake_session.h"
#include "plan/parser.h"
#include "plan/plan.h"
#include "report/reporter.h"

namespace planrun {
namespace testing {

/// The file name parse errors show.
inline const char kPlanFile[] = "plan.yaml";

/// Parses `yaml` (a step body written as a whole document) with `parser`, as
/// step `step_id` of plan version `version`.
inline Status ParseBody(const StepParser& parser, const std::string& yaml,
                        std::unique_ptr<Step>* out, const std::string& step_id = "s1",
                        const std::string& version = "2") {
  SourceFile file{kPlanFile, yaml};
  Node root;
  PLANRUN_RETURN_IF_ERROR(ParseYaml(file, &root));
  Version v;
  if (!Version::Parse(version, &v)) return Status::Internal("bad test version " + version);
  Defaults settings;
  std::string dir = ".";
  std::vector<std::string> files;
  std::map<std::string, std::string> connections = {{"legacy", "env:LEGACY_DATABASE_URL"}};
  StepParseContext ctx{file, dir, settings, step_id, v, &files, &connections};
  return parser(root, ctx, out);
}

/// Like ParseBody, for bodies that must parse; REQUIREs success.
#define PARSE_OK(parser, yaml, out)                       \
  do {                                                    \
    ::planrun::Status st_ = ParseBody(parser, yaml, out); \
    INFO(st_.message());                                  \
    REQUIRE(st_.ok());                                    \
  } while (0)

/// What `planrun plan` shows for the body `yaml` parsed by `parser`, as step
/// s1 of plan 2 with the backup schema planrun_backup; the parse error as
/// the only line when it does not parse.
inline std::vector<std::string> DescribeOf(const StepParser& parser, const std::string& yaml,
                                           bool down) {
  std::unique_ptr<Step> step;
  const Status st = ParseBody(parser, yaml, &step);
  if (!st.ok()) return {"parse error: " + st.message()};
  Plan plan;
  Version::Parse("2", &plan.version);
  StepDecl decl;
  decl.id = "s1";
  StepEnv env;
  env.plan = &plan;
  env.decl = &decl;
  env.names.backup = "planrun_backup";
  return down ? step->DescribeDown(env) : step->DescribeUp(env);
}

inline std::vector<std::string> DescribeUpOf(const StepParser& parser, const std::string& yaml) {
  return DescribeOf(parser, yaml, false);
}

/// The same for `planrun plan --rollback` (DescribeDown).
inline std::vector<std::string> DescribeDownOf(const StepParser& parser, const std::string& yaml) {
  return DescribeOf(parser, yaml, true);
}

/// A StepContext on a FakeSession and a RecordingReporter.
struct Harness {
  FakeSession db;
  RecordingReporter out;
  StepContext ctx;

  Harness() {
    ctx.db = &db;
    ctx.out = &out;
  }
  Harness(const Harness&) = delete;
  Harness& operator=(const Harness&) = delete;
};

}  // namespace testing
}  // namespace planrun
