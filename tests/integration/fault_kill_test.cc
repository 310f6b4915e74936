// Kill trials: SIGKILL `planrun apply` at seeded random instants of
// tests/faults/plans/001_fault_trial.yaml (a backup, DDL, a copy through a Lua
// hook, in-place transforms in SQL and through a Lua hook, and index builds
// over PLANRUN_FAULT_ROWS rows),
// check that `planrun status --json` and the tracking tables tell the truth
// about what committed, re-run apply, and compare the database with an
// uninterrupted run: schema dump and ordered per-table checksums, so no row
// is lost or doubled. Then the same for `planrun rollback`, against the
// database as it was before the plan.
//
// Instants: two in nine uniform over the reference run, the rest aimed at a
// phase by waiting for one of planrun's -v lines and then a random delay
// within that phase's reference duration. A quarter of the trials also kill
// the resumed run, started at once while the killed run's statements may
// still be running. Environment:
//   PLANRUN_FAULT_SEED (20261121)   PLANRUN_FAULT_TRIALS (30)
//   PLANRUN_FAULT_ROWS (200000)     PLANRUN_FAULT_ROLLBACK_TRIALS (trials / 5)
//   PLANRUN_FAULT_ONLY_TRIAL (run this apply trial alone, to reproduce it)
#include <catch2/catch.hpp>
#include <iostream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>

#include "fault_checks.h"
#include "fault_process.h"
#include "fault_trial.h"
#include "support.h"

namespace planrun {
namespace testing {
namespace {

const char kSeedDb[] = "fault_seed";
const char kRefDb[] = "fault_ref";
const char kTrialDb[] = "fault_trial";

/// How a trial picks its instant.
struct Aim {
  std::string name;      // what it aims at: "uniform", "copy between batches", ...
  std::string trigger;   // the stderr line to wait for; "" for the process start
  int64_t delay_ms = 0;  // after the trigger
};

/// A kill and what it hit.
struct Kill {
  Aim aim;
  bool landed = false;  // the run was still going
  std::string phase;    // LandedPhase()
  int64_t at_ms = 0;    // when, after the process started
};

/// What all trials did, for the summary line.
struct Totals {
  int trials = 0;
  int kills = 0;
  int resumed_kills = 0;
  std::map<std::string, int> phases;
  int64_t rows_compared = 0;
  int64_t longest_session_wait_ms = 0;
  int invalid_indexes_left = 0;
  std::map<std::string, int> resumed_failures;  // first line of the error -> runs

  /// One line with every total, to quote.
  std::string Summary(const std::string& what, uint64_t seed) const {
    std::ostringstream s;
    s << what << ": seed " << seed << ", " << trials << " trials, " << kills << " kills landed (+"
      << resumed_kills << " in resumed runs); phases:";
    for (const auto& [phase, n] : phases) s << " " << phase << " " << n << ";";
    s << " " << rows_compared << " rows compared; longest wait for the killed run's sessions "
      << longest_session_wait_ms << "ms; invalid indexes left by a kill " << invalid_indexes_left;
    for (const auto& [error, n] : resumed_failures) {
      s << "; a resumed run failed " << n << "x: " << error;
    }
    return s.str();
  }
};

/// The directory of the trial plan.
std::string PlansDir() { return SourceDir() + "/tests/faults/plans"; }

/// A uniform integer in [lo, max(lo, hi)].
int64_t Uniform(std::mt19937_64& rng, int64_t lo, int64_t hi) {
  return std::uniform_int_distribution<int64_t>(lo, std::max(lo, hi))(rng);
}

/// The phase of each step of the trial plan.
const std::map<std::string, std::string>& PhaseOfStep() {
  static const std::map<std::string, std::string> m = {{"backup", "backup"},
                                                       {"widen_score", "ddl"},
                                                       {"create_profiles", "ddl"},
                                                       {"display_column", "ddl"},
                                                       {"copy_profiles", "copy"},
                                                       {"fill_display", "transform"},
                                                       {"grade_accounts", "transform with a hook"},
                                                       {"profiles_handle_index", "index build"},
                                                       {"accounts_display_index", "index build"},
                                                       {"check", "verify"}};
  return m;
}

/// TableChecksums() of `db` once the last run's sessions are gone.
std::string Checksums(const std::string& db) {
  WaitForSessionsToEnd(db);
  return TableChecksums("dbname=" + db, SkippedSchemas("dbname=" + db));
}

/// Everything the trials compare against, made once.
struct Reference {
  Scenario scenario;
  std::string seed_tables, seed_schema;  // before the plan
  std::string tables, schema;            // after an uninterrupted apply
  Timeline apply, rollback;
  Timeline apply_grade;  // apply, with the batches of grade_accounts' hook
};

const Reference& Ref() {
  static const Reference ref = [] {
    Reference r;
    r.scenario.rows = EnvInt("PLANRUN_FAULT_ROWS", 200000);
    const std::string seed = FreshDatabase(kSeedDb);
    ExecSql(seed, SeedSql(r.scenario.rows));
    ExecSql(seed, "VACUUM ANALYZE accounts");
    r.scenario.seed_score_sum = std::stoll(QueryValue(seed, "SELECT sum(score) FROM accounts"));
    r.seed_tables = Checksums(kSeedDb);
    r.seed_schema = SchemaDump(kSeedDb, kOwnSchemas);

    CloneDatabase(kRefDb, kSeedDb);
    PlanrunProcess apply(kRefDb, {"--plans", PlansDir(), "-v", "apply"});
    REQUIRE(apply.Wait() == 0);
    r.apply = ReadTimeline(apply.lines(), "apply", "copy_profiles", apply.ElapsedMs());
    r.apply_grade = ReadTimeline(apply.lines(), "apply", "grade_accounts", apply.ElapsedMs());
    r.tables = Checksums(kRefDb);
    r.schema = SchemaDump(kRefDb, kOwnSchemas);

    CloneDatabase(kTrialDb, kRefDb);
    PlanrunProcess rollback(kTrialDb, {"--plans", PlansDir(), "-v", "rollback"});
    INFO(rollback.err());
    REQUIRE(rollback.Wait() == 0);
    r.rollback = ReadTimeline(rollback.lines(), "revert", "", rollback.ElapsedMs());
    // An uninterrupted rollback gives back exactly the database before the plan.
    REQUIRE(Checksums(kTrialDb) == r.seed_tables);
    REQUIRE(SchemaDump(kTrialDb, kOwnSchemas) == r.seed_schema);
    std::cout << "fault trials: " << r.scenario.rows << " rows; uninterrupted apply "
              << r.apply.total_ms << "ms, rollback " << r.rollback.total_ms << "ms" << std::endl;
    return r;
  }();
  return ref;
}

/// An instant for an apply trial: kinds take turns so every phase gets hit.
/// The batch aims take the copy's hook or the hooked transform's in turn
/// (the latter logs batch N when it reads ahead, while batch N-1 is written).
Aim ChooseApplyAim(int trial, std::mt19937_64& rng, const Reference& ref) {
  const Timeline& t = ref.apply;
  auto within = [&](const std::string& name, const std::string& step) {
    return Aim{name, "applying step " + step + " ", Uniform(rng, 0, t.Duration(step))};
  };
  const bool graded = trial % 2 == 1;
  const std::string hooked = graded ? "grade_accounts" : "copy_profiles";
  const std::string kind = graded ? "transform with a hook" : "copy";
  const Timeline& hook = graded ? ref.apply_grade : ref.apply;
  const int64_t batches = static_cast<int64_t>(hook.batch_ms.size());
  const int64_t batch_gap =
      batches > 1 ? (hook.batch_ms.back() - hook.batch_ms.front()) / (batches - 1) : 0;
  switch (trial % 9) {
    case 1:
      return within("ddl", Uniform(rng, 0, 2) == 0 ? "display_column" : "widen_score");
    case 2:
      return within("backup", "backup");
    case 3:
      return Aim{kind + " mid-batch",
                 "hook " + hooked + ": batch " + std::to_string(Uniform(rng, 2, batches)),
                 Uniform(rng, 1, batch_gap)};
    case 4:
      return Aim{kind + " between batches",
                 "hook " + hooked + ": batch " + std::to_string(Uniform(rng, 2, batches)), 0};
    case 5:
      return graded ? within("transform with a hook", "grade_accounts")
                    : within("transform", "fill_display");
    case 6:
      return within("index build",
                    Uniform(rng, 0, 1) ? "profiles_handle_index" : "accounts_display_index");
    case 7:
      // The closing summary comes right after the checkpoint is marked
      // done, before the step's step_runs row is.
      return Aim{"data step finishing",
                 (graded               ? "transform grade_accounts: "
                  : Uniform(rng, 0, 1) ? "copy copy_profiles: "
                                       : "transform fill_display: ") +
                     std::to_string(ref.scenario.rows) + " read, ",
                 0};
    default:
      return Aim{"uniform", "", Uniform(rng, 0, t.total_ms)};
  }
}

/// Starts `args` on the trial database and kills it as `aim` says.
Kill RunAndKill(const std::vector<std::string>& args, const Aim& aim, const std::string& verb,
                size_t steps_total) {
  PlanrunProcess p(kTrialDb, args);
  if (!aim.trigger.empty()) p.WaitForLine(aim.trigger, std::chrono::minutes(2));
  p.PumpUntil(PlanrunProcess::Clock::now() + std::chrono::milliseconds(aim.delay_ms));
  Kill k;
  k.aim = aim;
  k.at_ms = p.ElapsedMs();
  k.landed = p.Kill();
  p.Wait();
  k.phase =
      k.landed ? LandedPhase(p.lines(), verb, PhaseOfStep(), steps_total) : "after the run ended";
  return k;
}

/// `planrun status --json` of the trial database: its one plan.
nlohmann::json StatusJson() {
  CommandResult st = Planrun(kTrialDb, {"--plans", PlansDir(), "status", "--json"});
  INFO(st.err);
  REQUIRE(st.exit_code == 0);
  nlohmann::json j = nlohmann::json::parse(st.out);
  REQUIRE(j["plans"].size() == 1);
  return j["plans"][0];
}

/// Compares the trial database with `tables` and `schema`; counts the rows.
void CheckSameAs(const std::string& tables, const std::string& schema, Totals* totals) {
  const std::string got = Checksums(kTrialDb);
  CHECK(got == tables);
  CHECK(SchemaDump(kTrialDb, kOwnSchemas) == schema);
  totals->rows_compared += RowsIn(got);
}

/// Status and the data must agree with what the tracking tables say
/// committed; `second_run`: a run was started right after a kill.
Facts CheckTruth(const std::string& verb, bool second_run, std::string* error = nullptr) {
  const Facts facts = ReadFacts("dbname=" + std::string(kTrialDb));
  const nlohmann::json plan = StatusJson();
  CheckStatusTruthful(plan, facts, verb, second_run);
  CheckEffects(facts, Ref().scenario, verb);
  if (error) *error = plan["error"].get<std::string>();
  return facts;
}

/// After a kill: wait for the dead run's sessions, then check the truth.
Facts AfterKill(const std::string& verb, bool second_run, Totals* totals) {
  totals->longest_session_wait_ms =
      std::max(totals->longest_session_wait_ms, WaitForSessionsToEnd(kTrialDb));
  std::string error;
  const Facts facts = CheckTruth(verb, second_run, &error);
  if (facts.state == "failed") ++totals->resumed_failures[error.substr(0, error.find('\n'))];
  for (const auto& [step, index] :
       {std::pair<std::string, std::string>{"profiles_handle_index", facts.handle_index},
        {"accounts_display_index", facts.display_index}}) {
    if (facts.up.count(step) && facts.up.at(step) != "applied" && index == "f") {
      ++totals->invalid_indexes_left;
    }
  }
  return facts;
}

/// One apply trial: kill, check, maybe kill the resumed run, finish, compare.
void ApplyTrial(int trial, uint64_t seed, Totals* totals) {
  std::mt19937_64 rng(seed * 1000003 + static_cast<uint64_t>(trial));
  const Reference& ref = Ref();
  const Aim aim = ChooseApplyAim(trial, rng, ref);
  const bool kill_resumed = Uniform(rng, 0, 3) == 0;
  const int64_t resumed_delay = Uniform(rng, 0, ref.apply.total_ms / 2);
  INFO("apply trial " << trial << " (PLANRUN_FAULT_SEED=" << seed
                      << " PLANRUN_FAULT_ONLY_TRIAL=" << trial << "): " << aim.name << ", '"
                      << aim.trigger << "' + " << aim.delay_ms << "ms");
  CloneDatabase(kTrialDb, kSeedDb);
  const std::vector<std::string> args = {"--plans", PlansDir(), "-v", "apply"};
  Kill k = RunAndKill(args, aim, "apply", ref.apply.steps.size());
  ++totals->trials;
  INFO("landed: " << k.phase << " at " << k.at_ms << "ms");
  if (k.landed) {
    ++totals->kills;
    ++totals->phases[k.phase];
  }
  if (kill_resumed && k.landed) {
    // At once: the killed run's statements may still be running, and its
    // lock must not block this run.
    Kill again =
        RunAndKill(args, Aim{"resumed", "", resumed_delay}, "apply", ref.apply.steps.size());
    INFO("resumed run killed at " << again.at_ms << "ms: " << again.phase);
    if (again.landed) ++totals->resumed_kills;
  }
  AfterKill("apply", kill_resumed && k.landed, totals);
  CommandResult finish = Planrun(kTrialDb, {"--plans", PlansDir(), "apply"});
  INFO(finish.err);
  REQUIRE(finish.exit_code == 0);
  const Facts done = CheckTruth("apply", false);
  CHECK(done.state == "applied");
  CHECK(done.up.size() == ref.apply.steps.size());
  CheckSameAs(ref.tables, ref.schema, totals);
}

/// An instant for a rollback trial: uniform, or inside a step's revert.
Aim ChooseRollbackAim(int trial, std::mt19937_64& rng, const Timeline& t) {
  static const char* const kAimed[] = {"fill_display", "grade_accounts", "copy_profiles",
                                       "widen_score", "profiles_handle_index"};
  if (trial % 2 == 0) return Aim{"uniform", "", Uniform(rng, 0, t.total_ms)};
  const std::string step = kAimed[(trial / 2) % 5];
  return Aim{"revert " + step, "reverting step " + step + " ", Uniform(rng, 0, t.Duration(step))};
}

/// One rollback trial on a copy of the applied reference.
void RollbackTrial(int trial, uint64_t seed, Totals* totals) {
  std::mt19937_64 rng(seed * 1000033 + static_cast<uint64_t>(trial));
  const Reference& ref = Ref();
  const Aim aim = ChooseRollbackAim(trial, rng, ref.rollback);
  INFO("rollback trial " << trial << " (PLANRUN_FAULT_SEED=" << seed << "): " << aim.name << ", '"
                         << aim.trigger << "' + " << aim.delay_ms << "ms");
  CloneDatabase(kTrialDb, kRefDb);
  Kill k = RunAndKill({"--plans", PlansDir(), "-v", "rollback"}, aim, "revert",
                      ref.rollback.steps.size());
  ++totals->trials;
  INFO("landed: " << k.phase << " at " << k.at_ms << "ms");
  if (k.landed) {
    ++totals->kills;
    ++totals->phases[k.phase];
  }
  if (AfterKill("revert", false, totals).state != "rolled_back") {
    CommandResult finish = Planrun(kTrialDb, {"--plans", PlansDir(), "rollback"});
    INFO(finish.err);
    REQUIRE(finish.exit_code == 0);
  }
  CHECK(CheckTruth("revert", false).state == "rolled_back");
  CheckSameAs(ref.seed_tables, ref.seed_schema, totals);
}

TEST_CASE("SIGKILLed applies resume to exactly the uninterrupted result, status tells the truth") {
  const uint64_t seed = static_cast<uint64_t>(EnvInt("PLANRUN_FAULT_SEED", 20261121));
  const int trials = static_cast<int>(EnvInt("PLANRUN_FAULT_TRIALS", 30));
  const int only = static_cast<int>(EnvInt("PLANRUN_FAULT_ONLY_TRIAL", -1));
  std::cout << "fault kill trials: PLANRUN_FAULT_SEED=" << seed << std::endl;
  Ref();
  Totals totals;
  if (only >= 0) {
    ApplyTrial(only, seed, &totals);
  } else {
    for (int t = 0; t < trials; ++t) ApplyTrial(t, seed, &totals);
  }
  WARN(totals.Summary("apply kill trials", seed));
  if (only < 0) CHECK(totals.kills >= trials * 3 / 4);
  // Odd trials aim their batch and step kills at the transform with a hook
  // (3, 5 and 7 first): its read-ahead is hit whenever 8 trials or more run.
  if (only < 0 && trials >= 8) CHECK(totals.phases["transform with a hook"] > 0);
}

// A run killed while it builds an index CONCURRENTLY leaves the build going
// on in the server until it ends. An apply started right away finds the index
// invalid and drops it CONCURRENTLY, which waits for the dead run's build
// while that build waits for it: PostgreSQL reports a deadlock (found by apply
// trial 42 of PLANRUN_FAULT_SEED=7). The step retries it as it retries a
// lock_timeout, and succeeds once the dead run's build has ended.
TEST_CASE("an apply right after a kill during a concurrent index build does not fail") {
  const Reference& ref = Ref();
  CloneDatabase(kTrialDb, kSeedDb);
  const std::string step = "accounts_display_index";
  Kill k =
      RunAndKill({"--plans", PlansDir(), "-v", "apply"},
                 Aim{"index build", "applying step " + step + " ", ref.apply.Duration(step) / 3},
                 "apply", ref.apply.steps.size());
  REQUIRE(k.phase == "index build");
  CommandResult next = Planrun(kTrialDb, {"--plans", PlansDir(), "apply"});
  INFO(next.err);
  CHECK(next.exit_code == 0);
  if (next.err.find("was chosen to break a deadlock; retry") != std::string::npos) {
    WARN("the re-run met the dead run's index build and retried past the deadlock");
  }
}

TEST_CASE("SIGKILLed rollbacks finish on a re-run to exactly the database before the plan") {
  const uint64_t seed = static_cast<uint64_t>(EnvInt("PLANRUN_FAULT_SEED", 20261121));
  const int trials = static_cast<int>(
      EnvInt("PLANRUN_FAULT_ROLLBACK_TRIALS", EnvInt("PLANRUN_FAULT_TRIALS", 30) / 5));
  if (EnvInt("PLANRUN_FAULT_ONLY_TRIAL", -1) >= 0) return;
  Ref();
  Totals totals;
  for (int t = 0; t < trials; ++t) RollbackTrial(t, seed, &totals);
  WARN(totals.Summary("rollback kill trials", seed));
  CHECK(totals.kills >= trials / 2);
}

}  // namespace
}  // namespace testing
}  // namespace planrun
