#include "steps/transform_write.h"

#include "steps/data_spec.h"
#include "util/sql.h"
#include "util/strings.h"

namespace planrun {

std::vector<std::string> StageNames(const std::string& kind, size_t n) {
  std::vector<std::string> out;
  for (size_t i = 1; i <= n; ++i) out.push_back("planrun_" + kind + std::to_string(i));
  return out;
}

std::string TransformWriter::StageColumns() const {
  std::vector<std::string> cols;
  const auto add = [&](const std::vector<std::string>& from, const std::string& kind) {
    const std::vector<std::string> names = StageNames(kind, from.size());
    for (size_t i = 0; i < from.size(); ++i)
      cols.push_back(QuoteIdent(from[i]) + " AS " + names[i]);
  };
  std::vector<std::string> inputs;
  for (size_t c = spec_.key.size(); c < cols_.size(); ++c) inputs.push_back(cols_[c].name);
  add(spec_.key, "k");
  add(spec_.set, "n");
  add(spec_.set, "o");
  add(inputs, "i");
  return Join(cols, ", ");
}

std::string TransformWriter::StageSql() const {
  return "CREATE TEMP TABLE IF NOT EXISTS " + stage_ + " AS SELECT " + StageColumns() + " FROM " +
         spec_.table.Quoted() + " WITH NO DATA;";
}

std::string TransformWriter::SharedStagesSql() const {
  std::string sql;
  for (const std::string& t : shared_) {
    // No autovacuum: an ANALYZE of a stage would hold up its next
    // TRUNCATE until PostgreSQL cancels it (deadlock_timeout).
    sql += "CREATE UNLOGGED TABLE IF NOT EXISTS " + t +
           " WITH (autovacuum_enabled = false) AS SELECT " + StageColumns() + " FROM " +
           spec_.table.Quoted() + " WITH NO DATA;";
  }
  return sql;
}

std::string TransformWriter::DropSharedStagesSql() const {
  return "DROP TABLE IF EXISTS " + Join(shared_, ", ");
}

Status TransformWriter::LoadShared(pg::Session& session, HookedBatch* b) {
  b->refused_stage = false;
  if (b->staged.empty()) return Status::OK();
  const std::string& table = shared_[b->shared];
  PLANRUN_RETURN_IF_ERROR(session.Exec("TRUNCATE " + table));
  Status st = SendCopy(session, "COPY " + table + " FROM STDIN", b->text);
  if (!st.ok() && IsRowRefused(st)) {
    b->refused_stage = true;
    return Status::OK();
  }
  return st;
}

// Writes a batch read without row locks, in the caller's transaction.
// Sets *relock (and keeps nothing) when PostgreSQL refused a value, a
// row changed since the read, or the UPDATE lost a deadlock (40P01) or a
// serialization conflict (40001) to another session: the batch then runs
// again under locks, where such an error fails the step as it would any
// statement.
Status TransformWriter::WriteUnlocked(const HookedBatch& b, int64_t* written, bool* relock) {
  *relock = b.refused_stage;
  if (b.staged.empty() || *relock) return Status::OK();
  pg::Result r;
  PLANRUN_RETURN_IF_ERROR(db_.Exec("SAVEPOINT planrun_transform_batch"));
  Status st = db_.Exec(UnlockedWriteSql(shared_[b.shared], b.first, b.last), &r);
  if (st.ok() && r.affected == static_cast<int64_t>(b.staged.size())) {
    *written = r.affected;
    return db_.Exec("RELEASE SAVEPOINT planrun_transform_batch");
  }
  if (!st.ok() && !IsRowRefused(st) && st.sqlstate() != "40P01" && st.sqlstate() != "40001") {
    return st;
  }
  PLANRUN_RETURN_IF_ERROR(db_.Exec("ROLLBACK TO SAVEPOINT planrun_transform_batch"));
  PLANRUN_RETURN_IF_ERROR(db_.Exec("RELEASE SAVEPOINT planrun_transform_batch"));
  *relock = true;
  return Status::OK();
}

// Writes a batch whose rows this transaction holds locked. A batch
// PostgreSQL refuses as a whole is bisected (BisectRefused).
Status TransformWriter::WriteLocked(HookedBatch& b, int64_t* written) {
  if (b.staged.empty()) return Status::OK();
  const std::vector<std::string> update = {LockedUpdateSql(b.first, b.last)};
  PLANRUN_RETURN_IF_ERROR(db_.Exec("SAVEPOINT planrun_transform_batch"));
  int64_t updated = 0;
  Status st = WriteStaged(b.text, update, &updated);
  if (st.ok()) {
    *written += updated;
    return db_.Exec("RELEASE SAVEPOINT planrun_transform_batch");
  }
  if (!IsRowRefused(st)) return st;
  PLANRUN_RETURN_IF_ERROR(db_.Exec("ROLLBACK TO SAVEPOINT planrun_transform_batch"));
  PLANRUN_RETURN_IF_ERROR(db_.Exec("RELEASE SAVEPOINT planrun_transform_batch"));
  // Halves of the batch, each under a savepoint, down to the refused rows,
  // which are rejected with PostgreSQL's message.
  std::vector<std::string> lines = Split(b.text, '\n');
  lines.pop_back();  // after the last newline
  return BisectRefused(
      db_, 0, lines.size(),
      [&](size_t begin, size_t end, int64_t* n) {
        std::string text;
        for (size_t l = begin; l < end; ++l) text.append(lines[l]).push_back('\n');
        return WriteStaged(text, update, n);
      },
      [&](size_t line, const Status& st) {
        const size_t i = b.staged[line];
        std::vector<std::string> k;
        PLANRUN_RETURN_IF_ERROR(KeyOf(b.rows[i], key_idx_, &k));
        b.rejects.push_back({0, "", KeyJson(k), RowJson(cols_, b.values[i]),
                             "PostgreSQL refused the new values: " + st.message(), ""});
        return Status::OK();
      },
      written);
}

// "s.planrun_k1 = t.k1 AND ..." for the stage `s` and the table's alias.
std::string TransformWriter::MatchStage(const std::string& alias) const {
  const std::vector<std::string> names = StageNames("k", spec_.key.size());
  std::vector<std::string> parts;
  for (size_t i = 0; i < spec_.key.size(); ++i)
    parts.push_back(alias + "." + QuoteIdent(spec_.key[i]) + " = s." + names[i]);
  return Join(parts, " AND ");
}

// The unlocked path's statements, sent as one: the previous values as read
// go to prev, and the UPDATE (whose count the result carries) writes only
// rows that still match `where` and whose columns the hook read and whose
// set columns are still as read
// (`*=` compares the values' binary images, so it works for every type,
// json included, and NULL equals NULL). Under READ COMMITTED the
// comparison is made again on a row that changed while the UPDATE waited
// for its lock.
std::string TransformWriter::UnlockedWriteSql(const std::string& stage,
                                              const std::vector<std::string>& first,
                                              const std::vector<std::string>& last) const {
  const size_t nk = spec_.key.size();
  std::vector<std::string> read_cols = spec_.set, stage_cols = StageNames("o", spec_.set.size());
  const std::vector<std::string> inputs = StageNames("i", cols_.size() - nk);
  for (size_t c = nk; c < cols_.size(); ++c) {
    read_cols.push_back(cols_[c].name);
    stage_cols.push_back(inputs[c - nk]);
  }
  // The table keeps its own name (no alias), so `where` is checked again
  // as the plan wrote it, unqualified or qualified by the table's name: a
  // row that left it since the read is not updated either.
  const std::string t = spec_.table.Quoted();
  return "INSERT INTO " + prev_ + " SELECT " + Join(StageNames("k", nk), ", ") + ", " +
         Join(StageNames("o", spec_.set.size()), ", ") + " FROM " + stage + "; UPDATE " + t +
         " SET (" + QuoteIdentList(spec_.set) + ") = ROW(" +
         QualifiedIdentList("s", StageNames("n", spec_.set.size())) + ") FROM " + stage +
         " AS s WHERE " + MatchStage(t) + " AND " + KeyCompare(t, ">=", first) + " AND " +
         KeyCompare(t, "<=", last) + " AND ROW(" + QualifiedIdentList(t, read_cols) +
         ")::record *= ROW(" + QualifiedIdentList("s", stage_cols) + ")::record" +
         (spec_.where.empty() ? "" : " AND (" + spec_.where + ")");
}

// The locked path's statement: `o` is the row before the update (the
// batch holds its lock), saved into prev; a row a trigger kept from
// updating is not saved. The key range lets both scans of the table use
// its key index from the batch's first key, not from the table's start.
std::string TransformWriter::LockedUpdateSql(const std::vector<std::string>& first,
                                             const std::vector<std::string>& last) const {
  const std::string range_o = KeyCompare("o", ">=", first) + " AND " + KeyCompare("o", "<=", last);
  const std::string range_t = KeyCompare("t", ">=", first) + " AND " + KeyCompare("t", "<=", last);
  return "WITH upd AS (UPDATE " + spec_.table.Quoted() + " AS t SET (" + QuoteIdentList(spec_.set) +
         ") = ROW(" + QualifiedIdentList("s", StageNames("n", spec_.set.size())) + ") FROM " +
         stage_ + " AS s JOIN " + spec_.table.Quoted() + " AS o ON " + MatchStage("o") + " AND " +
         range_o + " WHERE " + MatchStage("t") + " AND " + range_t + " RETURNING " +
         QualifiedIdentList("o", spec_.key) + ", " + QualifiedIdentList("o", spec_.set) +
         ") INSERT INTO " + prev_ + " SELECT * FROM upd";
}

// Stages `text` and runs `statements`; *updated is what the last one
// affected.
Status TransformWriter::WriteStaged(const std::string& text,
                                    const std::vector<std::string>& statements, int64_t* updated) {
  PLANRUN_RETURN_IF_ERROR(db_.Exec("TRUNCATE " + stage_));
  PLANRUN_RETURN_IF_ERROR(SendCopy(db_, "COPY " + stage_ + " FROM STDIN", text));
  pg::Result r;
  for (const std::string& sql : statements) PLANRUN_RETURN_IF_ERROR(db_.Exec(sql, &r));
  *updated = r.affected;
  return Status::OK();
}

// "(a.k1, a.k2) <op> ('v1'::t1, 'v2'::t2)", typed literals; no alias:
// the bare column names.
std::string TransformWriter::KeyCompare(const std::string& alias, const std::string& op,
                                        const std::vector<std::string>& key) const {
  std::vector<std::string> vals;
  for (size_t i = 0; i < key_idx_.size(); ++i)
    vals.push_back(QuoteLiteral(key[i]) + "::" + cols_[key_idx_[i]].type_name);
  const std::string keys =
      "(" + (alias.empty() ? QuoteIdentList(spec_.key) : QualifiedIdentList(alias, spec_.key)) +
      ")";
  return keys + " " + op + " (" + Join(vals, ", ") + ")";
}

}  // namespace planrun
