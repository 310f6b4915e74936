// Checkpoints and rejects of data steps (copy, transform). A data step
// commits each batch together with Save() and the batch's rejects, so after a
// crash Load() returns exactly the last committed batch: nothing is lost and
// nothing is done twice. Runs on the caller's session; Save and AddRejects
// belong inside the batch's transaction. Not thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "pg/session.h"

namespace planrun {

/// Where a data step stands.
struct Checkpoint {
  std::string fingerprint;  // of the step's definition; a changed step must not resume
  std::optional<std::vector<std::string>> last_key;  // key of the last committed row
  int64_t batches = 0;
  int64_t rows_read = 0;
  int64_t rows_written = 0;
  int64_t rows_skipped = 0;
  int64_t rows_rejected = 0;
  bool done = false;
};

/// One rejected row.
struct Reject {
  int64_t id = 0;
  std::string step_id;
  std::string row_key;  // JSON array of the key values
  std::string input;    // JSON object of the input row
  std::string reason;
  std::string created_at;
};

/// The checkpoint and rejects of one step in one attempt of one plan.
class CheckpointStore {
 public:
  CheckpointStore(pg::Session* db, std::string schema, std::string version, int attempt,
                  std::string step_id);

  /// The stored checkpoint, or *found = false.
  Status Load(Checkpoint* out, bool* found);
  /// Inserts the checkpoint, or replaces a stored one with fewer batches (or
  /// as many, when `cp` is done); else Status::Failed: another run moved it.
  Status Save(const Checkpoint& cp);
  /// Deletes the checkpoint (apply --restart-step).
  Status Reset();
  /// Stores rejects; the reasons pass Redact().
  Status AddRejects(const std::vector<Reject>& rejects);
  /// Unresolved rejects of this step in this attempt, oldest first.
  Status LoadRejects(std::vector<Reject>* out);
  /// Marks rejects as resolved (their rows went through on a retry).
  Status ResolveRejects(const std::vector<int64_t>& ids);
  /// Also records rows_done in step_runs so status shows progress.
  Status SaveProgress(int64_t rows_done, std::optional<int64_t> rows_total);

 private:
  pg::Session* db_;
  std::string schema_;
  std::string version_;
  int attempt_;
  std::string step_id_;
};

/// The unresolved rejects of the current attempt of every plan (or one plan,
/// or one step), in version order, for `planrun rejects`.
Status ListRejects(pg::Session& db, const std::string& schema, const std::string& version,
                   const std::string& step_id, std::vector<Reject>* out);

}  // namespace planrun
