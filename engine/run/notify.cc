#include "run/notify.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "net/http_client.h"
#include "steps/objects_spec.h"
#include "util/redact.h"

namespace planrun {

namespace {

/// Whether the run left the plan where the command meant it to be.
bool Succeeded(const std::string& command, const std::string& state) {
  return state == (command == "rollback" ? "rolled_back" : "applied");
}

/// "https://hooks.example.com" of a webhook URL: its path may be its secret.
std::string HostOf(const std::string& url) {
  const size_t scheme = url.find("://");
  const size_t slash = url.find('/', scheme == std::string::npos ? 0 : scheme + 3);
  return Redact(url.substr(0, slash));
}

Status OpenTracker(RunEnv& env, std::unique_ptr<pg::Session>* db, bool* exists) {
  *exists = false;
  if (!env.sessions) return Status::OK();
  PLANRUN_RETURN_IF_ERROR(env.sessions(env.AppName(), db));
  Tracker tracker(db->get(), env.names.tracking);
  return tracker.Exists(exists);
}

bool AnyWebhooks(const std::vector<std::unique_ptr<Plan>>& plans) {
  return std::any_of(plans.begin(), plans.end(), [](const auto& p) { return !p->notify.empty(); });
}

}  // namespace

RunSnapshot TakeRunSnapshot(const std::vector<std::unique_ptr<Plan>>& plans, RunEnv& env) {
  RunSnapshot snap;
  if (!AnyWebhooks(plans)) return snap;
  std::unique_ptr<pg::Session> db;
  bool exists = false;
  if (OpenTracker(env, &db, &exists).ok() && exists) {
    Tracker(db.get(), env.names.tracking).LoadMigrations(&snap.migrations);
  }
  return snap;
}

std::string NotificationBody(const std::string& command, const MigrationRecord& record,
                             const std::vector<StepRunRecord>& steps) {
  nlohmann::json steps_json = nlohmann::json::array();
  const std::string phase = command == "rollback" ? "down" : "up";
  for (const StepRunRecord& s : steps) {
    if (s.phase != phase) continue;
    nlohmann::json counters =
        nlohmann::json::parse(s.counters.empty() ? "{}" : s.counters, nullptr, false);
    if (counters.is_discarded()) counters = nlohmann::json::object();
    steps_json.push_back({{"id", s.step_id}, {"state", s.state}, {"counters", counters}});
  }
  nlohmann::json body = {{"command", command},
                         {"plan", record.name},
                         {"version", record.version},
                         {"state", record.state},
                         {"outcome", Succeeded(command, record.state) ? "success" : "failure"},
                         {"duration_ms", record.duration_ms},
                         {"error", record.error},
                         {"steps", steps_json}};
  return Redact(body.dump());
}

void NotifyAfterRun(const std::vector<std::unique_ptr<Plan>>& plans, const RunSnapshot& before,
                    const std::string& command, RunEnv& env) {
  if (!AnyWebhooks(plans)) return;
  std::unique_ptr<pg::Session> db;
  bool exists = false;
  Status st = OpenTracker(env, &db, &exists);
  if (!st.ok()) {
    env.out->Warn("notify: cannot read the tracking tables: " + st.message());
    return;
  }
  if (!exists) return;
  Tracker tracker(db.get(), env.names.tracking);
  std::map<std::string, MigrationRecord> after;
  st = tracker.LoadMigrations(&after);
  if (!st.ok()) {
    env.out->Warn("notify: cannot read the tracking tables: " + st.message());
    return;
  }
  net::ClientOptions options;
  options.retries = 3;
  options.timeout_ms = 10000;
  options.backoff.initial_ms = 500;
  net::Client client(options);
  for (const auto& plan : plans) {
    if (plan->notify.empty()) continue;
    auto now = after.find(plan->version.text);
    if (now == after.end()) continue;
    auto was = before.migrations.find(plan->version.text);
    const MigrationRecord& r = now->second;
    if (was != before.migrations.end() && was->second.state == r.state &&
        was->second.attempt == r.attempt && was->second.finished_at == r.finished_at &&
        was->second.started_at == r.started_at) {
      continue;  // this run did not touch the plan
    }
    const std::string outcome = Succeeded(command, r.state) ? "success" : "failure";
    std::vector<StepRunRecord> steps;
    tracker.LoadStepRuns(r.version, r.attempt, &steps);
    const std::string body = NotificationBody(command, r, steps);
    for (const NotifyTarget& target : plan->notify) {
      if (std::find(target.on.begin(), target.on.end(), outcome) == target.on.end()) continue;
      std::string url;
      st = ExpandEnv(target.url, "notify url of plan " + plan->version.text, &url);
      if (!st.ok()) {
        env.out->Warn("notify: " + st.message() + "; no notification sent");
        continue;
      }
      net::Request post = net::MakeRequest("POST", url);
      post.body = body;
      post.headers = {{"Content-Type", "application/json"}};
      net::Response resp = client.Run(post);
      if (resp.ok()) {
        env.out->Info("notify: told " + HostOf(url) + " that plan " + r.version + " " + r.name +
                      " is " + r.state);
      } else {
        env.out->Warn("notify " + HostOf(url) + ": " + resp.Describe() + "; the outcome of plan " +
                      r.version + " is unchanged");
      }
    }
  }
}

}  // namespace planrun
