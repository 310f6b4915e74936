#include "steps/table_info.h"

#include <cstdlib>

#include <nlohmann/json.hpp>

#include "util/sql.h"
#include "util/strings.h"

namespace planrun {

Status LoadColumns(pg::Session& db, const TableName& table, std::vector<ColumnInfo>* out) {
  pg::Result r;
  PLANRUN_RETURN_IF_ERROR(
      db.Query("SELECT c.rel IS NULL, a.attname, format_type(a.atttypid, a.atttypmod), "
               "a.attgenerated <> '', a.attidentity = 'a', a.atttypid "
               "FROM (SELECT to_regclass($1) AS rel) c LEFT JOIN pg_attribute a "
               "ON a.attrelid = c.rel AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
               {table.Quoted()}, &r));
  if (r.rows.empty() || r.get(0, 0) == "t") {
    return Status::Failed("table " + table.Display() + " does not exist");
  }
  out->clear();
  for (size_t i = 0; i < r.rows.size(); ++i) {
    if (!r.at(i, 1)) continue;
    out->push_back({*r.at(i, 1), r.get(i, 2), r.get(i, 3) == "t", r.get(i, 4) == "t",
                    static_cast<uint32_t>(ToInt64(r.at(i, 5)))});
  }
  return Status::OK();
}

Status LoadPrimaryKey(pg::Session& db, const TableName& table, std::vector<std::string>* out) {
  pg::Result r;
  PLANRUN_RETURN_IF_ERROR(
      db.Query("SELECT a.attname FROM pg_index i JOIN pg_attribute a "
               "ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey) "
               "WHERE i.indrelid = to_regclass($1) AND i.indisprimary "
               "ORDER BY array_position(i.indkey::int2[], a.attnum)",
               {table.Quoted()}, &r));
  out->clear();
  for (size_t i = 0; i < r.rows.size(); ++i) out->push_back(r.get(i, 0));
  return Status::OK();
}

int64_t ToInt64(const pg::Value& v) { return v ? std::strtoll(v->c_str(), nullptr, 10) : 0; }

std::vector<std::string> ColumnNames(const std::vector<ColumnInfo>& columns) {
  std::vector<std::string> names;
  for (const ColumnInfo& c : columns) names.push_back(c.name);
  return names;
}

std::string ChecksumSelectList(const std::vector<std::string>& columns) {
  std::string row = "r";
  if (!columns.empty()) {
    row = "ROW(";
    for (size_t i = 0; i < columns.size(); ++i) {
      if (i) row += ", ";
      row += "r." + QuoteIdent(columns[i]);
    }
    row += ")";
  }
  return "count(*), coalesce(sum(('x' || substr(md5(" + row +
         "::text), 1, 16))::bit(64)::bigint::numeric), 0)::text";
}

Status TableChecksum(pg::Session& db, const TableName& table,
                     const std::vector<std::string>& columns, TableSum* out) {
  pg::Result r;
  PLANRUN_RETURN_IF_ERROR(
      db.Exec("SELECT " + ChecksumSelectList(columns) + " FROM " + table.Quoted() + " AS r", &r));
  if (r.rows.empty())
    return Status::Internal("checksum of " + table.Display() + " returned no row");
  out->rows = ToInt64(r.at(0, 0));
  out->checksum = r.get(0, 1);
  return Status::OK();
}

Status CheckKeyUnique(pg::Session& db, const TableName& table, const std::vector<std::string>& key,
                      const std::string& what) {
  pg::Result r;
  PLANRUN_RETURN_IF_ERROR(db.Query(
      "SELECT c.relkind IN ('r', 'p', 'm'), EXISTS (SELECT FROM pg_index i WHERE i.indrelid = "
      "c.oid AND i.indisunique AND i.indpred IS NULL AND i.indexprs IS NULL AND NOT EXISTS "
      "(SELECT FROM unnest((i.indkey::int2[])[0:i.indnkeyatts - 1]) k(n) WHERE k.n NOT IN "
      "(SELECT a.attnum FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname IN "
      "(SELECT jsonb_array_elements_text($2::jsonb))))) FROM pg_class c "
      "WHERE c.oid = $1::regclass",
      {table.Quoted(), nlohmann::json(key).dump()}, &r));
  if (r.rows.empty() || r.get(0, 0) != "t" || r.get(0, 1) == "t") return Status::OK();
  return Status::Failed(what + ": key (" + Join(key, ", ") + ") of table " + table.Display() +
                        " is not unique: no primary key or unique index (without WHERE) is on "
                        "these columns. Batches are read in key order after the last key done, "
                        "so rows sharing a key could be skipped; name a unique key, or add a "
                        "unique index on it");
}

}  // namespace planrun
