#include "steps/drop_columns_step.h"

#include <algorithm>
#include <set>

#include "pg/session.h"
#include "plan/map_reader.h"
#include "report/reporter.h"
#include "steps/backup_names.h"
#include "steps/parse_helpers.h"
#include "steps/table_info.h"
#include "util/sql.h"
#include "util/strings.h"

namespace planrun {

namespace {

/// The parsed body of a drop_columns step.
struct DropSpec {
  TableName table;
  std::vector<std::string> columns;
  std::string version;  // of the plan, for the backup table names
  std::string step_id;
};

/// A dropped column's definition as saved in the __columns table.
struct SavedColumn {
  std::string name;
  std::string type;
  bool not_null = false;
  pg::Value expr;  // default, or generation expression when `generated`
  bool generated = false;
};

class DropColumnsStep : public Step {
 public:
  explicit DropColumnsStep(DropSpec spec) : spec_(std::move(spec)) {}

  std::vector<TableName> Writes() const override { return {spec_.table}; }
  Reversibility reversibility() const override { return Reversibility::kReversible; }

  std::vector<std::string> DescribeUp(const StepEnv& env) const override {
    return UpSql(env, "<primary key columns of " + spec_.table.Quoted() + ">");
  }
  std::vector<std::string> DescribeDown(const StepEnv& env) const override {
    std::vector<std::string> adds, sets;
    for (const std::string& c : spec_.columns) {
      adds.push_back("ADD COLUMN " + QuoteIdent(c) + " <type and default saved in " +
                     Backup(env, "__columns") + ">");
      sets.push_back(QuoteIdent(c) + " = b." + QuoteIdent(c));
    }
    return {"ALTER TABLE " + spec_.table.Quoted() + " " + Join(adds, ", "),
            UpdateSql(env, sets, "<primary key columns match>"),
            "ALTER TABLE " + spec_.table.Quoted() +
                " ALTER COLUMN <each saved NOT NULL column> SET NOT NULL",
            DropBackupSql(env)};
  }

  Status Apply(StepContext& ctx) const override {
    std::vector<std::string> pk;
    PLANRUN_RETURN_IF_ERROR(LoadPrimaryKey(*ctx.db, spec_.table, &pk));
    if (pk.empty()) {
      return Status::Failed("drop_columns needs a primary key on " + spec_.table.Display() +
                            " to restore the dropped columns exactly on rollback; add a primary "
                            "key, or use a sql step after a backup step");
    }
    for (const std::string& c : spec_.columns) {
      if (std::find(pk.begin(), pk.end(), c) != pk.end()) {
        return Status::Failed("drop_columns cannot drop column '" + c + "' of " +
                              spec_.table.Display() + ": it is part of the primary key");
      }
    }
    for (const std::string& sql : UpSql(ctx.env, QuoteIdentList(pk))) {
      PLANRUN_RETURN_IF_ERROR(ctx.db->Exec(sql));
    }
    ctx.out->Info("dropped columns " + Join(spec_.columns, ", ") + " from " +
                  spec_.table.Display() + " (saved in " + ctx.env.names.backup + "." + Name("") +
                  ")");
    return Status::OK();
  }

  Status Revert(StepContext& ctx) const override {
    std::vector<SavedColumn> saved;
    PLANRUN_RETURN_IF_ERROR(LoadSaved(ctx, &saved));
    std::vector<ColumnInfo> backup_columns;
    PLANRUN_RETURN_IF_ERROR(LoadColumns(*ctx.db, BackupTable(ctx.env, ""), &backup_columns));
    std::vector<std::string> match;
    for (const ColumnInfo& c : backup_columns) {
      if (std::find(spec_.columns.begin(), spec_.columns.end(), c.name) == spec_.columns.end()) {
        match.push_back("d." + QuoteIdent(c.name) + " = b." + QuoteIdent(c.name));
      }
    }
    std::vector<std::string> adds, sets, not_null;
    for (const SavedColumn& c : saved) {
      std::string add = "ADD COLUMN " + QuoteIdent(c.name) + " " + c.type;
      if (c.generated) {
        add += " GENERATED ALWAYS AS (" + c.expr.value_or("NULL") + ") STORED";
      } else {
        if (c.expr) add += " DEFAULT " + *c.expr;
        sets.push_back(QuoteIdent(c.name) + " = b." + QuoteIdent(c.name));
      }
      adds.push_back(add);
      if (c.not_null) not_null.push_back("ALTER COLUMN " + QuoteIdent(c.name) + " SET NOT NULL");
    }
    PLANRUN_RETURN_IF_ERROR(
        ctx.db->Exec("ALTER TABLE " + spec_.table.Quoted() + " " + Join(adds, ", ")));
    if (!sets.empty()) {
      pg::Result r;
      PLANRUN_RETURN_IF_ERROR(ctx.db->Exec(UpdateSql(ctx.env, sets, Join(match, " AND ")), &r));
      ctx.counters["rows"] = r.affected;
    }
    if (!not_null.empty()) {
      PLANRUN_RETURN_IF_ERROR(
          ctx.db->Exec("ALTER TABLE " + spec_.table.Quoted() + " " + Join(not_null, ", ")));
    }
    PLANRUN_RETURN_IF_ERROR(ctx.db->Exec(DropBackupSql(ctx.env)));
    ctx.out->Info("restored columns " + Join(spec_.columns, ", ") + " of " + spec_.table.Display() +
                  " from " + ctx.env.names.backup + "." + Name(""));
    return Status::OK();
  }

 private:
  std::string Name(const std::string& suffix) const {
    return BackupTableName(spec_.version, spec_.step_id, spec_.table, suffix);
  }
  TableName BackupTable(const StepEnv& env, const std::string& suffix) const {
    return TableName{env.names.backup, Name(suffix)};
  }
  std::string Backup(const StepEnv& env, const std::string& suffix) const {
    return BackupTable(env, suffix).Quoted();
  }

  std::vector<std::string> UpSql(const StepEnv& env, const std::string& pk_list) const {
    std::vector<std::string> literals, drops;
    for (const std::string& c : spec_.columns) {
      literals.push_back(QuoteLiteral(c));
      drops.push_back("DROP COLUMN " + QuoteIdent(c));
    }
    return {"CREATE SCHEMA IF NOT EXISTS " + QuoteIdent(env.names.backup),
            "CREATE TABLE " + Backup(env, "") + " AS SELECT " + pk_list + ", " +
                QuoteIdentList(spec_.columns) + " FROM " + spec_.table.Quoted(),
            "CREATE TABLE " + Backup(env, "__columns") +
                " AS SELECT a.attname::text AS name, format_type(a.atttypid, a.atttypmod) AS type, "
                "a.attnotnull AS not_null, pg_get_expr(d.adbin, d.adrelid) AS expr, "
                "a.attgenerated <> '' AS generated, a.attnum::int AS ordinal "
                "FROM pg_attribute a LEFT JOIN pg_attrdef d "
                "ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
                "WHERE a.attrelid = " +
                QuoteLiteral(spec_.table.Quoted()) +
                "::regclass "
                "AND a.attname IN (" +
                Join(literals, ", ") + ") AND NOT a.attisdropped",
            "ALTER TABLE " + spec_.table.Quoted() + " " + Join(drops, ", ")};
  }

  std::string UpdateSql(const StepEnv& env, const std::vector<std::string>& sets,
                        const std::string& match) const {
    return "UPDATE " + spec_.table.Quoted() + " AS d SET " + Join(sets, ", ") + " FROM " +
           Backup(env, "") + " AS b WHERE " + match;
  }
  std::string DropBackupSql(const StepEnv& env) const {
    return "DROP TABLE " + Backup(env, "") + ", " + Backup(env, "__columns");
  }

  Status LoadSaved(StepContext& ctx, std::vector<SavedColumn>* out) const {
    pg::Result exists;
    PLANRUN_RETURN_IF_ERROR(
        ctx.db->Query("SELECT to_regclass($1) IS NOT NULL AND to_regclass($2) IS NOT NULL",
                      {Backup(ctx.env, ""), Backup(ctx.env, "__columns")}, &exists));
    if (exists.rows.empty() || exists.get(0, 0) != "t") {
      return Status::Failed("cannot restore columns " + Join(spec_.columns, ", ") + " of " +
                            spec_.table.Display() + ": backup tables " + ctx.env.names.backup +
                            "." + Name("") + " and " + Name("__columns") + " are missing");
    }
    pg::Result r;
    PLANRUN_RETURN_IF_ERROR(ctx.db->Exec("SELECT name, type, not_null, expr, generated FROM " +
                                             Backup(ctx.env, "__columns") + " ORDER BY ordinal",
                                         &r));
    out->clear();
    for (size_t i = 0; i < r.rows.size(); ++i) {
      out->push_back(
          {r.get(i, 0), r.get(i, 1), r.get(i, 2) == "t", r.at(i, 3), r.get(i, 4) == "t"});
    }
    return Status::OK();
  }

  DropSpec spec_;
};

}  // namespace

Status ParseDropColumnsStep(const Node& body, const StepParseContext& ctx,
                            std::unique_ptr<Step>* out) {
  MapReader r(ctx.file, body, "drop_columns step");
  PLANRUN_RETURN_IF_ERROR(CheckKeys(r, {"table", "columns"}));
  DropSpec spec;
  spec.version = ctx.version.text;
  spec.step_id = ctx.step_id;
  PLANRUN_RETURN_IF_ERROR(r.Table("table", &spec.table, true));
  PLANRUN_RETURN_IF_ERROR(r.IdentifierList("columns", &spec.columns, true));
  const Node* columns = body.Get("columns");
  if (spec.columns.empty()) return r.Error(columns->loc, "'columns' in drop_columns step is empty");
  std::set<std::string> seen;
  for (const std::string& c : spec.columns) {
    if (!seen.insert(c).second) {
      return r.Error(columns->loc, "column '" + c + "' is listed twice in drop_columns step");
    }
  }
  *out = std::make_unique<DropColumnsStep>(std::move(spec));
  return Status::OK();
}

}  // namespace planrun
