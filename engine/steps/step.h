// Step: the interface every step kind implements (one file per kind under
// steps/). A Step is the parsed body of one plan entry plus its behaviour:
// what it reads and writes (for the graph), the SQL it will run (for `planrun
// plan`), and how to apply and revert it. The executor (run/) owns
// connections, transactions, tracking rows and progress; a Step only issues
// its own statements on the session it is given.
//
// Transactions: when Transactional() is true the executor has already opened
// a transaction on ctx.db and commits it together with the step's tracking
// row; the step must not COMMIT or ROLLBACK. When false, the step runs in
// autocommit and must be safe to run again after a crash (IF NOT EXISTS,
// dropping an invalid index first...).
//
// Steps are immutable after parsing; Apply/Revert may run on any thread, each
// with its own StepContext.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "plan/names.h"
#include "util/status.h"

namespace planrun {

namespace pg {
class Session;
}
class Reporter;
struct Plan;
struct StepDecl;

/// A foreign key a plan itself declares (add_columns `references:`).
struct DeclaredFk {
  TableName from;  // the table holding the foreign key
  TableName to;    // the table it references
};

/// Whether rollback can undo a step exactly.
enum class Reversibility {
  kReversible,    // the step has an exact inverse
  kNeedsBackup,   // undone only by restoring its written tables from a backup step
  kIrreversible,  // cannot be undone
};

/// Names planrun uses in the database, fixed per run.
struct SchemaNames {
  std::string tracking = "planrun";       // schema_migrations, step_runs, ...
  std::string backup = "planrun_backup";  // backup tables and saved column data
};

/// What Describe* get: the plan, the entry and the schema names.
struct StepEnv {
  const Plan* plan = nullptr;
  const StepDecl* decl = nullptr;
  SchemaNames names;
};

/// What data steps (copy, transform) get from the executor besides the
/// session: more sessions, the run's flags and where to report progress.
struct DataRuntime {
  /// Opens a new session to the target database (connection "") or to a
  /// connection the plan names under `connections:`.
  std::function<Status(const std::string& connection, std::unique_ptr<pg::Session>* out)> open;
  int attempt = 1;             // the plan's attempt, for checkpoints and rejects
  bool retry_rejects = false;  // run only the rows stored in planrun.rejects again
  bool restart = false;        // drop this step's checkpoint and start over
  int64_t sample_rows = 0;     // dry run: run hooks over the first N rows, write nothing
  int default_workers = 2;     // Lua states per step when the plan gives no `workers`
};

/// What Apply/Revert get.
struct StepContext {
  pg::Session* db = nullptr;
  Reporter* out = nullptr;
  StepEnv env;
  bool dry_run = false;         // inside a transaction that will be rolled back
  DataRuntime* data = nullptr;  // set for every step; used by data steps
  /// Counters for status and the summary ("rows" affected, "tables" backed up...).
  std::map<std::string, int64_t> counters;
};

/// The behaviour of one step kind.
class Step {
 public:
  virtual ~Step() = default;

  /// Tables the step reads (graph edges).
  virtual std::vector<TableName> Reads() const { return {}; }
  /// Tables the step writes, alters or indexes (graph edges).
  virtual std::vector<TableName> Writes() const { return {}; }
  /// Foreign keys the step declares (FK ordering edges).
  virtual std::vector<DeclaredFk> ForeignKeys() const { return {}; }
  /// True when the graph cannot know what the step touches: it waits for
  /// every earlier step, and every later step waits for it.
  virtual bool IsBarrier() const { return false; }
  /// Tables a backup step saves (rollback of kNeedsBackup steps restores them).
  virtual std::vector<TableName> BackedUpTables() const { return {}; }

  /// False for steps that must run outside a transaction (CREATE INDEX CONCURRENTLY).
  virtual bool Transactional() const { return true; }
  /// True for data steps: they commit each batch together with its
  /// checkpoint, so the executor runs Apply and Revert outside a transaction.
  virtual bool OwnsTransactions() const { return false; }
  /// Whether Revert runs inside a transaction.
  virtual bool RevertTransactional() const { return Transactional(); }
  virtual Reversibility reversibility() const = 0;

  /// The statements Apply runs, exactly, one per entry (for `planrun plan`).
  virtual std::vector<std::string> DescribeUp(const StepEnv& env) const = 0;
  /// The statements Revert runs; empty when there is nothing to undo.
  virtual std::vector<std::string> DescribeDown(const StepEnv& env) const = 0;

  virtual Status Apply(StepContext& ctx) const = 0;
  virtual Status Revert(StepContext& ctx) const = 0;
};

}  // namespace planrun
