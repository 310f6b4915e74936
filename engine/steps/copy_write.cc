#include "steps/copy_write.h"

#include <algorithm>
#include <charconv>
#include <nlohmann/json.hpp>

#include "util/sql.h"
#include "util/strings.h"

namespace planrun {

namespace {

std::string ConflictClause(const CopySpec& spec) {
  if (spec.on_conflict == OnConflict::kSkip) return " ON CONFLICT DO NOTHING";
  if (spec.on_conflict != OnConflict::kUpdate) return "";
  std::vector<std::string> sets;
  for (const auto& c : spec.to_columns) {
    sets.push_back(QuoteIdent(c) + " = EXCLUDED." + QuoteIdent(c));
  }
  return " ON CONFLICT (" + QuoteIdentList(spec.conflict_key) + ") DO UPDATE SET " +
         Join(sets, ", ");
}

// Sends `text` as the whole input of `copy_sql`.
// Upserts, and targets whose keys copy cannot know in advance: stage the
// rows, then INSERT ... SELECT ... RETURNING the keys it inserted.
Status StageWrite(const CopySpec& spec, pg::Session& db, const CopyTarget& t, const Processed& p,
                  int64_t* written) {
  const std::string cols = QuoteIdentList(spec.to_columns);
  PLANRUN_RETURN_IF_ERROR(db.Exec("TRUNCATE " + t.stage));
  PLANRUN_RETURN_IF_ERROR(
      SendCopy(db, "COPY " + t.stage + " (" + cols + ") FROM STDIN", p.copy_text, nullptr));
  if (spec.on_conflict == OnConflict::kUpdate) {
    PLANRUN_RETURN_IF_ERROR(db.Exec(
        "INSERT INTO " + t.prev + " SELECT t.* FROM " + spec.to_table.Quoted() + " AS t WHERE (" +
        QualifiedIdentList("t", spec.conflict_key) + ") IN (SELECT " +
        QuoteIdentList(spec.conflict_key) + " FROM " + t.stage + ") ON CONFLICT DO NOTHING"));
  }
  const std::string pk = QuoteIdentList(t.pk);
  pg::Result r;
  PLANRUN_RETURN_IF_ERROR(
      db.Exec("WITH ins AS (INSERT INTO " + spec.to_table.Quoted() + " (" + cols + ") SELECT " +
                  cols + " FROM " + t.stage + ConflictClause(spec) + " RETURNING " + pk +
                  ", (xmax = 0) AS planrun_inserted), kept AS (INSERT INTO " + t.keys + " SELECT " +
                  pk + " FROM ins WHERE planrun_inserted) SELECT count(*) FROM ins",
              &r));
  *written = std::stoll(r.get(0, 0, "0"));
  return Status::OK();
}

// kSequence: one key per row (reserved ahead, or now), then sends
// "<key>\t<row>" lines.
Status SequenceWrite(const CopySpec& spec, pg::Session& db, const CopyTarget& t, const Processed& p,
                     int64_t* written) {
  std::string reserved;
  if (p.reserved.empty()) PLANRUN_RETURN_IF_ERROR(ReserveKeys(db, t, p.rows, &reserved));
  const std::string& keys = p.reserved.empty() ? reserved : p.reserved;
  std::string text;
  text.reserve(p.copy_text.size() + keys.size());
  size_t k = 0, r = 0;
  int64_t n = 0, lo = 0, hi = 0;
  bool integers = true;
  while (n < p.rows) {
    const size_t k_end = keys.find('\n', k);
    const size_t r_end = p.copy_text.find('\n', r);
    if (k_end == std::string::npos || r_end == std::string::npos) break;
    int64_t key = 0;
    const auto [end, ec] = std::from_chars(keys.data() + k, keys.data() + k_end, key);
    integers = integers && ec == std::errc() && end == keys.data() + k_end;
    lo = n == 0 ? key : std::min(lo, key);
    hi = n == 0 ? key : std::max(hi, key);
    text.append(keys, k, k_end - k).push_back('\t');
    text.append(p.copy_text, r, r_end + 1 - r);
    k = k_end + 1;
    r = r_end + 1;
    ++n;
  }
  if (n != p.rows || r != p.copy_text.size()) {
    return Status::Internal("copy reserved " + std::to_string(k) + " bytes of keys for " +
                            std::to_string(p.rows) + " rows and could not pair them");
  }
  PLANRUN_RETURN_IF_ERROR(SendCopy(db,
                                   "COPY " + spec.to_table.Quoted() + " (" + QuoteIdentList(t.pk) +
                                       ", " + QuoteIdentList(spec.to_columns) + ") FROM STDIN",
                                   text, written));
  // The keys are distinct (nextval): n of them between lo and hi, all
  // inserted, are the whole range when hi - lo + 1 == n.
  if (t.key_ranges && integers &&
      static_cast<uint64_t>(hi) - static_cast<uint64_t>(lo) == static_cast<uint64_t>(n - 1)) {
    return db.Exec("INSERT INTO " + t.ranges + " VALUES (" + std::to_string(lo) + ", " +
                   std::to_string(hi) + ")");
  }
  return SendCopy(db, "COPY " + t.keys + " FROM STDIN", keys.substr(0, k), nullptr);
}

}  // namespace

namespace {

/// The lines of `text` (each with its newline).
std::vector<std::string_view> Lines(const std::string& text) {
  std::vector<std::string_view> out;
  for (size_t start = 0; start < text.size();) {
    const size_t nl = text.find('\n', start);
    const size_t end = nl == std::string::npos ? text.size() : nl + 1;
    out.emplace_back(text.data() + start, end - start);
    start = end;
  }
  return out;
}

/// The rows of a batch, line by line, to write them again in parts.
struct BatchLines {
  std::vector<std::string_view> rows, keys, reserved, src_keys;
};

/// Rows [begin, end) of `lines` as a batch of their own.
Processed Part(const BatchLines& lines, size_t begin, size_t end) {
  Processed p;
  for (size_t i = begin; i < end; ++i) {
    p.copy_text.append(lines.rows[i]);
    if (i < lines.keys.size()) p.keys_text.append(lines.keys[i]);
    if (i < lines.reserved.size()) p.reserved.append(lines.reserved[i]);
    if (i < lines.src_keys.size()) p.src_keys.append(lines.src_keys[i]);
  }
  p.rows = static_cast<int64_t>(end - begin);
  return p;
}

/// The reject of a row PostgreSQL refused: its source key, and its target
/// row as a JSON object of to.columns.
Reject RefusedRow(const CopySpec& spec, const BatchLines& lines, size_t i, const Status& st) {
  auto fields = [](std::string_view line) {
    if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
    std::vector<RawField> out;
    ParseCopyLine(line, &out);
    return out;
  };
  std::vector<std::string> key;
  if (i < lines.src_keys.size()) {
    for (const RawField& f : fields(lines.src_keys[i])) key.push_back(f ? *f : "");
  }
  nlohmann::json row = nlohmann::json::object();
  const std::vector<RawField> values = fields(lines.rows[i]);
  for (size_t c = 0; c < spec.to_columns.size() && c < values.size(); ++c) {
    row[spec.to_columns[c]] = values[c] ? nlohmann::json(*values[c]) : nlohmann::json();
  }
  return {0, "", KeyJson(key), row.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
          // Without the CONTEXT, whose line number counts within the part written.
          "PostgreSQL refused the row: " + st.message().substr(0, st.message().find("\nCONTEXT:")),
          ""};
}

}  // namespace

Status WriteBatchOrRefuse(const CopySpec& spec, pg::Session& db, const CopyTarget& t,
                          const Processed& p, int64_t* written, std::vector<Reject>* refused) {
  *written = 0;
  if (p.rows == 0) return Status::OK();
  PLANRUN_RETURN_IF_ERROR(db.Exec("SAVEPOINT planrun_copy_batch"));
  Status st = WriteBatch(spec, db, t, p, written);
  if (st.ok()) return db.Exec("RELEASE SAVEPOINT planrun_copy_batch");
  if (!IsRowRefused(st)) return st;
  PLANRUN_RETURN_IF_ERROR(db.Exec("ROLLBACK TO SAVEPOINT planrun_copy_batch"));
  PLANRUN_RETURN_IF_ERROR(db.Exec("RELEASE SAVEPOINT planrun_copy_batch"));
  *written = 0;
  BatchLines lines;
  lines.rows = Lines(p.copy_text);
  lines.keys = Lines(p.keys_text);
  lines.reserved = Lines(p.reserved);
  lines.src_keys = Lines(p.src_keys);
  if (static_cast<int64_t>(lines.rows.size()) != p.rows) {
    return Status::Internal("copy batch of " + std::to_string(p.rows) + " rows has " +
                            std::to_string(lines.rows.size()) + " lines");
  }
  return BisectRefused(
      db, 0, lines.rows.size(),
      [&](size_t begin, size_t end, int64_t* n) {
        return WriteBatch(spec, db, t, Part(lines, begin, end), n);
      },
      [&](size_t i, const Status& st) {
        refused->push_back(RefusedRow(spec, lines, i, st));
        return Status::OK();
      },
      written);
}

Status ReserveKeys(pg::Session& db, const CopyTarget& t, int64_t n, std::string* keys) {
  keys->clear();
  return db.CopyOut("COPY (SELECT nextval(" + QuoteLiteral(t.sequence) +
                        "::regclass) FROM generate_series(1, " + std::to_string(n) + ")) TO STDOUT",
                    [&](std::string_view chunk) {
                      keys->append(chunk);
                      return Status::OK();
                    });
}

Status ResolveCopyTarget(const CopySpec& spec, pg::Session& db, CopyTarget* t) {
  t->mode = CopyWriteMode::kStage;
  if (spec.on_conflict != OnConflict::kError) return Status::OK();
  // Only a plain table without BEFORE INSERT row triggers, INSERT rules or
  // row-level security (which COPY FROM refuses) takes COPY exactly as it
  // would take INSERT.
  pg::Result r;
  PLANRUN_RETURN_IF_ERROR(db.Query(
      "SELECT c.relkind = 'r' AND NOT c.relrowsecurity AND NOT EXISTS (SELECT FROM pg_trigger g "
      "WHERE g.tgrelid = c.oid "
      "AND NOT g.tgisinternal AND g.tgtype & 7 = 7) AND NOT EXISTS (SELECT FROM pg_rewrite w "
      "WHERE w.ev_class = c.oid AND w.ev_type = '3') FROM pg_class c WHERE c.oid = $1::regclass",
      {spec.to_table.Quoted()}, &r));
  if (r.get(0, 0) != "t") return Status::OK();
  t->pk_out.clear();
  for (const std::string& k : t->pk) {
    for (size_t i = 0; i < spec.to_columns.size(); ++i) {
      if (spec.to_columns[i] == k) t->pk_out.push_back(i);
    }
  }
  if (t->pk.size() == 1) {
    PLANRUN_RETURN_IF_ERROR(db.Query(
        "SELECT atttypid IN (20, 21, 23) FROM pg_attribute WHERE attrelid = $1::regclass AND "
        "attname = $2",
        {spec.to_table.Quoted(), t->pk[0]}, &r));
    t->integer_key = !r.rows.empty() && r.get(0, 0) == "t";
  }
  if (t->pk_out.size() == t->pk.size()) {
    t->mode = CopyWriteMode::kKnownKeys;
    return Status::OK();
  }
  if (t->pk.size() != 1 || !t->pk_out.empty()) return Status::OK();
  // The key's default must be nextval of its own sequence (serial, identity).
  PLANRUN_RETURN_IF_ERROR(
      db.Query("SELECT s.seq, a.attidentity <> '' OR pg_get_expr(d.adbin, d.adrelid) = "
               "format('nextval(%L::regclass)', s.seq::regclass) FROM pg_attribute a "
               "CROSS JOIN LATERAL (SELECT pg_get_serial_sequence($1, $2) AS seq) s "
               "LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
               "WHERE a.attrelid = $1::regclass AND a.attname = $2 AND s.seq IS NOT NULL",
               {spec.to_table.Quoted(), t->pk[0]}, &r));
  if (r.rows.empty() || r.get(0, 1) != "t") return Status::OK();
  t->sequence = r.get(0, 0);
  t->mode = CopyWriteMode::kSequence;
  return Status::OK();
}

namespace {

// True when `keys_text` (one integer key per line, as COPY wrote them) holds
// keys that fill lo..hi: n keys of a batch the target's primary key accepted
// are distinct, so n of them between lo and hi with hi - lo + 1 == n are the
// whole range, and no other row can hold a key in it.
bool ContiguousKeys(const std::string& keys_text, int64_t* lo, int64_t* hi) {
  uint64_t n = 0;
  for (size_t pos = 0; pos < keys_text.size();) {
    const size_t nl = keys_text.find('\n', pos);
    if (nl == std::string::npos) return false;
    int64_t key = 0;
    const auto [end, ec] = std::from_chars(keys_text.data() + pos, keys_text.data() + nl, key);
    if (ec != std::errc() || end != keys_text.data() + nl) return false;
    *lo = n == 0 ? key : std::min(*lo, key);
    *hi = n == 0 ? key : std::max(*hi, key);
    ++n;
    pos = nl + 1;
  }
  return n > 0 && static_cast<uint64_t>(*hi) - static_cast<uint64_t>(*lo) == n - 1;
}

}  // namespace

Status WriteBatch(const CopySpec& spec, pg::Session& db, const CopyTarget& t, const Processed& p,
                  int64_t* written) {
  *written = 0;
  if (p.rows == 0) return Status::OK();
  switch (t.mode) {
    case CopyWriteMode::kStage:
      return StageWrite(spec, db, t, p, written);
    case CopyWriteMode::kSequence:
      return SequenceWrite(spec, db, t, p, written);
    case CopyWriteMode::kKnownKeys:
      break;
  }
  PLANRUN_RETURN_IF_ERROR(SendCopy(
      db,
      "COPY " + spec.to_table.Quoted() + " (" + QuoteIdentList(spec.to_columns) + ") FROM STDIN",
      p.copy_text, written));
  int64_t lo = 0, hi = 0;
  if (t.key_ranges && ContiguousKeys(p.keys_text, &lo, &hi)) {
    return db.Exec("INSERT INTO " + t.ranges + " VALUES (" + std::to_string(lo) + ", " +
                   std::to_string(hi) + ")");
  }
  return SendCopy(db, "COPY " + t.keys + " FROM STDIN", p.keys_text, nullptr);
}

Status ForwardRows(pg::Session& source, const std::string& select_sql, const CopyTarget& t,
                   size_t ncols, Processed* p, std::string* last_line) {
  *p = Processed();
  last_line->clear();
  std::vector<size_t> starts(ncols + 1);  // where each field starts; then past the last tab
  return ForEachCopyLine(source, select_sql, [&](std::string_view line) -> Status {
    size_t pos = 0;
    for (size_t f = 0; f < ncols; ++f) {
      starts[f] = pos;
      const size_t tab = line.find('\t', pos);
      if (tab == std::string_view::npos) {
        return Status::Internal("malformed COPY line from the server");
      }
      pos = tab + 1;
    }
    starts[ncols] = pos;
    p->copy_text.append(line.data(), pos - 1).push_back('\n');
    p->src_keys.append(line.substr(pos)).push_back('\n');
    if (t.mode == CopyWriteMode::kKnownKeys) {
      for (size_t j = 0; j < t.pk_out.size(); ++j) {
        if (j > 0) p->keys_text.push_back('\t');
        const size_t f = t.pk_out[j];
        p->keys_text.append(line.substr(starts[f], starts[f + 1] - 1 - starts[f]));
      }
      p->keys_text.push_back('\n');
    }
    ++p->rows;
    last_line->assign(line);
    return Status::OK();
  });
}

namespace {

// Key types whose max() orders as ORDER BY does (btree default, same collation).
bool HasMatchingMax(uint32_t oid) {
  switch (oid) {
    case 20:
    case 21:
    case 23:
    case 25:
    case 1043:
    case 1082:
    case 1114:
    case 1184:
    case 1700:
      return true;
    default:
      return false;
  }
}

}  // namespace

bool RangeBatches(const CopySpec& spec, const std::vector<ColumnSpec>& key_cols) {
  return spec.on_conflict == OnConflict::kError && spec.from_query.empty() &&
         key_cols.size() == 1 && HasMatchingMax(key_cols[0].type_oid);
}

bool UsesKeyRanges(const CopySpec& spec, const CopyTarget& target,
                   const std::vector<ColumnSpec>& key_cols) {
  if (!target.integer_key) return false;
  return RunsInServer(spec)
             ? RangeBatches(spec, key_cols)
             : target.mode == CopyWriteMode::kSequence || target.mode == CopyWriteMode::kKnownKeys;
}

Status ReadServerBounds(const CopySpec& spec, pg::Session& db,
                        const std::vector<ColumnSpec>& key_cols,
                        const std::optional<std::vector<std::string>>& after_key,
                        ServerBounds* out) {
  const std::string k = QuoteIdent("planrun_key_1");
  pg::Result r;
  PLANRUN_RETURN_IF_ERROR(db.Exec(
      "SELECT count(*), max(" + k + ")::text FROM (" +
          CopySourceSql(spec, KeyAfter(key_cols, {0}, after_key), spec.settings.batch_size) +
          ") AS b",
      &r));
  out->rows = std::stoll(r.get(0, 0, "0"));
  out->last = r.get(0, 1, "");
  return Status::OK();
}

std::string ServerRangeSourceSql(const CopySpec& spec, const std::vector<ColumnSpec>& key_cols,
                                 const std::optional<std::vector<std::string>>& after_key,
                                 const ServerBounds& bounds) {
  const std::string upto = QuoteIdent(key_cols[0].name) + " <= " + QuoteLiteral(bounds.last) +
                           "::" + key_cols[0].type_name;
  return CopySourceSql(spec, KeyAfter(key_cols, {0}, after_key) + " AND " + upto, 0);
}

Status InsertServerRange(const CopySpec& spec, pg::Session& db, const CopyTarget& t,
                         const std::vector<ColumnSpec>& key_cols,
                         const std::optional<std::vector<std::string>>& after_key,
                         const ServerBounds& bounds, int64_t* read, int64_t* written) {
  const std::string cols = QuoteIdentList(spec.to_columns);
  const std::string pk = QuoteIdentList(t.pk);
  std::string sql = "WITH ins AS (INSERT INTO " + spec.to_table.Quoted() + " (" + cols +
                    ") SELECT " + cols + " FROM (" +
                    ServerRangeSourceSql(spec, key_cols, after_key, bounds) +
                    ") AS src RETURNING " + pk + ")";
  pg::Result r;
  if (t.key_ranges) {
    // One (lo, hi) row when the batch's keys are contiguous, else a row
    // per key (numeric: hi - lo cannot overflow).
    sql += ", b AS (SELECT min(" + pk + ") AS lo, max(" + pk +
           ") AS hi, count(*) AS n FROM ins), one_range AS (INSERT INTO " + t.ranges +
           " SELECT lo, hi FROM b WHERE hi::numeric - lo + 1 = n), per_key AS (INSERT INTO " +
           t.keys + " SELECT " + pk +
           " FROM ins WHERE (SELECT hi::numeric - lo + 1 <> n FROM b)) SELECT n FROM b";
    PLANRUN_RETURN_IF_ERROR(db.Exec(sql, &r));
    *written = std::stoll(r.get(0, 0, "0"));
  } else {
    PLANRUN_RETURN_IF_ERROR(
        db.Exec(sql + " INSERT INTO " + t.keys + " SELECT " + pk + " FROM ins", &r));
    *written = r.affected;
  }
  // Rows committed into the range after the count are copied too.
  *read = std::max(bounds.rows, *written);
  return Status::OK();
}

namespace {
Status ServerBatchFrom(const CopySpec& spec, pg::Session& db, const CopyTarget& t, size_t nkeys,
                       const std::string& batch, int64_t* read, int64_t* written,
                       std::vector<std::string>* last);
}  // namespace

Status ServerBatch(const CopySpec& spec, pg::Session& db, const CopyTarget& t,
                   const std::vector<ColumnSpec>& key_cols,
                   const std::optional<std::vector<std::string>>& after_key, int64_t* read,
                   int64_t* written, std::vector<std::string>* last) {
  std::vector<size_t> key_pos;
  for (size_t i = 0; i < key_cols.size(); ++i) key_pos.push_back(i);
  const std::string after = KeyAfter(key_cols, key_pos, after_key);
  const std::string batch = CopySourceSql(spec, after, spec.settings.batch_size);
  last->clear();
  if (RangeBatches(spec, key_cols)) {
    ServerBounds bounds;
    PLANRUN_RETURN_IF_ERROR(ReadServerBounds(spec, db, key_cols, after_key, &bounds));
    *read = bounds.rows;
    *written = 0;
    if (bounds.rows == 0) return Status::OK();
    last->push_back(bounds.last);
    return InsertServerRange(spec, db, t, key_cols, after_key, bounds, read, written);
  }
  return ServerBatchFrom(spec, db, t, key_cols.size(), batch, read, written, last);
}

namespace {

// The batch's rows from `batch` (a SELECT of the target columns, then the
// source key as planrun_key_1..n), inserted in one statement that records
// the keys it inserted (and, for upserts, saves the rows it replaces).
Status ServerBatchFrom(const CopySpec& spec, pg::Session& db, const CopyTarget& t, size_t nkeys,
                       const std::string& batch, int64_t* read, int64_t* written,
                       std::vector<std::string>* last) {
  const std::string cols = QuoteIdentList(spec.to_columns);
  const std::string pk = QuoteIdentList(t.pk);
  last->clear();
  pg::Result r;
  std::vector<std::string> keys, desc;
  for (size_t i = 0; i < nkeys; ++i) {
    keys.push_back(QuoteIdent("planrun_key_" + std::to_string(i + 1)));
    // Qualified, so ORDER BY sorts the key values, not their ::text output.
    desc.push_back("src." + keys.back() + " DESC");
  }
  std::string sql = "WITH src AS (" + batch + ")";
  if (spec.on_conflict == OnConflict::kUpdate) {
    // Same snapshot as the insert below: these are the rows as they were.
    sql += ", saved AS (INSERT INTO " + t.prev + " SELECT t.* FROM " + spec.to_table.Quoted() +
           " AS t WHERE (" + QualifiedIdentList("t", spec.conflict_key) + ") IN (SELECT " +
           QuoteIdentList(spec.conflict_key) + " FROM src) ON CONFLICT DO NOTHING)";
  }
  sql += ", ins AS (INSERT INTO " + spec.to_table.Quoted() + " (" + cols + ") SELECT " + cols +
         " FROM src" + ConflictClause(spec) + " RETURNING " + pk +
         ", (xmax = 0) AS planrun_inserted), kept AS (INSERT INTO " + t.keys + " SELECT " + pk +
         " FROM ins WHERE planrun_inserted) SELECT (SELECT count(*) FROM src), (SELECT count(*) "
         "FROM ins)";
  for (const auto& k : keys) {
    sql += ", (SELECT " + k + "::text FROM src ORDER BY " + Join(desc, ", ") + " LIMIT 1)";
  }
  PLANRUN_RETURN_IF_ERROR(db.Exec(sql, &r));
  *read = std::stoll(r.get(0, 0, "0"));
  *written = std::stoll(r.get(0, 1, "0"));
  for (size_t i = 0; i < keys.size(); ++i) last->push_back(r.get(0, 2 + i));
  return Status::OK();
}

// The rows of `parts` (InsertServerParts) numbered [begin, end).
std::string PartRows(const std::string& parts, size_t begin, size_t end) {
  return "SELECT * FROM " + parts + " WHERE planrun_n >= " + std::to_string(begin) +
         " AND planrun_n < " + std::to_string(end);
}

// The reject of row `n` of `parts`: its source key, the target row as JSON
// (its values as text) and PostgreSQL's message.
Status RefusedPart(const CopySpec& spec, pg::Session& db, size_t nkeys, const std::string& parts,
                   size_t n, const Status& st, std::vector<Reject>* refused) {
  std::vector<std::string> fields;
  for (size_t i = 1; i <= nkeys; ++i) {
    fields.push_back(QuoteIdent("planrun_key_" + std::to_string(i)) + "::text");
  }
  // Two arrays, not jsonb_build_object: a function takes at most 100
  // arguments, and a target may have more than 50 columns.
  std::vector<std::string> names, values;
  for (const std::string& c : spec.to_columns) {
    names.push_back(QuoteLiteral(c));
    values.push_back(QuoteIdent(c) + "::text");
  }
  pg::Result r;
  PLANRUN_RETURN_IF_ERROR(db.Exec("SELECT " + Join(fields, ", ") + ", json_object(ARRAY[" +
                                      Join(names, ", ") + "]::text[], ARRAY[" + Join(values, ", ") +
                                      "]::text[])::jsonb::text FROM (" + PartRows(parts, n, n + 1) +
                                      ") AS p",
                                  &r));
  if (r.rows.empty()) return Status::Internal("a refused row of the batch is gone");
  std::vector<std::string> key;
  for (size_t i = 0; i < nkeys; ++i) key.push_back(r.get(0, i));
  refused->push_back(
      {0, "", KeyJson(key), r.get(0, nkeys),
       "PostgreSQL refused the row: " + st.message().substr(0, st.message().find("\nCONTEXT:")),
       ""});
  return Status::OK();
}

}  // namespace

Status InsertServerParts(const CopySpec& spec, pg::Session& db, const CopyTarget& t, size_t nkeys,
                         const std::string& source_sql, const std::string& parts, int64_t* read,
                         int64_t* written, std::vector<Reject>* refused,
                         std::vector<std::string>* last) {
  std::vector<std::string> keys;
  for (size_t i = 1; i <= nkeys; ++i)
    keys.push_back(QuoteIdent("planrun_key_" + std::to_string(i)));
  // The values are computed once, into columns of their own types, so the
  // INSERTs convert them to the target's types as the batch's would.
  // Deferred constraints are checked per part, so their refused rows are
  // found too.
  PLANRUN_RETURN_IF_ERROR(db.Exec("SET CONSTRAINTS ALL IMMEDIATE; DROP TABLE IF EXISTS pg_temp." +
                                  parts + "; CREATE TEMP TABLE " + parts +
                                  " AS SELECT row_number() OVER (ORDER BY " + Join(keys, ", ") +
                                  ") AS planrun_n, s.* FROM (" + source_sql + ") AS s"));
  pg::Result count;
  PLANRUN_RETURN_IF_ERROR(db.Exec("SELECT count(*) FROM " + parts, &count));
  *read = std::stoll(count.get(0, 0, "0"));
  *written = 0;
  last->clear();
  if (*read == 0) return Status::OK();
  PLANRUN_RETURN_IF_ERROR(BisectRefused(
      db, 1, static_cast<size_t>(*read) + 1,
      [&](size_t begin, size_t end, int64_t* n) {
        int64_t rows = 0;
        std::vector<std::string> part_last;
        return ServerBatchFrom(spec, db, t, nkeys, PartRows(parts, begin, end), &rows, n,
                               &part_last);
      },
      [&](size_t n, const Status& st) {
        return RefusedPart(spec, db, nkeys, parts, n, st, refused);
      },
      written));
  pg::Result r;
  std::vector<std::string> text;
  for (const std::string& k : keys) text.push_back(k + "::text");
  PLANRUN_RETURN_IF_ERROR(db.Exec(
      "SELECT " + Join(text, ", ") + " FROM " + parts + " ORDER BY planrun_n DESC LIMIT 1", &r));
  for (size_t i = 0; i < nkeys; ++i) last->push_back(r.get(0, i));
  return db.Exec("DROP TABLE " + parts);
}

}  // namespace planrun
