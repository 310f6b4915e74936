#include "steps/rename_columns_step.h"

#include <set>
#include <utility>

#include "pg/session.h"
#include "plan/map_reader.h"
#include "report/reporter.h"
#include "steps/parse_helpers.h"
#include "util/sql.h"
#include "util/strings.h"

namespace planrun {

namespace {

/// The parsed body of a rename_columns step.
struct RenameSpec {
  TableName table;
  std::vector<std::pair<std::string, std::string>> renames;  // old, new; in file order
};

class RenameColumnsStep : public Step {
 public:
  explicit RenameColumnsStep(RenameSpec spec) : spec_(std::move(spec)) {}

  std::vector<TableName> Writes() const override { return {spec_.table}; }
  Reversibility reversibility() const override { return Reversibility::kReversible; }

  std::vector<std::string> DescribeUp(const StepEnv&) const override {
    std::vector<std::string> sql;
    for (const auto& [from, to] : spec_.renames) sql.push_back(Rename(from, to));
    return sql;
  }
  std::vector<std::string> DescribeDown(const StepEnv&) const override {
    std::vector<std::string> sql;
    for (auto it = spec_.renames.rbegin(); it != spec_.renames.rend(); ++it) {
      sql.push_back(Rename(it->second, it->first));
    }
    return sql;
  }

  Status Apply(StepContext& ctx) const override {
    PLANRUN_RETURN_IF_ERROR(RunAll(ctx, DescribeUp(ctx.env)));
    std::vector<std::string> parts;
    for (const auto& [from, to] : spec_.renames) parts.push_back(from + " to " + to);
    ctx.out->Info("renamed columns " + Join(parts, ", ") + " in " + spec_.table.Display());
    return Status::OK();
  }
  Status Revert(StepContext& ctx) const override {
    PLANRUN_RETURN_IF_ERROR(RunAll(ctx, DescribeDown(ctx.env)));
    std::vector<std::string> parts;
    for (auto it = spec_.renames.rbegin(); it != spec_.renames.rend(); ++it) {
      parts.push_back(it->second + " to " + it->first);
    }
    ctx.out->Info("renamed columns " + Join(parts, ", ") + " in " + spec_.table.Display());
    return Status::OK();
  }

 private:
  std::string Rename(const std::string& from, const std::string& to) const {
    return "ALTER TABLE " + spec_.table.Quoted() + " RENAME COLUMN " + QuoteIdent(from) + " TO " +
           QuoteIdent(to);
  }
  static Status RunAll(StepContext& ctx, const std::vector<std::string>& statements) {
    for (const std::string& sql : statements) PLANRUN_RETURN_IF_ERROR(ctx.db->Exec(sql));
    return Status::OK();
  }

  RenameSpec spec_;
};

}  // namespace

Status ParseRenameColumnsStep(const Node& body, const StepParseContext& ctx,
                              std::unique_ptr<Step>* out) {
  const std::string what = "rename_columns step";
  MapReader r(ctx.file, body, what);
  PLANRUN_RETURN_IF_ERROR(CheckKeys(r, {"table", "columns"}));
  RenameSpec spec;
  PLANRUN_RETURN_IF_ERROR(r.Table("table", &spec.table, true));
  const Node* columns = r.Raw("columns");
  if (!columns) return r.Error(body.loc, what + " needs 'columns'");
  if (!columns->IsMap()) {
    return r.Error(columns->loc, "'columns' must be a mapping of old name to new name, got " +
                                     columns->KindName());
  }
  if (columns->map.empty()) return r.Error(columns->loc, "'columns' in " + what + " is empty");
  std::set<std::string> targets;
  for (const auto& [from, to] : columns->map) {
    PLANRUN_RETURN_IF_ERROR(CheckIdentifier(ctx.file, from, what));
    if (!to.IsScalar()) {
      return r.Error(to.loc, "new name for column '" + from.scalar +
                                 "' must be an identifier, got " + to.KindName());
    }
    PLANRUN_RETURN_IF_ERROR(CheckIdentifier(ctx.file, to, what));
    if (!targets.insert(to.scalar).second) {
      return r.Error(to.loc, "two columns are renamed to '" + to.scalar + "' in " + what);
    }
    spec.renames.emplace_back(from.scalar, to.scalar);
  }
  *out = std::make_unique<RenameColumnsStep>(std::move(spec));
  return Status::OK();
}

}  // namespace planrun
