// What the two sources of the `objects` step (a table's URL column, and files
// under a folder) share: the names of the step's tables in the backup schema,
// the transfer client's options, the temp folder of a run's downloads, and
// the deletion of the uploaded objects on rollback. Not thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "net/http_client.h"
#include "steps/objects_spec.h"
#include "steps/step.h"

namespace planrun {

/// <backup schema>.<v<version>__<id>__<schema>__<target table><suffix>>.
TableName ObjectsBackupName(const ObjectsSpec& spec, const StepEnv& env, const std::string& suffix);

/// ObjectsBackupName, quoted for SQL.
std::string ObjectsBackupTable(const ObjectsSpec& spec, const StepEnv& env,
                               const std::string& suffix);

/// The transfer client's options from the step's settings; retries are
/// logged at debug level.
net::ClientOptions ObjectsClientOptions(const ObjectsSpec& spec, StepContext& ctx);

/// What one run of an objects step stored, for its progress lines: objects
/// and bytes per second since the run started.
class ObjectsProgress {
 public:
  /// Counts an object this run stored: `uploaded`, or found already there.
  void Stored(bool uploaded, int64_t bytes);
  /// At most twice a second: "<head>, N uploaded, M already stored, R
  /// rejected, x objects/s, y MB/s".
  void Report(Reporter* out, const std::string& head, int64_t rejected);
  /// " (y MB/s)" of the bytes this run uploaded; "" before any time passed.
  std::string ByteRate() const;

 private:
  int64_t uploaded_ = 0, existing_ = 0, bytes_ = 0;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point last_ = start_;
};

/// A folder for the downloads of one run, removed when empty at the end.
class ObjectsTempDir {
 public:
  /// Creates the folder under $TMPDIR (or /tmp).
  Status Create();
  ~ObjectsTempDir();
  /// The path of the i-th temp file.
  std::string File(size_t i) const { return path_ + "/" + std::to_string(i); }

 private:
  std::string path_;
};

/// With delete_on_rollback, deletes every object recorded as uploaded in
/// `objects_table` (an absent one counts as deleted); then drops the table.
/// Nothing to do when the table does not exist.
Status DeleteUploadedObjects(const ObjectsSpec& spec, StepContext& ctx,
                             const std::string& objects_table, int64_t* deleted);

/// Creates `objects_table` (row key, location, uploaded, bytes, sha256; one
/// row per row key and location) when missing.
std::string CreateObjectsTableSql(const std::string& objects_table);

/// Records one stored object of the row `row_key` in `objects_table`. A
/// location the step uploaded stays marked uploaded whatever later runs find
/// there; a row that moved to another location (a changed key template, a
/// restart) keeps its earlier locations, so rollback deletes exactly the
/// objects the step uploaded, never ones that were in the store before.
Status RecordObject(pg::Session& db, const std::string& objects_table, const std::string& row_key,
                    const std::string& location, bool uploaded, int64_t bytes,
                    const std::string& sha256);

}  // namespace planrun
