#include "steps/backup_step.h"

#include <algorithm>
#include <filesystem>
#include <set>

#include "pg/session.h"
#include "plan/map_reader.h"
#include "plan/plan.h"
#include "report/reporter.h"
#include "steps/backup_files.h"
#include "steps/backup_names.h"
#include "steps/parse_helpers.h"
#include "steps/table_info.h"
#include "util/sha256.h"
#include "util/sql.h"
#include "util/strings.h"

namespace planrun {

namespace {

std::string CopySql(const TableName& table) { return "COPY " + table.Quoted() + " TO STDOUT"; }

std::string LockSql(const TableName& table) {
  return "LOCK TABLE " + table.Quoted() + " IN SHARE MODE";
}

std::string SchemaSql(const SchemaNames& names) {
  return "CREATE SCHEMA IF NOT EXISTS " + QuoteIdent(names.backup);
}

}  // namespace

TableName BackupStep::BackupTable(const SchemaNames& names, const TableName& table) const {
  return TableName{names.backup, BackupTableName(spec_.version, spec_.step_id, table)};
}

std::string BackupStep::VersionDir() const { return spec_.dir + "/v" + spec_.version; }

std::string BackupStep::FileName(const TableName& table) { return table.Key() + ".copy"; }

std::string BackupStep::Location(const SchemaNames& names, const TableName& table) const {
  if (!spec_.dir.empty()) return VersionDir() + "/" + FileName(table);
  return BackupTable(names, table).Display();
}

std::string BackupStep::RecordSql(const SchemaNames& names, const TableName& table,
                                  const std::string& source) const {
  return "INSERT INTO " + TableName{names.tracking, "backups"}.Quoted() +
         " (version, step_id, table_name, location, row_count, checksum) SELECT " +
         QuoteLiteral(spec_.version) + ", " + QuoteLiteral(spec_.step_id) + ", " +
         QuoteLiteral(table.Key()) + ", " + QuoteLiteral(Location(names, table)) + ", " +
         ChecksumSelectList({}) + " FROM " + source +
         " AS r ON CONFLICT (version, step_id, table_name) DO UPDATE SET location = "
         "EXCLUDED.location, row_count = EXCLUDED.row_count, checksum = EXCLUDED.checksum, "
         "created_at = now() RETURNING row_count, checksum";
}

std::vector<std::string> BackupStep::TableSql(const SchemaNames& names,
                                              const TableName& table) const {
  if (!spec_.dir.empty()) {
    return {LockSql(table), CopySql(table), RecordSql(names, table, table.Quoted())};
  }
  const std::string b = BackupTable(names, table).Quoted();
  return {"DROP TABLE IF EXISTS " + b, "CREATE TABLE " + b + " AS TABLE " + table.Quoted(),
          RecordSql(names, table, b)};
}

std::vector<std::string> BackupStep::DescribeUp(const StepEnv& env) const {
  std::vector<std::string> sql;
  if (spec_.dir.empty()) sql.push_back(SchemaSql(env.names));
  for (const TableName& t : spec_.tables) {
    for (std::string& s : TableSql(env.names, t)) sql.push_back(std::move(s));
  }
  return sql;
}

std::vector<std::string> BackupStep::DescribeDown(const StepEnv& env) const {
  if (!spec_.dir.empty()) return {};
  std::vector<std::string> tables;
  for (const TableName& t : spec_.tables) tables.push_back(BackupTable(env.names, t).Quoted());
  return {"DROP TABLE IF EXISTS " + Join(tables, ", "),
          "DELETE FROM " + TableName{env.names.tracking, "backups"}.Quoted() + " WHERE version = " +
              QuoteLiteral(spec_.version) + " AND step_id = " + QuoteLiteral(spec_.step_id)};
}

Status BackupStep::Apply(StepContext& ctx) const {
  return spec_.dir.empty() ? ApplyToSchema(ctx) : ApplyToDir(ctx);
}

Status BackupStep::Revert(StepContext& ctx) const {
  if (!spec_.dir.empty()) {
    ctx.out->Info("kept backup files in " + VersionDir());
    return Status::OK();
  }
  for (const std::string& sql : DescribeDown(ctx.env)) PLANRUN_RETURN_IF_ERROR(ctx.db->Exec(sql));
  std::vector<std::string> names;
  for (const TableName& t : spec_.tables) names.push_back(BackupTable(ctx.env.names, t).Display());
  ctx.out->Info("dropped backup tables " + Join(names, ", "));
  return Status::OK();
}

Status BackupStep::ApplyToSchema(StepContext& ctx) const {
  PLANRUN_RETURN_IF_ERROR(ctx.db->Exec(SchemaSql(ctx.env.names)));
  for (const TableName& t : spec_.tables) {
    pg::Result r;
    for (const std::string& sql : TableSql(ctx.env.names, t)) {
      PLANRUN_RETURN_IF_ERROR(ctx.db->Exec(sql, &r));
    }
    const int64_t rows = r.rows.empty() ? 0 : ToInt64(r.at(0, 0));
    ctx.counters["tables"]++;
    ctx.counters["rows"] += rows;
    ctx.out->Info("backed up " + t.Display() + " (" + std::to_string(rows) + " rows) to " +
                  Location(ctx.env.names, t));
  }
  return Status::OK();
}

Status BackupStep::ApplyToDir(StepContext& ctx) const {
  const std::string dir = VersionDir();
  const std::string metadata_path = dir + "/metadata.json";
  if (!ctx.dry_run) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) return Status::Io("cannot create backup directory " + dir + ": " + ec.message());
    std::filesystem::remove(metadata_path, ec);
    if (ec) return Status::Io("cannot remove old " + metadata_path + ": " + ec.message());
  }
  BackupMetadata metadata;
  metadata.plan = ctx.env.plan ? ctx.env.plan->name : "";
  metadata.version = spec_.version;
  metadata.step_id = spec_.step_id;
  metadata.created_at = UtcNow();
  for (const TableName& t : spec_.tables) {
    BackupFileEntry entry;
    PLANRUN_RETURN_IF_ERROR(SaveFile(ctx, t, &entry));
    ctx.counters["tables"]++;
    ctx.counters["rows"] += entry.rows;
    ctx.out->Info(
        (ctx.dry_run ? "read " : "backed up ") + t.Display() + " (" + std::to_string(entry.rows) +
        " rows) " +
        (ctx.dry_run ? "without writing it: dry run" : "to " + Location(ctx.env.names, t)));
    metadata.tables.push_back(std::move(entry));
  }
  if (ctx.dry_run) return Status::OK();
  return WriteFileAtomically(metadata_path, MetadataJson(metadata));
}

Status BackupStep::SaveFile(StepContext& ctx, const TableName& table, BackupFileEntry* out) const {
  PLANRUN_RETURN_IF_ERROR(ctx.db->Exec(LockSql(table)));
  out->table = table.Key();
  out->file = FileName(table);
  PLANRUN_RETURN_IF_ERROR(LoadColumns(*ctx.db, table, &out->columns));
  std::unique_ptr<AtomicFile> file;  // none in a dry run
  if (!ctx.dry_run) {
    PLANRUN_RETURN_IF_ERROR(AtomicFile::Create(VersionDir() + "/" + out->file, &file));
  }
  Sha256 sha;
  int64_t lines = 0;
  PLANRUN_RETURN_IF_ERROR(ctx.db->CopyOut(CopySql(table), [&](std::string_view chunk) {
    lines += std::count(chunk.begin(), chunk.end(), '\n');
    sha.Update(chunk);
    return file ? file->Write(chunk) : Status::OK();
  }));
  if (file) PLANRUN_RETURN_IF_ERROR(file->Commit());
  out->sha256 = sha.HexDigest();
  pg::Result r;
  PLANRUN_RETURN_IF_ERROR(ctx.db->Exec(RecordSql(ctx.env.names, table, table.Quoted()), &r));
  if (r.rows.empty()) {
    return Status::Internal("recording the backup of " + table.Display() + " returned no row");
  }
  out->rows = ToInt64(r.at(0, 0));
  out->checksum = r.get(0, 1);
  if (out->rows != lines) {
    return Status::Failed("backup of " + table.Display() + " is inconsistent: COPY wrote " +
                          std::to_string(lines) + " rows but the table has " +
                          std::to_string(out->rows));
  }
  return Status::OK();
}

Status ParseBackupStep(const Node& body, const StepParseContext& ctx, std::unique_ptr<Step>* out) {
  MapReader r(ctx.file, body, "backup step");
  PLANRUN_RETURN_IF_ERROR(CheckKeys(r, {"tables", "to"}));
  BackupSpec spec;
  spec.version = ctx.version.text;
  spec.step_id = ctx.step_id;
  PLANRUN_RETURN_IF_ERROR(r.TableList("tables", &spec.tables, true));
  PLANRUN_RETURN_IF_ERROR(r.String("to", &spec.dir));
  const Node* tables = body.Get("tables");
  if (spec.tables.empty()) return r.Error(tables->loc, "'tables' in backup step is empty");
  std::set<TableName> seen;
  for (const TableName& t : spec.tables) {
    if (!seen.insert(t).second) {
      return r.Error(tables->loc, "table " + t.Display() + " is listed twice in backup step");
    }
  }
  if (const Node* to = body.Get("to"); to && Trim(spec.dir).empty()) {
    return r.Error(to->loc, "'to' in backup step is empty");
  }
  while (spec.dir.size() > 1 && spec.dir.back() == '/') spec.dir.pop_back();
  *out = std::make_unique<BackupStep>(std::move(spec));
  return Status::OK();
}

}  // namespace planrun
