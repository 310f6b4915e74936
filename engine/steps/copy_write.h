// How a `copy` step writes one batch into its target, inside the batch's
// transaction on the target session (copy_run.cc drives the batches).
//
// A batch with `on_conflict: error` goes straight into the target with
// `COPY <target> (...) FROM STDIN`, and its primary keys into the keys table
// (for rollback) with a second COPY, or as one range (UsesKeyRanges), when
// copy knows every key before the write: the key columns are among `to.columns` (kKnownKeys), or
// the key is one column filled from its own sequence (kSequence: the batch reserves n values with
// nextval and sends them explicitly). Any other target (upserts, keys from other defaults, BEFORE
// INSERT triggers or INSERT rules that could change or redirect a row, views) goes through a
// temporary stage table and `INSERT ... SELECT ... RETURNING` (kStage). Not thread-safe; one
// writer.
#pragma once

#include <cstdint>
#include <optional>
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
  std::string keys, prev, stage, ranges;
  CopyWriteMode mode = CopyWriteMode::kStage;
  bool integer_key = false;    // a plain table whose key is one smallint, integer or bigint
  bool key_ranges = false;     // UsesKeyRanges: contiguous keys go into `ranges`
  std::vector<size_t> pk_out;  // kKnownKeys: each pk column's index in to.columns
  std::string sequence;        // kSequence: the key's sequence (regclass text)
};

/// A batch's rows turned into target rows.
struct Processed {
  std::string copy_text;  // COPY text of the rows to write (to.columns)
  std::string keys_text;  // kKnownKeys: COPY text of their primary keys
  std::string reserved;   // kSequence: keys reserved ahead (ReserveKeys), at least `rows`; or ""
  std::string src_keys;   // each row's source key fields, COPY text (for RefusedRows' rejects)
  int64_t rows = 0;
  int64_t skipped = 0;
  std::vector<Reject> rejects;
  std::vector<std::string> samples;  // JSON of the first output rows (dry run --sample)
};

/// Picks the write mode of `spec`'s target. REQUIRES: target->pk loaded.
Status ResolveCopyTarget(const CopySpec& spec, pg::Session& db, CopyTarget* target);

/// kSequence: reserves `n` keys from the target's sequence into *keys, one
/// per line. Any session of the target's database will do: nextval is not
/// transactional, so keys can be reserved ahead on another session.
Status ReserveKeys(pg::Session& db, const CopyTarget& target, int64_t n, std::string* keys);

/// Writes `p` into the target and the keys it inserted into the keys table;
/// `*written` is the number of rows inserted or updated. REQUIRES: inside a
/// transaction on `db`.
Status WriteBatch(const CopySpec& spec, pg::Session& db, const CopyTarget& target,
                  const Processed& p, int64_t* written);

/// WriteBatch, and when PostgreSQL refuses the batch for a value (SQLSTATE
/// class 22, a data exception, or 23, a constraint), the rows again in
/// halves, each under a savepoint, until the refused rows stand alone: those
/// are appended to *refused (their source key, the target row as JSON and
/// PostgreSQL's message) and the others written. About 2k log2(n) writes for
/// k refused rows of n; a batch PostgreSQL takes whole costs one savepoint.
/// REQUIRES: inside a transaction on `db`; p.src_keys has a line per row.
Status WriteBatchOrRefuse(const CopySpec& spec, pg::Session& db, const CopyTarget& target,
                          const Processed& p, int64_t* written, std::vector<Reject>* refused);

/// No hook: each line of `select_sql` (CopySourceSql) is the target row, its
/// first `ncols` fields already escaped as COPY takes them, then the source
/// key. Reads a batch into *p as it is, without unescaping and escaping it
/// again (and the primary keys for kKnownKeys), and sets *last_line to the
/// batch's last line, for its key.
Status ForwardRows(pg::Session& source, const std::string& select_sql, const CopyTarget& target,
                   size_t ncols, Processed* p, std::string* last_line);

/// True when the copy records the keys a batch inserted as one (lo, hi) row
/// in target.ranges whenever they are contiguous (lo..hi all inserted by
/// the batch, so no other row can have a key in between), and one row per
/// key in target.keys otherwise: a plain target with a single integer key,
/// written by ServerBatch over key ranges, with keys from its sequence, or
/// with the keys its rows carry (kKnownKeys).
bool UsesKeyRanges(const CopySpec& spec, const CopyTarget& target,
                   const std::vector<ColumnSpec>& key_cols);

/// True when each batch runs in the server (ServerBatch): no hook, one
/// database.
inline bool RunsInServer(const CopySpec& spec) {
  return !spec.hook.present && spec.connection.empty();
}

/// The batch's source can be cut by a key range (ServerBatch reads its
/// bounds first, then inserts the range): a table, one key column of a type
/// whose max() orders like its index, and plain inserts.
bool RangeBatches(const CopySpec& spec, const std::vector<ColumnSpec>& key_cols);

/// A RangeBatches batch: how many source rows follow the last key (at most
/// batch_size) and the key of the last of them.
struct ServerBounds {
  int64_t rows = 0;
  std::string last;
};

/// The bounds of the batch after `after_key`, from the key index. Any
/// session of the database will do, so the next batch's bounds can be read
/// while this one is inserted.
Status ReadServerBounds(const CopySpec& spec, pg::Session& db,
                        const std::vector<ColumnSpec>& key_cols,
                        const std::optional<std::vector<std::string>>& after_key,
                        ServerBounds* out);

/// The source rows of a RangeBatches batch: after `after_key` up to
/// bounds.last (CopySourceSql).
std::string ServerRangeSourceSql(const CopySpec& spec, const std::vector<ColumnSpec>& key_cols,
                                 const std::optional<std::vector<std::string>>& after_key,
                                 const ServerBounds& bounds);

/// Inserts the source rows after `after_key` up to bounds.last with one
/// INSERT ... SELECT, and records their keys. Rows committed into the range
/// since the bounds were read are copied too (*read counts them).
Status InsertServerRange(const CopySpec& spec, pg::Session& db, const CopyTarget& target,
                         const std::vector<ColumnSpec>& key_cols,
                         const std::optional<std::vector<std::string>>& after_key,
                         const ServerBounds& bounds, int64_t* read, int64_t* written);

/// A batch ServerBatch or InsertServerRange could not write because
/// PostgreSQL refused a value (SQLSTATE class 22 or 23), again in the
/// server: the rows of `source_sql` (CopySourceSql) numbered into the
/// temporary table `parts` (quoted), then inserted in halves, each under a
/// savepoint, until the refused rows stand alone; those are appended to
/// *refused (source key, the target row as JSON, PostgreSQL's message).
/// The values convert to the target's types exactly as in one INSERT ...
/// SELECT. *last: the last key read. REQUIRES: inside a transaction.
Status InsertServerParts(const CopySpec& spec, pg::Session& db, const CopyTarget& target,
                         size_t nkeys, const std::string& source_sql, const std::string& parts,
                         int64_t* read, int64_t* written, std::vector<Reject>* refused,
                         std::vector<std::string>* last);

/// No hook, one database: the whole batch runs in the server (the source rows
/// never leave it). Returns the rows read and written and the last key (text).
/// `key_cols` are the source key columns by their own names.
Status ServerBatch(const CopySpec& spec, pg::Session& db, const CopyTarget& target,
                   const std::vector<ColumnSpec>& key_cols,
                   const std::optional<std::vector<std::string>>& after_key, int64_t* read,
                   int64_t* written, std::vector<std::string>* last);

}  // namespace planrun
