#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/context.h"
#include "pg/conninfo.h"
#include "run/status.h"
#include "util/strings.h"

namespace planrun {

namespace {

// `s` padded to `width` plus a two-space gap.
std::string Pad(const std::string& s, size_t width) {
  return s + std::string(width - std::min(width, s.size()) + 2, ' ');
}

std::string FirstLine(const std::string& s) { return s.substr(0, s.find('\n')); }

std::string Table(const std::vector<PlanState>& states) {
  std::vector<std::vector<std::string>> rows = {
      {"VERSION", "NAME", "STATE", "STEPS", "APPLIED AT", "DURATION"}};
  for (const PlanState& s : states) {
    rows.push_back({s.version, s.name, s.state,
                    std::to_string(s.steps_done) + "/" + std::to_string(s.steps_total),
                    s.applied_at.empty() || s.state != "applied" ? "-" : s.applied_at,
                    s.duration_ms && s.state == "applied" ? HumanDuration(s.duration_ms) : "-"});
  }
  std::vector<size_t> width(rows[0].size(), 0);
  for (const auto& r : rows) {
    for (size_t c = 0; c < r.size(); ++c) width[c] = std::max(width[c], r[c].size());
  }
  std::string out;
  for (size_t i = 0; i < rows.size(); ++i) {
    std::string line;
    for (size_t c = 0; c < rows[i].size(); ++c) {
      line += c + 1 < rows[i].size() ? Pad(rows[i][c], width[c]) : rows[i][c];
    }
    out += Trim(line) + "\n";
    if (i == 0) continue;
    const PlanState& s = states[i - 1];
    for (const std::string& note : s.notes) out += "  ! " + note + "\n";
    if (s.state == "pending" || s.state == "applied" || s.state == "rolled_back") continue;
    for (const StepState& step : s.steps) {
      std::string detail = step.state;
      if (step.duration_ms) detail += " in " + HumanDuration(step.duration_ms);
      if (step.rows_done) detail += ", " + std::to_string(step.rows_done) + " rows";
      if (!step.error.empty()) detail += ": " + FirstLine(step.error);
      out += "    " + Pad(step.id, 20) + detail + "\n";
    }
  }
  return out;
}

nlohmann::json Json(const std::vector<PlanState>& states, const std::string& target,
                    const std::string& schema) {
  nlohmann::json plans = nlohmann::json::array();
  for (const PlanState& s : states) {
    nlohmann::json steps = nlohmann::json::array();
    for (const StepState& st : s.steps) {
      steps.push_back({{"id", st.id},
                       {"kind", st.kind},
                       {"state", st.state},
                       {"duration_ms", st.duration_ms},
                       {"rows_done", st.rows_done},
                       {"error", st.error}});
    }
    plans.push_back({{"version", s.version},
                     {"name", s.name},
                     {"file", s.file},
                     {"state", s.state},
                     {"attempt", s.attempt},
                     {"applied_at", s.applied_at},
                     {"duration_ms", s.duration_ms},
                     {"applied_by", s.applied_by},
                     {"error", s.error},
                     {"drift", s.drift},
                     {"file_missing", s.file_missing},
                     {"out_of_order", s.out_of_order},
                     {"steps_done", s.steps_done},
                     {"steps_total", s.steps_total},
                     {"steps", steps},
                     {"notes", s.notes}});
  }
  return {{"database", target}, {"schema", schema}, {"plans", plans}};
}

}  // namespace

Status CmdStatus(const Invocation& inv, Reporter& out) {
  std::vector<std::unique_ptr<Plan>> plans;
  PLANRUN_RETURN_IF_ERROR(LoadAllPlans(inv, &plans));
  RunEnv env = MakeRunEnv(inv, out, "status");
  std::vector<PlanState> states;
  PLANRUN_RETURN_IF_ERROR(CollectStatus(plans, env, &states));
  const std::string target = pg::DescribeTarget(pg::ResolveConninfo(inv.global.db));
  if (inv.status_json) {
    out.Out(Json(states, target, inv.global.schema)
                .dump(2, ' ', false, nlohmann::json::error_handler_t::replace));
  } else {
    out.Out("database " + target + ", tracking schema " + inv.global.schema + "\n\n" +
            (states.empty() ? std::string("no plans in ") + inv.global.plans_dir + "\n"
                            : Table(states)));
  }
  return Status::OK();
}

}  // namespace planrun
