// The `backup` step: saves whole tables so rollback can restore them.
//
//   - id: backup
//     backup:
//       tables: [packages, auth.users]
//       to: backups        # optional; relative to the current directory
//
// Without `to`, each table is copied into <backup schema>.<name> (see
// BackupTableName). With `to`, each table is written with COPY to
// <to>/v<version>/<schema>.<table>.copy, then <to>/v<version>/metadata.json
// lists the files with their row counts, sha256 and checksums; metadata.json
// is written last, so its presence means every file is complete. Either way
// one row per table goes to <tracking schema>.backups with the row count and
// TableChecksum, which a restore must reproduce. In a dry run, dir mode
// reads each table with COPY but writes no file.
//
// Rolling back the backup step itself drops the backup tables (schema mode)
// or keeps the files (dir mode). RestoreTableFromBackup is what the executor
// uses to undo steps that have no inverse (kNeedsBackup).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "plan/parser.h"

namespace planrun {

struct BackupFileEntry;

/// The parsed body of a backup step.
struct BackupSpec {
  std::vector<TableName> tables;
  std::string dir;      // `to:`; empty: tables in the backup schema
  std::string version;  // of the plan
  std::string step_id;
};

/// The backup step.
class BackupStep : public Step {
 public:
  explicit BackupStep(BackupSpec spec) : spec_(std::move(spec)) {}

  std::vector<TableName> Reads() const override { return spec_.tables; }
  std::vector<TableName> BackedUpTables() const override { return spec_.tables; }
  Reversibility reversibility() const override { return Reversibility::kReversible; }
  std::vector<std::string> DescribeUp(const StepEnv& env) const override;
  std::vector<std::string> DescribeDown(const StepEnv& env) const override;
  Status Apply(StepContext& ctx) const override;
  Status Revert(StepContext& ctx) const override;

  const BackupSpec& spec() const { return spec_; }
  /// Where `table` is saved in schema mode.
  TableName BackupTable(const SchemaNames& names, const TableName& table) const;
  /// The version directory in dir mode: "<to>/v<version>".
  std::string VersionDir() const;
  /// The COPY file name of `table` in dir mode: "<schema>.<table>.copy".
  static std::string FileName(const TableName& table);
  /// "planrun_backup.<name>" or the COPY file's path.
  std::string Location(const SchemaNames& names, const TableName& table) const;

 private:
  /// What Apply runs for one table (dir mode: around the file it writes).
  std::vector<std::string> TableSql(const SchemaNames& names, const TableName& table) const;
  std::string RecordSql(const SchemaNames& names, const TableName& table,
                        const std::string& source) const;
  Status ApplyToSchema(StepContext& ctx) const;
  Status ApplyToDir(StepContext& ctx) const;
  Status SaveFile(StepContext& ctx, const TableName& table, BackupFileEntry* out) const;

  BackupSpec spec_;
};

/// Parses the body of a `backup:` entry.
Status ParseBackupStep(const Node& body, const StepParseContext& ctx, std::unique_ptr<Step>* out);

/// Restores the exact rows `backup_decl` (a backup step) saved of `table`, in
/// the caller's transaction. With a primary key, rows other tables reference
/// stay in place: rows missing from the backup are deleted, rows in both are
/// updated (backup columns that the table still has, except generated ones),
/// missing rows are inserted (OVERRIDING SYSTEM VALUE); without one, the table
/// is emptied and refilled. Then the table's count and checksum over the
/// backup's columns must equal the recorded ones, else an error with both.
Status RestoreTableFromBackup(StepContext& ctx, const StepDecl& backup_decl,
                              const TableName& table);

}  // namespace planrun
