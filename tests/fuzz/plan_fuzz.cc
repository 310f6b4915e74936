// libFuzzer target for the plan parser and compiler: any bytes given as a
// plan file must either be refused with a located error or parse into a plan
// that BuildGraph accepts or refuses cleanly and that FormatPlan renders in
// every format. Crashes, sanitizer reports and hangs are the findings.
//
// The file lives in a directory that does not exist, so hook files, `require`d
// modules and `../` paths named by a plan are never read from the disk.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "graph/format.h"
#include "graph/graph.h"
#include "plan/parser.h"
#include "steps/builtin.h"

namespace planrun {
namespace {

constexpr char kPlanPath[] = "/nonexistent-planrun-fuzz/plans/plan.yaml";

/// Aborts with `what` and the error text when a refusal names neither the
/// plan file ("path:line:col: error: ...") nor its inline hook ("hook
/// path:line: ..." for Lua syntax errors).
void CheckLocated(const char* what, const Status& st) {
  if (st.ok()) return;
  const std::string& m = st.message();
  if (m.rfind(kPlanPath, 0) == 0 || m.rfind(std::string("hook ") + kPlanPath + ":", 0) == 0) {
    return;
  }
  std::fprintf(stderr, "%s: the error does not name the plan file:\n%s\n", what, m.c_str());
  std::abort();
}

/// Renders `plan` in every format; each must be non-empty, and text and JSON
/// end in a newline (graph/format.h).
void FormatAll(const Plan& plan, const Graph& steps, const Graph* rollback) {
  static const PlanFormat kFormats[] = {PlanFormat::kText, PlanFormat::kJson, PlanFormat::kDot,
                                        PlanFormat::kMermaid};
  SchemaNames names;
  for (PlanFormat f : kFormats) {
    std::string out = FormatPlan(plan, steps, rollback, names, f);
    const bool needs_newline = f == PlanFormat::kText || f == PlanFormat::kJson;
    if (out.empty() || (needs_newline && out.back() != '\n')) {
      std::fprintf(stderr, "FormatPlan format %d is empty or has no final newline:\n%s\n",
                   static_cast<int>(f), out.c_str());
      std::abort();
    }
  }
}

void ParseAndCompile(const std::string& text) {
  SourceFile file{kPlanPath, text};
  Plan plan;
  Status st = ParsePlan(file, BuiltinSteps(), &plan);
  CheckLocated("ParsePlan", st);
  if (!st.ok()) return;
  Graph steps;
  st = BuildGraph(plan, plan.steps, {}, &steps);
  CheckLocated("BuildGraph(steps)", st);
  if (!st.ok()) return;
  Graph rollback;
  if (plan.has_rollback) {
    st = BuildGraph(plan, plan.rollback, {}, &rollback);
    CheckLocated("BuildGraph(rollback)", st);
    if (!st.ok()) return;
  }
  FormatAll(plan, steps, plan.has_rollback ? &rollback : nullptr);
}

}  // namespace
}  // namespace planrun

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  planrun::ParseAndCompile(std::string(reinterpret_cast<const char*>(data), size));
  return 0;
}
