// DataRun: the bookkeeping of one run of a data step: its checkpoint (loaded
// at start, saved inside every batch transaction), its rejects, the reject
// limit, progress lines and the closing summary. Copy and transform share it
// so that both resume, count and report the same way. Not thread-safe.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "steps/data_spec.h"
#include "steps/step.h"
#include "track/checkpoints.h"

namespace planrun {

/// One data step run on the executor's session.
class DataRun {
 public:
  /// `verb` is "copy" or "transform"; `fingerprint` identifies the step's
  /// definition (YAML, hook source, batch settings).
  DataRun(StepContext& ctx, const DataSettings& settings, std::string verb,
          std::string fingerprint);

  /// Loads the checkpoint. A checkpoint of a different fingerprint is refused
  /// (Status::Refused) unless the run restarts this step (`*restart` tells
  /// the caller to undo the step's partial work first) or retries rejects
  /// (the new version goes on from the checkpoint).
  Status Begin(bool* restart);

  /// Begin(); when the step is to start over, runs `undo` (which sets the
  /// number of rows it undid) and ResetForRestart in one transaction, and
  /// logs "<verb> <id>: restarting; <done(rows)>".
  Status BeginOrRestart(const std::function<Status(int64_t* rows)>& undo,
                        const std::function<std::string(int64_t rows)>& done);

  /// Inside the restart's transaction: drops the checkpoint and resolves the
  /// rejects of the work being discarded.
  Status ResetForRestart();

  /// Runs `fn` in one transaction (or inside the dry run's transaction).
  Status InTransaction(const std::function<Status()>& fn);

  /// Inside a batch transaction: stores rejects, advances the checkpoint to
  /// `last_key` with the counts, and records progress in step_runs.
  Status CommitBatch(const std::optional<std::vector<std::string>>& last_key, int64_t read,
                     int64_t written, int64_t skipped, const std::vector<Reject>& rejects);

  /// Marks the step done (own transaction) and checks the reject limit at the end.
  Status Finish();

  /// --retry-rejects: loads the step's unresolved rejects and calls `fn` on
  /// them in chunks of batch_size, in the order they were stored; stops at
  /// the first error.
  Status ForEachRejectChunk(const std::function<Status(const std::vector<Reject>& chunk)>& fn);

  /// Fails when the rejects so far are past max_rejects (after a batch).
  Status CheckRejectLimit(bool at_end) const;

  /// Reports progress (at most twice a second); `total` is an estimate.
  void Progress(std::optional<int64_t> total);

  Checkpoint& checkpoint() { return cp_; }
  CheckpointStore& store() { return store_; }
  StepContext& ctx() { return ctx_; }
  int workers() const;

 private:
  StepContext& ctx_;
  DataSettings settings_;
  std::string verb_;
  std::string fingerprint_;
  CheckpointStore store_;
  Checkpoint cp_;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point last_progress_ = start_;
  int64_t rows_at_start_ = 0;
  std::string first_reject_;  // "key [..]: reason" of the first reject of this run
};

}  // namespace planrun
