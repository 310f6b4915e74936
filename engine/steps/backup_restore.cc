// RestoreTableFromBackup (declared in backup_step.h): puts a table's rows back
// as a backup step saved them.
#include <algorithm>

#include "pg/session.h"
#include "plan/plan.h"
#include "report/reporter.h"
#include "steps/backup_files.h"
#include "steps/backup_step.h"
#include "steps/table_info.h"
#include "util/sha256.h"
#include "util/sql.h"
#include "util/strings.h"

namespace planrun {

namespace {

/// The temp table a dir-mode restore loads the COPY file into.
const TableName kRestoreTemp{"pg_temp", "planrun_restore"};

bool Contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

/// "d."a" = s."a" AND ..." over `columns`.
std::string Match(const std::vector<std::string>& columns) {
  std::vector<std::string> parts;
  for (const std::string& c : columns) {
    parts.push_back("d." + QuoteIdent(c) + " = s." + QuoteIdent(c));
  }
  return Join(parts, " AND ");
}

/// "ROW(<alias>."a", ...)::text".
std::string RowText(const std::string& alias, const std::vector<std::string>& columns) {
  std::vector<std::string> parts;
  for (const std::string& c : columns) parts.push_back(alias + "." + QuoteIdent(c));
  return "ROW(" + Join(parts, ", ") + ")::text";
}

/// "s."a", s."b"".
std::string SourceList(const std::vector<std::string>& columns) {
  std::vector<std::string> parts;
  for (const std::string& c : columns) parts.push_back("s." + QuoteIdent(c));
  return Join(parts, ", ");
}

/// Loads the dir-mode COPY file of `table` into kRestoreTemp; *columns gets
/// every column the table had when it was saved.
Status LoadFile(StepContext& ctx, const BackupStep& step, const TableName& table,
                std::vector<std::string>* columns) {
  const std::string metadata_path = step.VersionDir() + "/metadata.json";
  std::string text;
  PLANRUN_RETURN_IF_ERROR(ReadFileChunks(metadata_path, [&](std::string_view chunk) {
    text.append(chunk);
    return Status::OK();
  }));
  BackupMetadata metadata;
  PLANRUN_RETURN_IF_ERROR(ParseMetadataJson(metadata_path, text, &metadata));
  auto entry = std::find_if(metadata.tables.begin(), metadata.tables.end(),
                            [&](const BackupFileEntry& e) { return e.table == table.Key(); });
  if (entry == metadata.tables.end()) {
    return Status::Failed(metadata_path + " has no backup of " + table.Display());
  }
  const std::string path = step.VersionDir() + "/" + BackupStep::FileName(table);
  Sha256 sha;
  PLANRUN_RETURN_IF_ERROR(ReadFileChunks(path, [&](std::string_view chunk) {
    sha.Update(chunk);
    return Status::OK();
  }));
  const std::string digest = sha.HexDigest();
  if (digest != entry->sha256) {
    return Status::Failed("backup file " + path + " is damaged: its sha256 is " + digest + ", " +
                          metadata_path + " says " + entry->sha256);
  }
  std::vector<std::string> copied;
  columns->clear();
  for (const ColumnInfo& c : entry->columns) {
    columns->push_back(c.name);
    if (!c.generated) copied.push_back(c.name);
  }
  PLANRUN_RETURN_IF_ERROR(ctx.db->Exec("DROP TABLE IF EXISTS " + kRestoreTemp.Quoted()));
  PLANRUN_RETURN_IF_ERROR(ctx.db->Exec("CREATE TEMP TABLE " + QuoteIdent(kRestoreTemp.name) +
                                       " AS SELECT " + QuoteIdentList(copied) + " FROM " +
                                       table.Quoted() + " WITH NO DATA"));
  std::unique_ptr<FileReader> reader;
  PLANRUN_RETURN_IF_ERROR(FileReader::Open(path, &reader));
  return ctx.db->CopyIn(
      "COPY " + kRestoreTemp.Quoted() + " (" + QuoteIdentList(copied) + ") FROM STDIN",
      [&](std::string* chunk, bool* done) { return reader->Next(chunk, done); });
}

/// Where a restore reads the saved rows from.
struct RestoreSource {
  TableName table;                 // the backup table, or kRestoreTemp
  std::vector<std::string> saved;  // every column the backup has, in order
  std::vector<std::string> held;   // the columns `table` holds (not generated ones in dir mode)
};

/// Finds (schema mode) or loads (dir mode) the saved rows of `table`.
Status OpenSource(StepContext& ctx, const BackupStep& step, const TableName& table,
                  RestoreSource* out) {
  std::vector<ColumnInfo> cols;
  if (step.spec().dir.empty()) {
    out->table = step.BackupTable(ctx.env.names, table);
    Status st = LoadColumns(*ctx.db, out->table, &cols);
    if (st.code() == StatusCode::kFailed) {
      return Status::Failed("backup table " + out->table.Display() + " of " + table.Display() +
                            " is missing");
    }
    PLANRUN_RETURN_IF_ERROR(st);
    out->saved = out->held = ColumnNames(cols);
    return Status::OK();
  }
  out->table = kRestoreTemp;
  PLANRUN_RETURN_IF_ERROR(LoadFile(ctx, step, table, &out->saved));
  PLANRUN_RETURN_IF_ERROR(LoadColumns(*ctx.db, out->table, &cols));
  out->held = ColumnNames(cols);
  return Status::OK();
}

/// The statements that make `table` hold exactly the rows of `source`, each
/// with the word its affected count is reported with. `writable`: columns to
/// insert; `updatable`: those an UPDATE may set (no GENERATED ALWAYS identity).
std::vector<std::pair<std::string, std::string>> RestoreSql(
    const TableName& table, const TableName& source, const std::vector<std::string>& pk,
    const std::vector<std::string>& writable, const std::vector<std::string>& updatable) {
  const std::string t = table.Quoted() + " AS d";
  const std::string s = source.Quoted() + " AS s";
  const std::string insert = "INSERT INTO " + table.Quoted() + " (" + QuoteIdentList(writable) +
                             ") OVERRIDING SYSTEM VALUE SELECT " + SourceList(writable) + " FROM " +
                             s;
  if (pk.empty()) return {{"deleted", "DELETE FROM " + table.Quoted()}, {"inserted", insert}};
  std::vector<std::pair<std::string, std::string>> sql;
  sql.emplace_back("deleted", "DELETE FROM " + t + " WHERE NOT EXISTS (SELECT 1 FROM " + s +
                                  " WHERE " + Match(pk) + ")");
  std::vector<std::string> values, sets;
  for (const std::string& c : updatable) {
    if (Contains(pk, c)) continue;
    values.push_back(c);
    sets.push_back(QuoteIdent(c) + " = s." + QuoteIdent(c));
  }
  if (!sets.empty()) {
    sql.emplace_back("updated", "UPDATE " + t + " SET " + Join(sets, ", ") + " FROM " + s +
                                    " WHERE " + Match(pk) + " AND " + RowText("d", values) +
                                    " IS DISTINCT FROM " + RowText("s", values));
  }
  sql.emplace_back("inserted",
                   insert + " WHERE NOT EXISTS (SELECT 1 FROM " + t + " WHERE " + Match(pk) + ")");
  return sql;
}

}  // namespace

Status RestoreTableFromBackup(StepContext& ctx, const StepDecl& backup_decl,
                              const TableName& table) {
  const auto* step = dynamic_cast<const BackupStep*>(backup_decl.step.get());
  if (!step) return Status::Internal("step '" + backup_decl.id + "' is not a backup step");
  const BackupSpec& spec = step->spec();
  if (std::find(spec.tables.begin(), spec.tables.end(), table) == spec.tables.end()) {
    return Status::Internal("backup step '" + spec.step_id + "' does not save " + table.Display());
  }
  pg::Result recorded;
  PLANRUN_RETURN_IF_ERROR(ctx.db->Query(
      "SELECT row_count, checksum FROM " + TableName{ctx.env.names.tracking, "backups"}.Quoted() +
          " WHERE version = $1 AND step_id = $2 AND table_name = $3",
      {spec.version, spec.step_id, table.Key()}, &recorded));
  if (recorded.rows.empty()) {
    return Status::Failed("no backup of " + table.Display() + " by step '" + spec.step_id +
                          "' of plan " + spec.version + " is recorded in " +
                          ctx.env.names.tracking + ".backups");
  }
  const TableSum want{ToInt64(recorded.at(0, 0)), recorded.get(0, 1)};
  RestoreSource source;
  PLANRUN_RETURN_IF_ERROR(OpenSource(ctx, *step, table, &source));

  std::vector<ColumnInfo> target;
  PLANRUN_RETURN_IF_ERROR(LoadColumns(*ctx.db, table, &target));
  std::vector<std::string> writable, updatable;
  for (const std::string& c : source.saved) {
    auto t = std::find_if(target.begin(), target.end(),
                          [&](const ColumnInfo& info) { return info.name == c; });
    if (t == target.end()) {
      return Status::Failed("cannot restore " + table.Display() + " exactly: column '" + c +
                            "' of the backup no longer exists in the table");
    }
    if (t->generated || !Contains(source.held, c)) continue;
    writable.push_back(c);
    if (!t->identity_always) updatable.push_back(c);
  }
  std::vector<std::string> pk;
  PLANRUN_RETURN_IF_ERROR(LoadPrimaryKey(*ctx.db, table, &pk));
  for (const std::string& c : pk) {
    if (!Contains(writable, c)) {
      return Status::Failed("cannot restore " + table.Display() + ": primary key column '" + c +
                            "' is not in the backup");
    }
  }

  std::vector<std::string> done;
  for (const auto& [label, sql] : RestoreSql(table, source.table, pk, writable, updatable)) {
    pg::Result r;
    PLANRUN_RETURN_IF_ERROR(ctx.db->Exec(sql, &r));
    ctx.counters["rows_restored"] += r.affected;
    done.push_back(std::to_string(r.affected) + " " + label);
  }
  if (!spec.dir.empty()) {
    PLANRUN_RETURN_IF_ERROR(ctx.db->Exec("DROP TABLE " + kRestoreTemp.Quoted()));
  }
  TableSum got;
  PLANRUN_RETURN_IF_ERROR(TableChecksum(*ctx.db, table, source.saved, &got));
  if (got.rows != want.rows || got.checksum != want.checksum) {
    return Status::Failed("restore of " + table.Display() + " does not match its backup: " +
                          std::to_string(got.rows) + " rows with checksum " + got.checksum +
                          " after restore, " + std::to_string(want.rows) + " rows with checksum " +
                          want.checksum + " recorded at backup");
  }
  ctx.out->Info("restored " + table.Display() + " from " + step->Location(ctx.env.names, table) +
                ": " + Join(done, ", "));
  return Status::OK();
}

}  // namespace planrun
