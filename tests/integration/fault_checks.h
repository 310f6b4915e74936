// The truth about a fault trial's database (tests/faults/plans/001_fault_trial.yaml):
// what the tracking tables say committed, what the catalog and the data
// show, and the checks that `planrun status --json` and the data agree with
// them after a kill. Header-only (integration tests link only their own file
// and support.cc).
#pragma once

#include <catch2/catch.hpp>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "fault_trial.h"
#include "support.h"

namespace planrun {
namespace testing {

/// The trial data: `rows` accounts; every 97th gets no profile.
struct Scenario {
  int64_t rows = 0;
  int64_t seed_score_sum = 0;  // sum(score) before the plan

  int64_t Profiles() const { return rows - rows / 97; }
};

/// The accounts table the trial plan starts from.
inline std::string SeedSql(int64_t rows) {
  return "CREATE TABLE accounts (id bigint PRIMARY KEY, email text NOT NULL, name text NOT NULL, "
         "score integer NOT NULL, created date NOT NULL);"
         "INSERT INTO accounts SELECT i, 'user' || i || '@' || "
         "(ARRAY['example.com', 'mail.org', 'corp.net'])[1 + i % 3], 'Person ' || md5(i::text), "
         "(i * 7919) % 1000, date '2020-01-01' + (i % 1500) FROM generate_series(1, " +
         std::to_string(rows) + ") i;";
}

/// A data step's checkpoint row.
struct CheckpointRow {
  int64_t read = 0;
  int64_t written = 0;
  bool done = false;
  std::string last_key;  // "" when none
};

/// What committed: tracking rows, then the catalog and the data.
struct Facts {
  std::string state;                        // schema_migrations.state; "" when not recorded
  std::map<std::string, std::string> up;    // step -> step_runs.state, phase up
  std::map<std::string, std::string> down;  // phase down
  std::map<std::string, CheckpointRow> checkpoints;
  bool backup_table = false;  // planrun_backup.v1__backup__public__accounts
  bool score_bigint = false;
  bool profiles = false;
  bool display = false;      // accounts.display
  std::string handle_index;  // "" absent, "t" valid, "f" invalid
  std::string display_index;
  int64_t profiles_rows = -1;          // -1: no such table
  int64_t keys_rows = -1;              // the keys in the copy's __keys and __ranges
  int64_t prev_rows = -1;              // the transform's __prev table
  int64_t display_rows = -1;           // accounts with a display; -1: no column
  int64_t undisplayed_before_key = 0;  // accounts up to the transform's last key without one
  // The same for the transform through a Lua hook (grade_accounts).
  int64_t grade_prev_rows = -1;
  int64_t grade_rows = -1;
  int64_t ungraded_before_key = 0;
  int64_t grade_stages = 0;  // its read-ahead's stage tables
  int64_t score_sum = 0;
};

/// Reads the Facts of the database at `conn`.
inline Facts ReadFacts(const std::string& conn) {
  Facts f;
  const std::string tracked =
      QueryValue(conn, "SELECT to_regclass('planrun.step_runs') IS NOT NULL");
  if (tracked == "t") {
    auto m = Rows(conn, "SELECT state, attempt FROM planrun.schema_migrations WHERE version = '1'");
    if (!m.empty()) {
      f.state = m[0][0];
      const std::string attempt = m[0][1];
      for (const auto& r : Rows(conn,
                                "SELECT phase, step_id, state FROM "
                                "planrun.step_runs WHERE version = '1' AND attempt = " +
                                    attempt)) {
        (r[0] == "up" ? f.up : f.down)[r[1]] = r[2];
      }
      for (const auto& r :
           Rows(conn,
                "SELECT step_id, rows_read, rows_written, done, coalesce(last_key[1], '') "
                "FROM planrun.checkpoints WHERE version = '1' AND attempt = " +
                    attempt)) {
        f.checkpoints[r[0]] = {std::stoll(r[1]), std::stoll(r[2]), r[3] == "t", r[4]};
      }
    }
  }
  auto c = Rows(conn,
                "SELECT to_regclass('planrun_backup.v1__backup__public__accounts') IS NOT NULL, "
                "(SELECT atttypid = 'bigint'::regtype FROM pg_attribute WHERE attrelid = "
                "'accounts'::regclass AND attname = 'score'), "
                "to_regclass('public.profiles') IS NOT NULL, EXISTS (SELECT 1 FROM pg_attribute "
                "WHERE attrelid = 'accounts'::regclass AND attname = 'display' AND NOT "
                "attisdropped), (SELECT indisvalid FROM pg_index WHERE indexrelid = "
                "to_regclass('public.profiles_handle_idx')), (SELECT indisvalid FROM pg_index "
                "WHERE indexrelid = to_regclass('public.accounts_display_idx')), "
                "to_regclass('planrun_backup.v1__copy_profiles__public__profiles__keys') IS NOT "
                "NULL, to_regclass('planrun_backup.v1__fill_display__public__accounts__prev') IS "
                "NOT NULL, (SELECT sum(score) FROM accounts), "
                "to_regclass('planrun_backup.v1__grade_accounts__public__accounts__prev') IS NOT "
                "NULL, EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = 'accounts'::regclass "
                "AND attname = 'grade' AND NOT attisdropped), (SELECT count(*) FROM pg_tables "
                "WHERE schemaname = 'planrun_backup' AND tablename LIKE "
                "'v1\\_\\_grade\\_accounts\\_\\_%stage_')")[0];
  f.backup_table = c[0] == "t";
  f.score_bigint = c[1] == "t";
  f.profiles = c[2] == "t";
  f.display = c[3] == "t";
  f.handle_index = c[4] == "<null>" ? "" : c[4];
  f.display_index = c[5] == "<null>" ? "" : c[5];
  f.score_sum = std::stoll(c[8]);
  f.grade_stages = std::stoll(c[11]);
  auto count = [&](const std::string& from) {
    return std::stoll(QueryValue(conn, "SELECT count(*) FROM " + from));
  };
  if (f.profiles) f.profiles_rows = count("profiles");
  // The copy's keys: one row per key, or one (lo, hi) row per contiguous batch.
  if (c[6] == "t") {
    const std::string backup = "planrun_backup.v1__copy_profiles__public__profiles";
    f.keys_rows = count(backup + "__keys") +
                  std::stoll(QueryValue(
                      conn, "SELECT coalesce(sum(hi - lo + 1), 0) FROM " + backup + "__ranges"));
  }
  if (c[7] == "t") f.prev_rows = count("planrun_backup.v1__fill_display__public__accounts__prev");
  if (f.display) {
    f.display_rows = count("accounts WHERE display IS NOT NULL");
    auto cp = f.checkpoints.find("fill_display");
    if (cp != f.checkpoints.end() && !cp->second.last_key.empty()) {
      f.undisplayed_before_key =
          count("accounts WHERE display IS NULL AND id <= " + cp->second.last_key);
    }
  }
  if (c[9] == "t") {
    f.grade_prev_rows = count("planrun_backup.v1__grade_accounts__public__accounts__prev");
  }
  if (c[10] == "t") {
    f.grade_rows = count("accounts WHERE grade IS NOT NULL");
    auto cp = f.checkpoints.find("grade_accounts");
    if (cp != f.checkpoints.end() && !cp->second.last_key.empty()) {
      f.ungraded_before_key =
          count("accounts WHERE grade IS NULL AND id <= " + cp->second.last_key);
    }
  }
  return f;
}

/// `planrun status --json`'s plan must say what the tracking tables say;
/// `verb` is "apply" or "revert" (what the killed run was doing). A kill
/// fails nothing, but a run started right after one may have failed
/// (`second_run`), and then the error must be shown.
inline void CheckStatusTruthful(const nlohmann::json& plan, const Facts& f, const std::string& verb,
                                bool second_run) {
  INFO("status: " << plan.dump());
  std::string expected = f.state.empty()        ? "pending"
                         : f.state == "running" ? "interrupted"
                                                : f.state;
  CHECK(plan["state"] == expected);
  if (second_run && expected == "failed") {
    CHECK(plan["error"] != "");
  } else if (verb == "apply") {
    CHECK((expected == "pending" || expected == "interrupted" || expected == "applied"));
  } else {
    CHECK((expected == "applied" || expected == "rolling_back" || expected == "rolled_back"));
  }
  const auto& notes = plan["notes"];
  auto has_note = [&](const std::string& n) {
    return std::find(notes.begin(), notes.end(), n) != notes.end();
  };
  if (expected == "interrupted") {
    CHECK(
        has_note("interrupted: the run applying it ended without recording how (killed, or it "
                 "lost its connection); run planrun apply to resume it after its last commit"));
  }
  if (expected == "rolling_back") {
    CHECK(
        has_note("rollback interrupted: the run rolling it back ended without recording how; run "
                 "planrun rollback to finish it"));
  }
  int applied = 0;
  for (const auto& step : plan["steps"]) {
    const std::string id = step["id"];
    INFO("step " << id);
    auto it = f.up.find(id);
    const bool listed = it != f.up.end() && f.state != "rolled_back";
    std::string expected_step = listed ? it->second : "pending";
    if (listed && f.down.count(id)) {
      const std::string& down = f.down.at(id);
      expected_step = down == "applied"   ? "reverted"
                      : down == "running" ? "reverting"
                                          : "revert " + down;
    }
    CHECK(step["state"] == expected_step);
    if (expected_step == "applied") ++applied;
    auto cp = f.checkpoints.find(id);
    if (listed && cp != f.checkpoints.end()) {
      CHECK(step["rows_done"] == (it->second == "applied" ? cp->second.written : cp->second.read));
    }
  }
  CHECK(plan["steps_done"] == applied);
  CHECK(plan["steps_total"] == plan["steps"].size());
}

/// Each step's effect is in the database exactly when the tracking tables
/// say it committed; a data step's partial work matches its checkpoint.
inline void CheckEffects(const Facts& f, const Scenario& s, const std::string& verb) {
  INFO("plan state " << f.state);
  auto up = [&](const std::string& id) { return f.up.count(id) && f.up.at(id) == "applied"; };
  auto down = [&](const std::string& id) { return f.down.count(id) && f.down.at(id) == "applied"; };
  // Transactional steps and reverts: all or nothing with their step_runs row.
  auto present = [&](const std::string& id) { return up(id) && !down(id); };
  CHECK(f.backup_table == present("backup"));
  CHECK(f.score_bigint == present("widen_score"));
  CHECK(f.profiles == present("create_profiles"));
  CHECK(f.display == present("display_column"));
  // Index builds and drops run outside a transaction: only a finished one says
  // anything, and an index whose drop was interrupted may or may not be there.
  for (const auto& [id, index] :
       {std::pair<std::string, std::string>{"profiles_handle_index", f.handle_index},
        {"accounts_display_index", f.display_index}}) {
    INFO("step " << id);
    if (up(id) && !f.down.count(id)) CHECK(index == "t");
    if (down(id)) CHECK(index == "");
  }

  auto cp = [&](const std::string& id) {
    auto it = f.checkpoints.find(id);
    return it == f.checkpoints.end() ? CheckpointRow() : it->second;
  };
  // The copy: target rows and saved keys are exactly the checkpoint's.
  const int64_t copied = present("copy_profiles") ? s.Profiles()
                         : down("copy_profiles")  ? 0
                                                  : cp("copy_profiles").written;
  if (f.profiles) CHECK(f.profiles_rows == copied);
  if (down("copy_profiles")) {
    CHECK(f.keys_rows == -1);
  } else if (f.keys_rows >= 0 || copied > 0) {
    CHECK(f.keys_rows == copied);
  }
  // The transform: each row changed once, in key order, previous values saved.
  const int64_t changed = present("fill_display") ? s.rows
                          : down("fill_display")  ? 0
                                                  : cp("fill_display").written;
  if (f.display) CHECK(f.display_rows == changed);
  CHECK(f.undisplayed_before_key == 0);
  if (down("fill_display")) {
    CHECK(f.prev_rows == -1);
  } else if (f.prev_rows >= 0 || changed > 0) {
    CHECK(f.prev_rows == changed);
  }
  // The transform through a hook, which reads ahead without row locks: the
  // same, and its stage tables go with the step's revert.
  const int64_t graded = present("grade_accounts") ? s.rows
                         : down("grade_accounts")  ? 0
                                                   : cp("grade_accounts").written;
  if (f.grade_rows >= 0) CHECK(f.grade_rows == graded);
  CHECK(f.ungraded_before_key == 0);
  if (down("grade_accounts")) {
    CHECK(f.grade_prev_rows == -1);
    CHECK(f.grade_stages == 0);
  } else if (f.grade_prev_rows >= 0 || graded > 0) {
    CHECK(f.grade_prev_rows == graded);
  }
  if (present("grade_accounts")) CHECK(f.grade_stages == 0);
  // Each transform added 1 to every score it wrote.
  CHECK(f.score_sum == s.seed_score_sum + changed + graded);
  if (verb == "apply") CHECK(f.down.empty());
}

}  // namespace testing
}  // namespace planrun
