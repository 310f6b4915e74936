#include "steps/create_index_step.h"

#include "pg/session.h"
#include "plan/map_reader.h"
#include "report/reporter.h"
#include "steps/backup_names.h"
#include "steps/parse_helpers.h"
#include "util/sql.h"
#include "util/strings.h"

namespace planrun {

namespace {

/// The parsed body of a create_index step.
struct IndexSpec {
  TableName table;
  std::vector<std::string> columns;
  std::vector<std::string> expressions;  // SQL
  std::string name;
  bool unique = false;
  std::string method = "btree";
  std::string where;  // SQL; empty: a full index
  bool concurrently = true;
};

class CreateIndexStep : public Step {
 public:
  explicit CreateIndexStep(IndexSpec spec) : spec_(std::move(spec)) {}

  std::vector<TableName> Writes() const override { return {spec_.table}; }
  bool Transactional() const override { return !spec_.concurrently; }
  Reversibility reversibility() const override { return Reversibility::kReversible; }

  std::vector<std::string> DescribeUp(const StepEnv&) const override {
    return {CreateSql(spec_.concurrently)};
  }
  std::vector<std::string> DescribeDown(const StepEnv&) const override {
    return {DropSql(spec_.concurrently)};
  }

  Status Apply(StepContext& ctx) const override {
    if (!spec_.concurrently) {
      PLANRUN_RETURN_IF_ERROR(ctx.db->Exec(CreateSql(false)));
      return Created(ctx);
    }
    const bool concurrent = !ctx.dry_run;
    pg::Value valid;
    bool exists = false;
    PLANRUN_RETURN_IF_ERROR(Validity(ctx, &exists, &valid));
    if (exists && valid == "f") {
      PLANRUN_RETURN_IF_ERROR(ctx.db->Exec(DropSql(concurrent)));
      ctx.out->Info("dropped invalid index " + spec_.name + " left by an earlier run");
    }
    Status created = ctx.db->Exec(CreateSql(concurrent));
    if (!created.ok() && !concurrent) return created;
    PLANRUN_RETURN_IF_ERROR(Validity(ctx, &exists, &valid));
    if (!exists) {
      if (!created.ok()) return created;
      return Status::Failed("index \"" + spec_.name + "\" was not created: another relation " +
                            "with that name exists in schema " + Schema());
    }
    if (valid == "f") {
      PLANRUN_RETURN_IF_ERROR(ctx.db->Exec(DropSql(concurrent)));
      std::string msg = "index \"" + spec_.name +
                        "\" is invalid after CREATE INDEX CONCURRENTLY (a duplicate key?); "
                        "dropped it, fix the data and run apply again";
      if (!created.ok()) msg += ": " + created.message();
      return Status::Failed(msg);
    }
    PLANRUN_RETURN_IF_ERROR(created);
    return Created(ctx);
  }

  Status Revert(StepContext& ctx) const override {
    PLANRUN_RETURN_IF_ERROR(ctx.db->Exec(DropSql(spec_.concurrently && !ctx.dry_run)));
    ctx.out->Info("dropped index " + spec_.name + " on " + spec_.table.Display());
    return Status::OK();
  }

 private:
  std::string Schema() const { return spec_.table.schema.empty() ? "public" : spec_.table.schema; }
  std::string QualifiedName() const { return QuoteIdent(Schema()) + "." + QuoteIdent(spec_.name); }

  std::string CreateSql(bool concurrent) const {
    std::vector<std::string> keys;
    for (const std::string& c : spec_.columns) keys.push_back(QuoteIdent(c));
    for (const std::string& e : spec_.expressions) keys.push_back("(" + e + ")");
    std::string sql = std::string("CREATE ") + (spec_.unique ? "UNIQUE " : "") + "INDEX " +
                      (concurrent ? "CONCURRENTLY " : "") + "IF NOT EXISTS " +
                      QuoteIdent(spec_.name) + " ON " + spec_.table.Quoted() + " USING " +
                      QuoteIdent(spec_.method) + " (" + Join(keys, ", ") + ")";
    if (!spec_.where.empty()) sql += " WHERE " + spec_.where;
    return sql;
  }
  std::string DropSql(bool concurrent) const {
    return std::string("DROP INDEX ") + (concurrent ? "CONCURRENTLY " : "") + "IF EXISTS " +
           QualifiedName();
  }

  /// Whether the index exists and its pg_index.indisvalid ("t"/"f").
  Status Validity(StepContext& ctx, bool* exists, pg::Value* valid) const {
    pg::Result r;
    PLANRUN_RETURN_IF_ERROR(
        ctx.db->Query("SELECT i.indisvalid FROM pg_index i WHERE i.indexrelid = to_regclass($1)",
                      {QualifiedName()}, &r));
    *exists = !r.rows.empty();
    *valid = *exists ? r.at(0, 0) : pg::Value();
    return Status::OK();
  }

  Status Created(StepContext& ctx) const {
    ctx.out->Info("created index " + spec_.name + " on " + spec_.table.Display());
    return Status::OK();
  }

  IndexSpec spec_;
};

}  // namespace

Status ParseCreateIndexStep(const Node& body, const StepParseContext& ctx,
                            std::unique_ptr<Step>* out) {
  MapReader r(ctx.file, body, "create_index step");
  PLANRUN_RETURN_IF_ERROR(CheckKeys(
      r, {"table", "columns", "expressions", "name", "unique", "using", "where", "concurrently"}));
  IndexSpec spec;
  PLANRUN_RETURN_IF_ERROR(r.Table("table", &spec.table, true));
  PLANRUN_RETURN_IF_ERROR(r.IdentifierList("columns", &spec.columns));
  PLANRUN_RETURN_IF_ERROR(r.StringList("expressions", &spec.expressions));
  PLANRUN_RETURN_IF_ERROR(r.Identifier("name", &spec.name));
  PLANRUN_RETURN_IF_ERROR(r.Bool("unique", &spec.unique));
  PLANRUN_RETURN_IF_ERROR(r.Identifier("using", &spec.method));
  PLANRUN_RETURN_IF_ERROR(ReadSql(r, "where", &spec.where, false));
  PLANRUN_RETURN_IF_ERROR(r.Bool("concurrently", &spec.concurrently));
  for (const std::string& e : spec.expressions) {
    if (Trim(e).empty()) {
      return r.Error(body.Get("expressions")->loc, "an expression in create_index step is empty");
    }
  }
  if (spec.columns.empty() && spec.expressions.empty()) {
    return r.Error(body.loc, "create_index step needs 'columns' or 'expressions'");
  }
  if (spec.name.empty()) {
    if (spec.columns.empty()) {
      return r.Error(body.loc, "create_index step needs 'name' when it indexes only expressions");
    }
    spec.name = ShortIdentifier(spec.table.name + "_" + Join(spec.columns, "_") + "_idx");
  }
  *out = std::make_unique<CreateIndexStep>(std::move(spec));
  return Status::OK();
}

}  // namespace planrun
