#include "track/tracker.h"

#include <pwd.h>
#include <unistd.h>

#include <cstdlib>

#include "util/build_info.h"
#include "util/redact.h"
#include "util/sql.h"
#include "util/strings.h"

namespace planrun {

namespace {

// Each entry upgrades the layout from index to index+1. Append, never edit.
std::vector<std::string> LayoutSteps(const std::string& s) {
  const std::string q = QuoteIdent(s);
  return {
      // Layout 1.
      "CREATE TABLE " + q +
          ".schema_migrations ("
          "  version text PRIMARY KEY,"
          "  version_key numeric[] NOT NULL,"
          "  name text NOT NULL,"
          "  checksum text NOT NULL,"
          "  state text NOT NULL CHECK (state IN ('running','applied','failed','rolling_back',"
          "'rolled_back')),"
          "  attempt integer NOT NULL DEFAULT 1,"
          "  plan_file text,"
          "  started_at timestamptz NOT NULL DEFAULT now(),"
          "  finished_at timestamptz,"
          "  duration_ms bigint,"
          "  applied_by_role text NOT NULL DEFAULT current_user,"
          "  applied_by_user text,"
          "  applied_by_host text,"
          "  planrun_version text NOT NULL,"
          "  error text);"
          "CREATE TABLE " +
          q +
          ".step_runs ("
          "  version text NOT NULL,"
          "  attempt integer NOT NULL,"
          "  phase text NOT NULL CHECK (phase IN ('up','down')),"
          "  step_id text NOT NULL,"
          "  state text NOT NULL CHECK (state IN ('running','applied','failed')),"
          "  step_checksum text,"
          "  started_at timestamptz NOT NULL DEFAULT now(),"
          "  finished_at timestamptz,"
          "  duration_ms bigint,"
          "  rows_done bigint NOT NULL DEFAULT 0,"
          "  rows_total bigint,"
          "  counters jsonb NOT NULL DEFAULT '{}',"
          "  error text,"
          "  PRIMARY KEY (version, attempt, phase, step_id));"
          "CREATE TABLE " +
          q +
          ".backups ("
          "  version text NOT NULL,"
          "  step_id text NOT NULL,"
          "  table_name text NOT NULL,"
          "  location text NOT NULL,"
          "  row_count bigint NOT NULL,"
          "  checksum text NOT NULL,"
          "  created_at timestamptz NOT NULL DEFAULT now(),"
          "  PRIMARY KEY (version, step_id, table_name));",
      // Layout 2: data steps.
      "CREATE TABLE " + q +
          ".checkpoints ("
          "  version text NOT NULL,"
          "  attempt integer NOT NULL,"
          "  step_id text NOT NULL,"
          "  fingerprint text NOT NULL,"
          "  last_key text[],"
          "  batches bigint NOT NULL DEFAULT 0,"
          "  rows_read bigint NOT NULL DEFAULT 0,"
          "  rows_written bigint NOT NULL DEFAULT 0,"
          "  rows_skipped bigint NOT NULL DEFAULT 0,"
          "  rows_rejected bigint NOT NULL DEFAULT 0,"
          "  done boolean NOT NULL DEFAULT false,"
          "  updated_at timestamptz NOT NULL DEFAULT now(),"
          "  PRIMARY KEY (version, attempt, step_id));"
          "CREATE TABLE " +
          q +
          ".rejects ("
          "  id bigserial PRIMARY KEY,"
          "  version text NOT NULL,"
          "  attempt integer NOT NULL,"
          "  step_id text NOT NULL,"
          "  row_key jsonb NOT NULL,"
          "  input jsonb NOT NULL,"
          "  reason text NOT NULL,"
          "  created_at timestamptz NOT NULL DEFAULT now(),"
          "  resolved_at timestamptz);"
          "CREATE INDEX ON " +
          q + ".rejects (version, step_id) WHERE resolved_at IS NULL;",
  };
}

std::string VersionKey(const Version& v) {
  std::vector<std::string> parts;
  for (uint64_t p : v.parts) parts.push_back(std::to_string(p));
  return "{" + Join(parts, ",") + "}";
}

int64_t ToInt(const pg::Value& v) { return v ? std::stoll(*v) : 0; }

}  // namespace

Actor CurrentActor() {
  Actor a;
  if (const passwd* pw = getpwuid(geteuid())) a.os_user = pw->pw_name;
  if (a.os_user.empty() && std::getenv("USER")) a.os_user = std::getenv("USER");
  char host[256] = {0};
  if (gethostname(host, sizeof host - 1) == 0) a.host = host;
  return a;
}

std::string CountersJson(const std::map<std::string, int64_t>& counters) {
  std::string out = "{";
  for (const auto& [k, v] : counters) {
    if (out.size() > 1) out += ", ";
    out += "\"" + k + "\": " + std::to_string(v);
  }
  return out + "}";
}

std::string Tracker::Table(const char* name) const { return QuoteIdent(schema_) + "." + name; }

Status Tracker::Exists(bool* out) {
  pg::Result r;
  PLANRUN_RETURN_IF_ERROR(
      db_->Query("SELECT to_regclass($1) IS NOT NULL", {QuoteIdent(schema_) + ".layout"}, &r));
  *out = r.get(0, 0) == "t";
  return Status::OK();
}

Status Tracker::Ensure(bool in_transaction) {
  const std::string q = QuoteIdent(schema_);
  bool exists = false;
  PLANRUN_RETURN_IF_ERROR(Exists(&exists));
  if (!exists) {
    PLANRUN_RETURN_IF_ERROR(
        db_->Exec("CREATE SCHEMA IF NOT EXISTS " + q + "; CREATE TABLE IF NOT EXISTS " + q +
                  ".layout (id integer PRIMARY KEY CHECK (id = 1), version integer NOT NULL); "
                  "INSERT INTO " +
                  q + ".layout VALUES (1, 0) ON CONFLICT (id) DO NOTHING")
            .WithContext("cannot create the tracking tables in schema " + schema_));
  }
  pg::Result r;
  PLANRUN_RETURN_IF_ERROR(db_->Exec("SELECT version FROM " + q + ".layout", &r));
  int layout = std::stoi(r.get(0, 0, "0"));
  if (layout > kTrackingLayout) {
    return Status::Refused("the tracking tables in schema " + schema_ + " have layout " +
                           std::to_string(layout) + ", newer than this planrun (" +
                           kPlanrunVersion + ") understands (" + std::to_string(kTrackingLayout) +
                           "); upgrade planrun");
  }
  std::vector<std::string> steps = LayoutSteps(schema_);
  for (int next = layout; next < kTrackingLayout; ++next) {
    std::string sql =
        steps[next] + " UPDATE " + q + ".layout SET version = " + std::to_string(next + 1) + ";";
    if (!in_transaction) sql = "BEGIN; " + sql + " COMMIT";
    Status st = db_->Exec(sql);
    if (!st.ok()) {
      if (!in_transaction) db_->Exec("ROLLBACK");
      return st.WithContext("cannot create the tracking tables in schema " + schema_);
    }
  }
  return Status::OK();
}

Status Tracker::LoadMigrations(std::map<std::string, MigrationRecord>* out) {
  pg::Result r;
  PLANRUN_RETURN_IF_ERROR(db_->Exec(
      "SELECT version, name, checksum, state, attempt, coalesce(plan_file, ''), "
      "to_char(started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') || 'Z', "
      "coalesce(to_char(finished_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') || 'Z', ''), "
      "coalesce(duration_ms, 0), applied_by_role, coalesce(applied_by_user, ''), "
      "coalesce(applied_by_host, ''), planrun_version, coalesce(error, '') FROM " +
          Table("schema_migrations") + " ORDER BY version_key",
      &r));
  out->clear();
  for (size_t i = 0; i < r.rows.size(); ++i) {
    MigrationRecord m;
    m.version = r.get(i, 0);
    m.name = r.get(i, 1);
    m.checksum = r.get(i, 2);
    m.state = r.get(i, 3);
    m.attempt = static_cast<int>(ToInt(r.at(i, 4)));
    m.plan_file = r.get(i, 5);
    m.started_at = r.get(i, 6);
    m.finished_at = r.get(i, 7);
    m.duration_ms = ToInt(r.at(i, 8));
    m.applied_by_role = r.get(i, 9);
    m.applied_by_user = r.get(i, 10);
    m.applied_by_host = r.get(i, 11);
    m.planrun_version = r.get(i, 12);
    m.error = r.get(i, 13);
    (*out)[m.version] = m;
  }
  return Status::OK();
}

Status Tracker::LoadStepRuns(const std::string& version, int attempt,
                             std::vector<StepRunRecord>* out) {
  pg::Result r;
  PLANRUN_RETURN_IF_ERROR(db_->Query(
      "SELECT phase, step_id, state, coalesce(step_checksum, ''), "
      "to_char(started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') || 'Z', "
      "coalesce(to_char(finished_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') || 'Z', ''), "
      "coalesce(duration_ms, 0), rows_done, counters::text, coalesce(error, '') FROM " +
          Table("step_runs") + " WHERE version = $1 AND attempt = $2 ORDER BY started_at, step_id",
      {version, std::to_string(attempt)}, &r));
  out->clear();
  for (size_t i = 0; i < r.rows.size(); ++i) {
    StepRunRecord s;
    s.version = version;
    s.attempt = attempt;
    s.phase = r.get(i, 0);
    s.step_id = r.get(i, 1);
    s.state = r.get(i, 2);
    s.step_checksum = r.get(i, 3);
    s.started_at = r.get(i, 4);
    s.finished_at = r.get(i, 5);
    s.duration_ms = ToInt(r.at(i, 6));
    s.rows_done = ToInt(r.at(i, 7));
    s.counters = r.get(i, 8);
    s.error = r.get(i, 9);
    out->push_back(s);
  }
  return Status::OK();
}

Status Tracker::StartPlan(const Plan& plan, const Actor& actor, int* attempt) {
  pg::Result r;
  PLANRUN_RETURN_IF_ERROR(db_->Query(
      "INSERT INTO " + Table("schema_migrations") +
          " AS m (version, version_key, name, checksum, state, plan_file, applied_by_user, "
          "applied_by_host, planrun_version) VALUES ($1, $2::numeric[], $3, $4, 'running', $5, "
          "$6, $7, $8) ON CONFLICT (version) DO UPDATE SET "
          "attempt = CASE WHEN m.state = 'rolled_back' THEN m.attempt + 1 ELSE m.attempt END, "
          "name = EXCLUDED.name, checksum = EXCLUDED.checksum, state = 'running', "
          "plan_file = EXCLUDED.plan_file, applied_by_role = current_user, "
          "applied_by_user = EXCLUDED.applied_by_user, applied_by_host = EXCLUDED.applied_by_host, "
          "planrun_version = EXCLUDED.planrun_version, error = NULL, finished_at = NULL, "
          "duration_ms = NULL, started_at = CASE WHEN m.state = 'rolled_back' THEN now() "
          "ELSE m.started_at END RETURNING attempt",
      {plan.version.text, VersionKey(plan.version), plan.name, plan.checksum, plan.source.path,
       actor.os_user, actor.host, std::string(kPlanrunVersion)},
      &r));
  *attempt = static_cast<int>(ToInt(r.at(0, 0)));
  return Status::OK();
}

Status Tracker::SetPlanState(const std::string& version, const std::string& state,
                             const std::string& error) {
  const bool final = state == "applied" || state == "failed" || state == "rolled_back";
  return db_->Query("UPDATE " + Table("schema_migrations") +
                        " SET state = $2, error = nullif($3, ''), finished_at = CASE WHEN $4 "
                        "THEN now() END, duration_ms = CASE WHEN $4 THEN "
                        "(extract(epoch FROM clock_timestamp() - started_at) * 1000)::bigint END "
                        "WHERE version = $1",
                    {version, state, Redact(error), final ? "true" : "false"});
}

Status Tracker::StepRunning(const std::string& version, int attempt, const std::string& phase,
                            const std::string& step_id, const std::string& step_checksum) {
  return db_->Query(
      "INSERT INTO " + Table("step_runs") +
          " (version, attempt, phase, step_id, state, step_checksum) VALUES ($1, $2, $3, $4, "
          "'running', $5) ON CONFLICT (version, attempt, phase, step_id) DO UPDATE SET "
          "state = 'running', step_checksum = EXCLUDED.step_checksum, started_at = now(), "
          "finished_at = NULL, duration_ms = NULL, error = NULL",
      {version, std::to_string(attempt), phase, step_id, step_checksum});
}

Status Tracker::StepDone(const std::string& version, int attempt, const std::string& phase,
                         const std::string& step_id,
                         const std::map<std::string, int64_t>& counters) {
  auto rows = counters.find("rows");
  return db_->Query(
      "UPDATE " + Table("step_runs") +
          " SET state = 'applied', finished_at = clock_timestamp(), duration_ms = "
          "(extract(epoch FROM clock_timestamp() - started_at) * 1000)::bigint, counters = "
          "$5::jsonb, rows_done = $6, error = NULL WHERE version = $1 AND attempt = $2 AND "
          "phase = $3 AND step_id = $4",
      {version, std::to_string(attempt), phase, step_id, CountersJson(counters),
       std::to_string(rows == counters.end() ? 0 : rows->second)});
}

Status Tracker::StepFailed(const std::string& version, int attempt, const std::string& phase,
                           const std::string& step_id, const std::string& error) {
  return db_->Query(
      "UPDATE " + Table("step_runs") +
          " SET state = 'failed', finished_at = clock_timestamp(), duration_ms = "
          "(extract(epoch FROM clock_timestamp() - started_at) * 1000)::bigint, error = $5 "
          "WHERE version = $1 AND attempt = $2 AND phase = $3 AND step_id = $4",
      {version, std::to_string(attempt), phase, step_id, Redact(error)});
}

}  // namespace planrun
