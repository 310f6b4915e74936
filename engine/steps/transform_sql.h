// TransformSqlWriter: how a `transform` step whose `set` is SQL expressions
// writes one batch, on the step's session, inside the caller's transaction:
//
//   CREATE TEMP TABLE <batch> AS SELECT <key> ... FOR UPDATE
//   INSERT INTO <prev> SELECT <key>, <set columns> FROM <table> JOIN <batch>
//   UPDATE <table> SET <column> = (<expression>), ... WHERE <key> IN <batch>
//
// A batch PostgreSQL refuses for a value (SQLSTATE class 22 or 23: a CHECK,
// a unique index, a division by zero in an expression) fails that
// transaction; the caller runs it again with WriteInParts, which saves and
// updates the rows in halves, each under a savepoint, until the refused
// rows stand alone, and rejects those. Not thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "data/copy_text.h"
#include "pg/session.h"
#include "steps/transform_spec.h"
#include "track/checkpoints.h"

namespace planrun {

/// Writes the batches of a transform without a hook (see the top of this file).
class TransformSqlWriter {
 public:
  /// `prev`: the quoted table of saved values; `temp_suffix` names the
  /// temporary tables (the step id).
  TransformSqlWriter(pg::Session& db, const TransformSpec& spec, std::string prev,
                     const std::string& temp_suffix);

  /// Locks the rows of `keys_sql` (a SELECT of the key columns, FOR
  /// UPDATE), saves and updates them. *read: the rows locked; *written:
  /// the rows updated; *last: the last key (empty when no row was locked).
  Status WriteBatch(const std::string& keys_sql, int64_t* read, int64_t* written,
                    std::vector<std::string>* last);

  /// The same, each refused row rejected instead of failing the batch
  /// (its key, the row as it is, PostgreSQL's message): about 2k log2(n)
  /// statements for k refused rows of n.
  Status WriteInParts(const std::string& keys_sql, int64_t* found, int64_t* written,
                      std::vector<Reject>* rejects, std::vector<std::string>* last);

 private:
  std::string PartKeys(size_t begin, size_t end) const;
  Status WritePart(size_t begin, size_t end, int64_t* written);
  Status RejectPart(size_t n, const Status& st, std::vector<Reject>* rejects);
  Status LastKey(const std::string& sql, std::vector<std::string>* last);

  pg::Session& db_;
  const TransformSpec& spec_;
  const std::string prev_;
  const std::string batch_;  // the locked keys
  const std::string parts_;  // the same, numbered (WriteInParts)
  std::string sets_;         // "col" = (expr), ...
};

}  // namespace planrun
