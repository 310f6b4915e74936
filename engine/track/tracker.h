// Tracker: planrun's own tables in the tracking schema (default "planrun"):
//
//   schema_migrations  one row per plan version: name, checksum, state
//                      (running, applied, failed, rolling_back, rolled_back),
//                      attempt, times, who applied it, planrun version, error
//   step_runs          one row per (version, attempt, phase, step): state
//                      (running, applied, failed), times, counters, error
//   backups            one row per table saved by a backup step
//   checkpoints        a data step's progress: last key and counters,
//                      written in the same transaction as each batch
//   rejects            rows a data step's hook rejected, with the reason
//   layout             the version of this layout, so newer planrun releases
//                      upgrade older tables in place (Ensure)
//
// Writes that must be atomic with a step's effect (StepDone) run on the
// caller's session inside the caller's transaction; the others are single
// autocommit statements. Not thread-safe: one Tracker per session.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "pg/session.h"
#include "plan/plan.h"

namespace planrun {

/// The tracking layout this build creates and understands.
inline constexpr int kTrackingLayout = 2;

/// One row of schema_migrations.
struct MigrationRecord {
  std::string version;
  std::string name;
  std::string checksum;
  std::string state;
  int attempt = 1;
  std::string plan_file;
  std::string started_at;
  std::string finished_at;
  int64_t duration_ms = 0;
  std::string applied_by_role;
  std::string applied_by_user;
  std::string applied_by_host;
  std::string planrun_version;
  std::string error;
};

/// One row of step_runs.
struct StepRunRecord {
  std::string version;
  int attempt = 1;
  std::string phase;  // "up" (apply) or "down" (rollback)
  std::string step_id;
  std::string state;  // running, applied, failed
  std::string step_checksum;
  std::string started_at;
  std::string finished_at;
  int64_t duration_ms = 0;
  int64_t rows_done = 0;
  std::string counters;  // JSON object text
  std::string error;
};

/// Who runs planrun, recorded with every plan.
struct Actor {
  std::string os_user;
  std::string host;
};

/// The current OS user and host name.
Actor CurrentActor();

/// Reads and writes the tracking tables.
class Tracker {
 public:
  Tracker(pg::Session* db, std::string schema) : db_(db), schema_(std::move(schema)) {}

  /// Creates the schema and tables, or upgrades an older layout. Idempotent;
  /// call under the migration lock. Refuses a layout newer than this build.
  /// With `in_transaction` the caller's open transaction is used (dry run);
  /// otherwise each layout step commits on its own.
  Status Ensure(bool in_transaction = false);
  /// Whether the tracking tables exist (status and rollback must not create them).
  Status Exists(bool* out);

  /// Every schema_migrations row, keyed by version text.
  Status LoadMigrations(std::map<std::string, MigrationRecord>* out);
  /// The step_runs rows of one attempt of a plan.
  Status LoadStepRuns(const std::string& version, int attempt, std::vector<StepRunRecord>* out);

  /// Marks `plan` running for a new attempt (first apply, or after a
  /// rollback) or for the same attempt (resuming a failed or interrupted
  /// apply); *attempt receives the attempt number.
  Status StartPlan(const Plan& plan, const Actor& actor, int* attempt);
  /// Sets a plan's state (and error, finished_at, duration when final).
  Status SetPlanState(const std::string& version, const std::string& state,
                      const std::string& error = "");

  /// Records a step as running (autocommit, before its transaction opens).
  Status StepRunning(const std::string& version, int attempt, const std::string& phase,
                     const std::string& step_id, const std::string& step_checksum);
  /// Records a step as applied; run inside the step's own transaction.
  Status StepDone(const std::string& version, int attempt, const std::string& phase,
                  const std::string& step_id, const std::map<std::string, int64_t>& counters);
  /// Records a step as failed with its error (autocommit).
  Status StepFailed(const std::string& version, int attempt, const std::string& phase,
                    const std::string& step_id, const std::string& error);

  const std::string& schema() const { return schema_; }

 private:
  std::string Table(const char* name) const;
  pg::Session* db_;
  std::string schema_;
};

/// Counters as a JSON object text: {"rows": 42}.
std::string CountersJson(const std::map<std::string, int64_t>& counters);

}  // namespace planrun
