#include "steps/add_columns_step.h"

#include <regex>
#include <set>

#include "pg/session.h"
#include "plan/map_reader.h"
#include "report/reporter.h"
#include "steps/parse_helpers.h"
#include "util/sql.h"
#include "util/strings.h"

namespace planrun {

namespace {

/// One column to add.
struct NewColumn {
  std::string name;
  std::string type;
  std::string default_expr;  // SQL; empty: none
  bool not_null = false;
  bool unique = false;
  bool has_reference = false;
  TableName ref_table;
  std::string ref_column;  // empty: the referenced table's primary key
  std::string check;       // SQL; empty: none
};

/// The parsed body of an add_columns step.
struct AddColumnsSpec {
  TableName table;
  std::vector<NewColumn> columns;
};

std::string Definition(const NewColumn& c) {
  std::string sql = "ADD COLUMN " + QuoteIdent(c.name) + " " + c.type;
  if (!c.default_expr.empty()) sql += " DEFAULT " + c.default_expr;
  if (c.not_null) sql += " NOT NULL";
  if (c.unique) sql += " UNIQUE";
  if (c.has_reference) {
    sql += " REFERENCES " + c.ref_table.Quoted();
    if (!c.ref_column.empty()) sql += " (" + QuoteIdent(c.ref_column) + ")";
  }
  if (!c.check.empty()) sql += " CHECK (" + c.check + ")";
  return sql;
}

class AddColumnsStep : public Step {
 public:
  explicit AddColumnsStep(AddColumnsSpec spec) : spec_(std::move(spec)) {}

  std::vector<TableName> Writes() const override { return {spec_.table}; }
  std::vector<DeclaredFk> ForeignKeys() const override {
    std::vector<DeclaredFk> fks;
    std::set<TableName> seen;
    for (const NewColumn& c : spec_.columns) {
      if (c.has_reference && seen.insert(c.ref_table).second) {
        fks.push_back({spec_.table, c.ref_table});
      }
    }
    return fks;
  }
  Reversibility reversibility() const override { return Reversibility::kReversible; }

  std::vector<std::string> DescribeUp(const StepEnv&) const override {
    std::vector<std::string> parts;
    for (const NewColumn& c : spec_.columns) parts.push_back(Definition(c));
    return {"ALTER TABLE " + spec_.table.Quoted() + " " + Join(parts, ", ")};
  }
  std::vector<std::string> DescribeDown(const StepEnv&) const override {
    std::vector<std::string> parts;
    for (const NewColumn& c : spec_.columns) {
      parts.push_back("DROP COLUMN IF EXISTS " + QuoteIdent(c.name));
    }
    return {"ALTER TABLE " + spec_.table.Quoted() + " " + Join(parts, ", ")};
  }

  Status Apply(StepContext& ctx) const override {
    PLANRUN_RETURN_IF_ERROR(ctx.db->Exec(DescribeUp(ctx.env)[0]));
    ctx.out->Info("added columns " + Names() + " to " + spec_.table.Display());
    return Status::OK();
  }
  Status Revert(StepContext& ctx) const override {
    PLANRUN_RETURN_IF_ERROR(ctx.db->Exec(DescribeDown(ctx.env)[0]));
    ctx.out->Info("dropped columns " + Names() + " from " + spec_.table.Display());
    return Status::OK();
  }

 private:
  std::string Names() const {
    std::vector<std::string> names;
    for (const NewColumn& c : spec_.columns) names.push_back(c.name);
    return Join(names, ", ");
  }

  AddColumnsSpec spec_;
};

/// Parses "table", "table(column)" or "schema.table(column)".
bool ParseReference(const std::string& text, NewColumn* c) {
  std::string table = Trim(text);
  size_t open = table.find('(');
  if (open != std::string::npos) {
    if (table.back() != ')') return false;
    c->ref_column = Trim(table.substr(open + 1, table.size() - open - 2));
    if (!IsPlainIdentifier(c->ref_column)) return false;
    table = Trim(table.substr(0, open));
  }
  return ParseTableName(table, &c->ref_table);
}

Status ParseColumn(const SourceFile& file, const Node& item, NewColumn* c) {
  MapReader r(file, item, "column in add_columns step");
  PLANRUN_RETURN_IF_ERROR(
      CheckKeys(r, {"name", "type", "default", "not_null", "unique", "references", "check"}));
  PLANRUN_RETURN_IF_ERROR(r.Identifier("name", &c->name, true));
  PLANRUN_RETURN_IF_ERROR(r.String("type", &c->type, true));
  if (!IsSqlTypeName(c->type)) {
    return r.Error(item.Get("type")->loc,
                   "invalid type '" + c->type + "' for column '" + c->name +
                       "': use a type name such as text, numeric(10,2), timestamp with time "
                       "zone or text[]");
  }
  PLANRUN_RETURN_IF_ERROR(ReadSql(r, "default", &c->default_expr, false));
  PLANRUN_RETURN_IF_ERROR(r.Bool("not_null", &c->not_null));
  PLANRUN_RETURN_IF_ERROR(r.Bool("unique", &c->unique));
  std::string reference;
  PLANRUN_RETURN_IF_ERROR(r.String("references", &reference));
  if (const Node* ref = item.Get("references")) {
    c->has_reference = true;
    if (!ParseReference(reference, c)) {
      return r.Error(ref->loc, "invalid reference '" + reference + "' for column '" + c->name +
                                   "': use table, table(column) or schema.table(column) with "
                                   "plain identifiers");
    }
  }
  return ReadSql(r, "check", &c->check, false);
}

}  // namespace

bool IsSqlTypeName(const std::string& type) {
  static const std::regex kType(
      "[A-Za-z_][A-Za-z0-9_$]*(\\.[A-Za-z_][A-Za-z0-9_$]*)?"  // name or schema.name
      "( +[A-Za-z_][A-Za-z0-9_]*)*"                           // more words: character varying
      "( *\\( *[0-9]+( *, *-?[0-9]+)? *\\))?"                 // (n) or (n,m)
      "( +[A-Za-z_][A-Za-z0-9_]*)*"                           // timestamp(3) with time zone
      "(\\[[0-9]*\\])*");                                     // arrays
  return std::regex_match(type, kType);
}

Status ParseAddColumnsStep(const Node& body, const StepParseContext& ctx,
                           std::unique_ptr<Step>* out) {
  MapReader r(ctx.file, body, "add_columns step");
  PLANRUN_RETURN_IF_ERROR(CheckKeys(r, {"table", "columns"}));
  AddColumnsSpec spec;
  PLANRUN_RETURN_IF_ERROR(r.Table("table", &spec.table, true));
  const Node* columns = r.Raw("columns");
  if (!columns) return r.Error(body.loc, "add_columns step needs 'columns'");
  if (!columns->IsSeq()) {
    return r.Error(columns->loc, "'columns' must be a list, got " + columns->KindName());
  }
  if (columns->seq.empty()) return r.Error(columns->loc, "'columns' in add_columns step is empty");
  std::set<std::string> names;
  for (const Node& item : columns->seq) {
    NewColumn c;
    PLANRUN_RETURN_IF_ERROR(ParseColumn(ctx.file, item, &c));
    if (!names.insert(c.name).second) {
      return r.Error(item.Get("name")->loc,
                     "column '" + c.name + "' is listed twice in add_columns step");
    }
    spec.columns.push_back(std::move(c));
  }
  *out = std::make_unique<AddColumnsStep>(std::move(spec));
  return Status::OK();
}

}  // namespace planrun
