// TransformWriter: how a `transform` step with a hook writes one batch, on
// the step's session, inside the caller's transaction. The batch's rows go
// into a temporary stage table as COPY text:
//
//   planrun_k<i>  the key
//   planrun_n<i>  the hook's new values of the set columns
//   planrun_o<i>  the set columns' values as read
//   planrun_i<i>  the other columns the hook read, as read
//
// A batch read without row locks is loaded (LoadShared, on the reading
// session, while the batch before is written) into one of two unlogged
// stage tables in the backup schema, used in turn; its write
// (WriteUnlocked) saves the values read into prev and updates only the rows
// whose columns are all still as read. A batch read FOR UPDATE
// (WriteLocked) goes through a temporary stage on the step's session; one
// UPDATE saves what it replaced, and a batch PostgreSQL refuses is bisected
// to reject the refused rows alone. Not thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "data/copy_text.h"
#include "data/value.h"
#include "pg/session.h"
#include "steps/transform_spec.h"
#include "track/checkpoints.h"

namespace planrun {

/// The stage's column names of one kind ("k", "n", "o" or "i"):
/// planrun_<kind>1 .. planrun_<kind><n>.
std::vector<std::string> StageNames(const std::string& kind, size_t n);

// A batch of the hook path: its rows as read (ReadSql's columns) and what
// the hook made of them. Buffers are reused from batch to batch.
struct HookedBatch {
  int64_t number = 0;                             // ctx.batch of the hook
  std::optional<std::vector<std::string>> after;  // the key before the batch
  std::vector<std::vector<RawField>> rows;
  std::vector<std::vector<Value>> values;  // the hook's input per row
  std::vector<std::string> first, last;    // keys of the first and last rows
  std::string text;                        // the stage's COPY text
  std::vector<size_t> staged;              // the row of each line of `text`
  int64_t skipped = 0;
  std::vector<Reject> rejects;
  int shared = 0;              // the shared stage (0 or 1) LoadShared filled
  bool refused_stage = false;  // PostgreSQL refused a value while loading it
};

/// Writes batches of one transform step.
class TransformWriter {
 public:
  /// `cols` are the columns read (TransformHookColumns), `key_idx` the key's
  /// positions among them; `stage` and `prev` are quoted table names.
  /// `shared` are the two unlogged stage tables (quoted, in the backup
  /// schema).
  TransformWriter(pg::Session& db, const TransformSpec& spec, std::string stage, std::string prev,
                  std::vector<std::string> shared, std::vector<ColumnSpec> cols,
                  std::vector<size_t> key_idx)
      : db_(db),
        spec_(spec),
        stage_(std::move(stage)),
        prev_(std::move(prev)),
        shared_(std::move(shared)),
        cols_(std::move(cols)),
        key_idx_(std::move(key_idx)) {}

  /// "CREATE TEMP TABLE IF NOT EXISTS <stage> ...;" typed as the table's
  /// columns, so values compare by their binary images.
  std::string StageSql() const;

  /// Creates the two shared stage tables (unlogged: their rows live for
  /// one batch, and a crash may empty them) if they do not exist.
  std::string SharedStagesSql() const;

  /// "DROP TABLE IF EXISTS" of both shared stage tables.
  std::string DropSharedStagesSql() const;

  /// Loads b's stage text into shared stage b.shared, on `session` (any
  /// session of the database, outside a transaction), emptying it first.
  /// A value PostgreSQL refuses sets b.refused_stage instead of failing.
  /// REQUIRES: no write of the batch that used that stage before is open.
  Status LoadShared(pg::Session& session, HookedBatch* b);

  /// Writes a batch read without row locks from its shared stage
  /// (LoadShared). Sets *relock (and keeps nothing) when PostgreSQL refused
  /// a value, or a row changed, went away or was kept by a trigger since
  /// the read: the batch is then to run again under locks.
  Status WriteUnlocked(const HookedBatch& b, int64_t* written, bool* relock);

  /// Writes a batch whose rows the transaction holds locked; *written grows
  /// by the rows updated. Refused rows join b.rejects.
  Status WriteLocked(HookedBatch& b, int64_t* written);

  /// "(a.k1, a.k2) <op> ('v1'::t1, 'v2'::t2)", typed literals; an empty
  /// alias: the bare column names.
  std::string KeyCompare(const std::string& alias, const std::string& op,
                         const std::vector<std::string>& key) const;

 private:
  std::string MatchStage(const std::string& alias) const;
  std::string UnlockedWriteSql(const std::string& stage, const std::vector<std::string>& first,
                               const std::vector<std::string>& last) const;
  std::string StageColumns() const;  // "<column> AS planrun_k1, ..."
  std::string LockedUpdateSql(const std::vector<std::string>& first,
                              const std::vector<std::string>& last) const;
  Status WriteStaged(const std::string& text, const std::vector<std::string>& statements,
                     int64_t* updated);

  pg::Session& db_;
  const TransformSpec& spec_;
  std::string stage_, prev_;
  std::vector<std::string> shared_;
  std::vector<ColumnSpec> cols_;
  std::vector<size_t> key_idx_;
};

}  // namespace planrun
