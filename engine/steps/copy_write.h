// How a `copy` step writes one batch into its target, inside the batch's
// transaction on the target session (copy_run.cc drives the batches).
//
// A batch with `on_conflict: error` goes straight into the target with
// `COPY <target> (...) FROM STDIN`, and its primary keys into the keys table
// (for rollback) with a second COPY, when copy knows every key before the
// write: the key columns are among `to.columns` (kKnownKeys), or the key is
// one column filled from its own sequence (kSequence: the batch reserves n
// values with nextval and sends them explicitly). Any other target (upserts,
// keys from other defaults, BEFORE INSERT triggers or INSERT rules that could
// change or redirect a row, views) goes through a temporary stage table and
// `INSERT ... SELECT ... RETURNING` (kStage). Not thread-safe; one writer.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "pg/session.h"
#include "steps/copy_spec.h"
#include "steps/data_spec.h"
#include "track/checkpoints.h"

namespace planrun {

/// How a copy's batches reach its target.
enum class CopyWriteMode { kStage, kKnownKeys, kSequence };

/// The target of a copy as its writes need it; resolved once per run.
struct CopyTarget {
  std::vector<std::string> pk;  // primary key columns
  std::string keys, prev, stage;
  CopyWriteMode mode = CopyWriteMode::kStage;
  std::vector<size_t> pk_out;  // kKnownKeys: each pk column's index in to.columns
  std::string sequence;        // kSequence: the key's sequence (regclass text)
};

/// A batch's rows turned into target rows.
struct Processed {
  std::string copy_text;  // COPY text of the rows to write (to.columns)
  std::string keys_text;  // kKnownKeys: COPY text of their primary keys
  int64_t rows = 0;
  int64_t skipped = 0;
  std::vector<Reject> rejects;
  std::vector<std::string> samples;  // JSON of the first output rows (dry run --sample)
};

/// Picks the write mode of `spec`'s target. REQUIRES: target->pk loaded.
Status ResolveCopyTarget(const CopySpec& spec, pg::Session& db, CopyTarget* target);

/// Writes `p` into the target and the keys it inserted into the keys table;
/// `*written` is the number of rows inserted or updated. REQUIRES: inside a
/// transaction on `db`.
Status WriteBatch(const CopySpec& spec, pg::Session& db, const CopyTarget& target,
                  const Processed& p, int64_t* written);

/// No hook, one database: the whole batch runs in the server (the source rows
/// never leave it). Returns the rows read and written and the last key (text).
/// `key_cols` are the source key columns by their own names.
Status ServerBatch(const CopySpec& spec, pg::Session& db, const CopyTarget& target,
                   const std::vector<ColumnSpec>& key_cols,
                   const std::optional<std::vector<std::string>>& after_key, int64_t* read,
                   int64_t* written, std::vector<std::string>* last);

}  // namespace planrun
