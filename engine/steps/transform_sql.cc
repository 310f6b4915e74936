#include "steps/transform_sql.h"

#include "steps/backup_names.h"
#include "steps/data_spec.h"
#include "util/sql.h"
#include "util/strings.h"

namespace planrun {

TransformSqlWriter::TransformSqlWriter(pg::Session& db, const TransformSpec& spec, std::string prev,
                                       const std::string& temp_suffix)
    : db_(db),
      spec_(spec),
      prev_(std::move(prev)),
      batch_(QuoteIdent(ShortIdentifier("planrun_batch_" + temp_suffix))),
      parts_(QuoteIdent(ShortIdentifier("planrun_parts_" + temp_suffix))) {
  std::vector<std::string> sets;
  for (const auto& [col, expr] : spec_.sql) sets.push_back(QuoteIdent(col) + " = (" + expr + ")");
  sets_ = Join(sets, ", ");
}

// The key of the one row of `sql` (the key columns), as text.
Status TransformSqlWriter::LastKey(const std::string& sql, std::vector<std::string>* last) {
  std::vector<std::vector<RawField>> rows;
  PLANRUN_RETURN_IF_ERROR(ReadRows(db_, sql, &rows));
  last->clear();
  if (rows.empty()) return Status::OK();
  std::vector<size_t> idx;
  for (size_t i = 0; i < spec_.key.size(); ++i) idx.push_back(i);
  return KeyOf(rows[0], idx, last);
}

Status TransformSqlWriter::WriteBatch(const std::string& keys_sql, int64_t* read, int64_t* written,
                                      std::vector<std::string>* last) {
  const std::string key = QuoteIdentList(spec_.key);
  std::vector<std::string> match;
  for (const auto& k : spec_.key) match.push_back("t." + QuoteIdent(k) + " = b." + QuoteIdent(k));
  PLANRUN_RETURN_IF_ERROR(db_.Exec(
      "DROP TABLE IF EXISTS pg_temp." + batch_ + "; CREATE TEMP TABLE " + batch_ + " AS " +
      keys_sql + "; INSERT INTO " + prev_ + " SELECT " + QualifiedIdentList("t", spec_.key) + ", " +
      QualifiedIdentList("t", spec_.set) + " FROM " + spec_.table.Quoted() + " AS t JOIN " +
      batch_ + " AS b ON " + Join(match, " AND ")));
  pg::Result u;
  // No FROM: the set expressions see only the table's own columns, so
  // they may name them unqualified.
  PLANRUN_RETURN_IF_ERROR(db_.Exec("UPDATE " + spec_.table.Quoted() + " AS t SET " + sets_ +
                                       " WHERE (" + QualifiedIdentList("t", spec_.key) +
                                       ") IN (SELECT " + key + " FROM " + batch_ + ")",
                                   &u));
  *written = u.affected;
  // The batch's last key: every key column descending (a composite key
  // sorted "k1, k2 DESC" would give the wrong row and repeat rows).
  std::vector<std::string> desc;
  for (const auto& k : spec_.key) desc.push_back(QuoteIdent(k) + " DESC");
  PLANRUN_RETURN_IF_ERROR(LastKey(
      "SELECT " + key + " FROM " + batch_ + " ORDER BY " + Join(desc, ", ") + " LIMIT 1", last));
  pg::Result count;
  PLANRUN_RETURN_IF_ERROR(db_.Exec("SELECT count(*) FROM " + batch_, &count));
  *read = std::stoll(count.get(0, 0, "0"));
  return Status::OK();
}

// The rows are numbered in key order, so the last number is the last key.
Status TransformSqlWriter::WriteInParts(const std::string& keys_sql, int64_t* found,
                                        int64_t* written, std::vector<Reject>* rejects,
                                        std::vector<std::string>* last) {
  const std::string key = QuoteIdentList(spec_.key);
  // Deferred constraints are checked per part, so their refused rows are
  // found too.
  PLANRUN_RETURN_IF_ERROR(db_.Exec("SET CONSTRAINTS ALL IMMEDIATE; DROP TABLE IF EXISTS pg_temp." +
                                   batch_ + ", pg_temp." + parts_ + "; CREATE TEMP TABLE " +
                                   batch_ + " AS " + keys_sql + "; CREATE TEMP TABLE " + parts_ +
                                   " AS SELECT row_number() OVER (ORDER BY " + key +
                                   ") AS planrun_n, " + key + " FROM " + batch_));
  pg::Result count;
  PLANRUN_RETURN_IF_ERROR(db_.Exec("SELECT count(*) FROM " + parts_, &count));
  *found = std::stoll(count.get(0, 0, "0"));
  *written = 0;
  last->clear();
  if (*found == 0) return Status::OK();
  PLANRUN_RETURN_IF_ERROR(BisectRefused(
      db_, 1, static_cast<size_t>(*found) + 1,
      [&](size_t begin, size_t end, int64_t* n) { return WritePart(begin, end, n); },
      [&](size_t n, const Status& st) { return RejectPart(n, st, rejects); }, written));
  PLANRUN_RETURN_IF_ERROR(
      LastKey("SELECT " + key + " FROM " + parts_ + " ORDER BY planrun_n DESC LIMIT 1", last));
  return db_.Exec("DROP TABLE " + batch_ + ", " + parts_);
}

// "(t.key) IN (<keys of rows [begin, end) of parts_>)".
std::string TransformSqlWriter::PartKeys(size_t begin, size_t end) const {
  return "(" + QualifiedIdentList("t", spec_.key) + ") IN (SELECT " + QuoteIdentList(spec_.key) +
         " FROM " + parts_ + " WHERE planrun_n >= " + std::to_string(begin) + " AND planrun_n < " +
         std::to_string(end) + ")";
}

// Saves and updates rows [begin, end) of parts_.
Status TransformSqlWriter::WritePart(size_t begin, size_t end, int64_t* written) {
  const std::string keys = PartKeys(begin, end);
  pg::Result u;
  PLANRUN_RETURN_IF_ERROR(db_.Exec(
      "INSERT INTO " + prev_ + " SELECT " + QualifiedIdentList("t", spec_.key) + ", " +
          QualifiedIdentList("t", spec_.set) + " FROM " + spec_.table.Quoted() + " AS t WHERE " +
          keys + "; UPDATE " + spec_.table.Quoted() + " AS t SET " + sets_ + " WHERE " + keys,
      &u));
  *written = u.affected;
  return Status::OK();
}

// The reject of row `n` of parts_: its key, the row as it is (its key and
// the columns the step sets) and PostgreSQL's message.
Status TransformSqlWriter::RejectPart(size_t n, const Status& st, std::vector<Reject>* rejects) {
  std::vector<std::string> text;
  for (const std::string& k : spec_.key) text.push_back("r." + QuoteIdent(k) + "::text");
  pg::Result row;
  PLANRUN_RETURN_IF_ERROR(
      db_.Exec("SELECT " + Join(text, ", ") + ", to_jsonb(r)::text FROM (SELECT " +
                   QualifiedIdentList("t", spec_.key) + ", " + QualifiedIdentList("t", spec_.set) +
                   " FROM " + spec_.table.Quoted() + " AS t WHERE " + PartKeys(n, n + 1) + ") AS r",
               &row));
  if (row.rows.empty()) return Status::Internal("a refused row of the batch is gone");
  std::vector<std::string> k;
  for (size_t i = 0; i < spec_.key.size(); ++i) k.push_back(row.get(0, i));
  // Without the CONTEXT of a function or trigger the error came from.
  rejects->push_back({0, "", KeyJson(k), row.get(0, spec_.key.size()),
                      "PostgreSQL refused the new values: " +
                          st.message().substr(0, st.message().find("\nCONTEXT:")),
                      ""});
  return Status::OK();
}

}  // namespace planrun
