#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/context.h"
#include "track/checkpoints.h"
#include "track/tracker.h"

namespace planrun {

Status CmdRejects(const Invocation& inv, Reporter& out) {
  RunEnv env = MakeRunEnv(inv, out, "rejects");
  std::unique_ptr<pg::Session> session;
  PLANRUN_RETURN_IF_ERROR(env.sessions(env.AppName(), &session));
  Tracker tracker(session.get(), env.names.tracking);
  bool exists = false;
  PLANRUN_RETURN_IF_ERROR(tracker.Exists(&exists));
  std::vector<Reject> rejects;
  if (exists) {
    PLANRUN_RETURN_IF_ERROR(
        ListRejects(*session, env.names.tracking, inv.plan_version, inv.rejects_step, &rejects));
  }
  if (inv.rejects_json) {
    nlohmann::json list = nlohmann::json::array();
    for (const Reject& r : rejects) {
      list.push_back({{"id", r.id},
                      {"step", r.step_id},
                      {"key", nlohmann::json::parse(r.row_key, nullptr, false)},
                      {"input", nlohmann::json::parse(r.input, nullptr, false)},
                      {"reason", r.reason},
                      {"created_at", r.created_at}});
    }
    out.Out(list.dump(2, ' ', false, nlohmann::json::error_handler_t::replace));
    return Status::OK();
  }
  if (rejects.empty()) {
    out.Out("no rejected rows");
    return Status::OK();
  }
  std::string text;
  for (const Reject& r : rejects) {
    text += r.step_id + " key " + r.row_key + " at " + r.created_at + "\n  reason: " + r.reason +
            "\n  input:  " + r.input + "\n";
  }
  text += std::to_string(rejects.size()) + (rejects.size() == 1 ? " row" : " rows") +
          " rejected; fix the hook or the data, then run planrun apply --retry-rejects";
  out.Out(text);
  return Status::OK();
}

}  // namespace planrun
