#include "steps/copy_step.h"

#include "plan/plan.h"
#include "steps/backup_names.h"
#include "steps/copy_spec.h"
#include "steps/parse_helpers.h"
#include "util/sha256.h"
#include "util/sql.h"
#include "util/strings.h"

namespace planrun {

Status RunCopy(const CopySpec& spec, StepContext& ctx);
Status RevertCopy(const CopySpec& spec, StepContext& ctx);

namespace {

class CopyStep : public Step {
 public:
  explicit CopyStep(CopySpec spec) : spec_(std::move(spec)) {}

  std::vector<TableName> Reads() const override {
    if (!spec_.connection.empty()) return {};
    return spec_.from_query.empty() ? std::vector<TableName>{spec_.from_table} : spec_.reads;
  }
  std::vector<TableName> Writes() const override { return {spec_.to_table}; }
  bool IsBarrier() const override {
    return spec_.connection.empty() && !spec_.from_query.empty() && spec_.reads.empty();
  }
  bool OwnsTransactions() const override { return true; }
  Reversibility reversibility() const override { return Reversibility::kReversible; }

  std::vector<std::string> DescribeUp(const StepEnv& env) const override {
    std::vector<std::string> out;
    const std::string batch =
        CopySourceSql(spec_, "(<key>) > (<last key>)", spec_.settings.batch_size);
    const std::string target =
        spec_.to_table.Quoted() + " (" + QuoteIdentList(spec_.to_columns) + ")";
    std::string conflict;
    if (spec_.on_conflict == OnConflict::kSkip) conflict = " ON CONFLICT DO NOTHING";
    if (spec_.on_conflict == OnConflict::kUpdate) {
      conflict = " ON CONFLICT (" + QuoteIdentList(spec_.conflict_key) + ") DO UPDATE";
    }
    const std::string keys = " -- keys of inserted rows saved in " + CopyKeysTable(spec_, env) +
                             " (contiguous integer keys as (lo, hi) in " +
                             CopyRangesTable(spec_, env) + ")";
    if (!spec_.hook.present && spec_.connection.empty()) {
      // copy_run.cc: ServerBatch, one statement per batch; rows never leave the server.
      out.push_back("-- per batch of " + std::to_string(spec_.settings.batch_size) +
                    " rows, in one statement:");
      out.push_back("INSERT INTO " + target + " SELECT ... FROM (" + batch + ") AS src" + conflict +
                    keys);
      if (!spec_.settings.max_rejects.None()) {
        out.push_back(
            "-- a batch PostgreSQL refuses for a value: again, from a temporary table of its rows, "
            "in halves under savepoints, each refused row rejected");
      }
      return out;
    }
    out.push_back("-- per batch of " + std::to_string(spec_.settings.batch_size) + " rows" +
                  (spec_.connection.empty() ? "" : ", read on connection " + spec_.connection) +
                  (spec_.hook.present ? ", through the hook " + spec_.hook.source.chunk_name : "") +
                  ":");
    out.push_back("COPY (" + batch + ") TO STDOUT");
    // copy_write.h: the write mode is chosen from the catalog when the step runs.
    if (spec_.on_conflict == OnConflict::kError) {
      out.push_back("COPY " + target + " FROM STDIN" + keys +
                    " (into a stage table, then INSERT ... SELECT, when the target has a BEFORE "
                    "INSERT trigger, a rule or row security, or keys copy cannot know)");
    } else {
      out.push_back("COPY <stage table> FROM STDIN; INSERT INTO " + target +
                    " SELECT ... FROM <stage table>" + conflict + keys);
    }
    return out;
  }
  std::vector<std::string> DescribeDown(const StepEnv& env) const override {
    std::vector<std::string> out;
    if (spec_.on_conflict == OnConflict::kUpdate) {
      out.push_back("UPDATE " + spec_.to_table.Quoted() + " <rows it updated> FROM " +
                    CopyPrevTable(spec_, env) + " -- their previous values");
    }
    out.push_back("DELETE FROM " + spec_.to_table.Quoted() + " <rows it inserted> USING " +
                  CopyKeysTable(spec_, env) + " and " + CopyRangesTable(spec_, env));
    return out;
  }

  Status Apply(StepContext& ctx) const override { return RunCopy(spec_, ctx); }
  Status Revert(StepContext& ctx) const override { return RevertCopy(spec_, ctx); }

 private:
  CopySpec spec_;
};

Status ParseFrom(const Node& node, const StepParseContext& ctx, CopySpec* spec) {
  MapReader r(ctx.file, node, "copy 'from'");
  PLANRUN_RETURN_IF_ERROR(
      CheckKeys(r, {"table", "query", "key", "columns", "where", "connection", "reads"}));
  const bool has_table = r.Raw("table") != nullptr, has_query = r.Raw("query") != nullptr;
  if (has_table && has_query) {
    return r.Error(r.Raw("query")->loc,
                   "copy 'from' has both 'table' and 'query'; copy from one of them");
  }
  if (!has_table && !has_query) return r.Error(node.loc, "copy 'from' needs 'table' or 'query'");
  PLANRUN_RETURN_IF_ERROR(r.Table("table", &spec->from_table));
  PLANRUN_RETURN_IF_ERROR(ReadSql(r, "query", &spec->from_query, false));
  PLANRUN_RETURN_IF_ERROR(r.IdentifierList("key", &spec->key, true));
  PLANRUN_RETURN_IF_ERROR(r.IdentifierList("columns", &spec->from_columns));
  PLANRUN_RETURN_IF_ERROR(ReadSql(r, "where", &spec->where, false));
  if (has_query && r.Raw("where")) {
    return r.Error(r.Raw("where")->loc, "'where' goes with 'table'; put the filter in the query");
  }
  if (has_query && r.Raw("columns")) {
    return r.Error(r.Raw("columns")->loc,
                   "'columns' goes with 'table'; a query names its own columns");
  }
  PLANRUN_RETURN_IF_ERROR(r.TableList("reads", &spec->reads));
  PLANRUN_RETURN_IF_ERROR(r.Identifier("connection", &spec->connection));
  PLANRUN_RETURN_IF_ERROR(CheckConnection(r, ctx, spec->connection));
  if (!spec->from_columns.empty()) {
    for (const std::string& k : spec->key) {
      bool listed = false;
      for (const std::string& c : spec->from_columns) listed = listed || c == k;
      if (!listed) spec->from_columns.push_back(k);
    }
  }
  return Status::OK();
}

Status ParseTo(const Node& node, const StepParseContext& ctx, CopySpec* spec) {
  MapReader r(ctx.file, node, "copy 'to'");
  PLANRUN_RETURN_IF_ERROR(CheckKeys(r, {"table", "columns", "on_conflict", "conflict_key"}));
  PLANRUN_RETURN_IF_ERROR(r.Table("table", &spec->to_table, true));
  PLANRUN_RETURN_IF_ERROR(r.IdentifierList("columns", &spec->to_columns));
  std::string mode = "error";
  PLANRUN_RETURN_IF_ERROR(r.String("on_conflict", &mode));
  if (mode == "error") {
    spec->on_conflict = OnConflict::kError;
  } else if (mode == "skip") {
    spec->on_conflict = OnConflict::kSkip;
  } else if (mode == "update") {
    spec->on_conflict = OnConflict::kUpdate;
  } else {
    return r.Error(r.Raw("on_conflict")->loc,
                   "'on_conflict' must be error, skip or update, got '" + mode + "'");
  }
  PLANRUN_RETURN_IF_ERROR(r.IdentifierList("conflict_key", &spec->conflict_key));
  if (spec->on_conflict == OnConflict::kUpdate && spec->conflict_key.empty()) {
    return r.Error(r.Raw("on_conflict")->loc,
                   "'on_conflict: update' needs 'conflict_key', the unique columns that match "
                   "an existing row");
  }
  return Status::OK();
}

Status Parse(const Node& body, const StepParseContext& ctx, std::unique_ptr<Step>* out) {
  MapReader r(ctx.file, body, "copy step");
  PLANRUN_RETURN_IF_ERROR(CheckKeys(
      r, {"from", "to", "transform", "lua", "map", "batch_size", "workers", "max_rejects"}));
  CopySpec spec;
  const Node* from = r.Raw("from");
  const Node* to = r.Raw("to");
  if (!from) return r.Error(body.loc, "copy step needs 'from'");
  if (!to) return r.Error(body.loc, "copy step needs 'to'");
  PLANRUN_RETURN_IF_ERROR(ParseFrom(*from, ctx, &spec));
  PLANRUN_RETURN_IF_ERROR(ParseTo(*to, ctx, &spec));
  PLANRUN_RETURN_IF_ERROR(ReadHook(r, ctx, "transform", &spec.hook));
  PLANRUN_RETURN_IF_ERROR(ReadDataSettings(r, ctx, &spec.settings));
  if (const Node* m = r.Raw("map")) {
    if (spec.hook.present) {
      return r.Error(m->loc, "'map' goes with a copy without a hook; set the columns in the hook");
    }
    if (!m->IsMap()) return r.Error(m->loc, "'map' must be a mapping of column: SQL expression");
    for (const auto& [k, v] : m->map) {
      PLANRUN_RETURN_IF_ERROR(CheckIdentifier(ctx.file, k, "map"));
      if (!v.IsScalar() || Trim(v.scalar).empty()) {
        return r.Error(v.loc, "'map' entry '" + k.scalar + "' must be a SQL expression");
      }
      spec.map.emplace_back(k.scalar, v.scalar);
    }
  }
  if (spec.to_columns.empty()) {
    if (spec.hook.present) {
      return r.Error(to->loc, "copy 'to' needs 'columns' when a hook makes the rows");
    }
    spec.to_columns = spec.from_columns;
    for (const auto& [col, expr] : spec.map) {
      bool listed = false;
      for (const std::string& c : spec.to_columns) listed = listed || c == col;
      if (!listed) spec.to_columns.push_back(col);
    }
    if (spec.to_columns.empty()) {
      return r.Error(to->loc,
                     "copy 'to' needs 'columns' (or 'from' needs 'columns') to know what to copy");
    }
  }
  if (const Node* m = r.Raw("map")) {
    for (const auto& [k, v] : m->map) {
      bool listed = false;
      for (const std::string& c : spec.to_columns) listed = listed || c == k.scalar;
      if (!listed) {
        return r.Error(k.loc, "'map' sets '" + k.scalar + "', which is not one of to.columns (" +
                                  Join(spec.to_columns, ", ") + "); add it there");
      }
    }
  }
  *out = std::make_unique<CopyStep>(std::move(spec));
  return Status::OK();
}

}  // namespace

std::string CopySourceSql(const CopySpec& spec, const std::string& after, int64_t limit) {
  // Without a hook, by the keys' own output columns: a bare key name would
  // name the target column of that name, which `map` may compute from
  // something else (id: gen_random_uuid()), and the batch would not be the
  // next keys.
  std::vector<std::string> keys;
  for (size_t i = 0; i < spec.key.size(); ++i) {
    keys.push_back(
        QuoteIdent(spec.hook.present ? spec.key[i] : "planrun_key_" + std::to_string(i + 1)));
  }
  const std::string order = Join(keys, ", ");
  // Without a hook the source already produces the target columns (mapped),
  // then the key columns under their own names for the checkpoint.
  std::vector<std::string> select;
  if (!spec.hook.present) {
    for (const std::string& c : spec.to_columns) {
      std::string expr = QuoteIdent(c);
      for (const auto& [col, sql] : spec.map) {
        if (col == c) expr = "(" + sql + ")";
      }
      select.push_back(expr + " AS " + QuoteIdent(c));
    }
    for (size_t i = 0; i < spec.key.size(); ++i) {
      select.push_back(QuoteIdent(spec.key[i]) + " AS " +
                       QuoteIdent("planrun_key_" + std::to_string(i + 1)));
    }
  } else if (!spec.from_columns.empty()) {
    for (const std::string& c : spec.from_columns) select.push_back(QuoteIdent(c));
  } else {
    select.push_back("*");
  }
  std::string sql;
  if (spec.from_query.empty()) {
    sql = "SELECT " + Join(select, ", ") + " FROM " + spec.from_table.Quoted() + " WHERE " +
          (spec.where.empty() ? "" : "(" + spec.where + ") AND ") + after;
  } else {
    sql = "SELECT " + Join(select, ", ") + " FROM (" + spec.from_query +
          ") AS planrun_source WHERE " + after;
  }
  return sql + " ORDER BY " + order + (limit > 0 ? " LIMIT " + std::to_string(limit) : "");
}

std::string CopyKeysTable(const CopySpec& spec, const StepEnv& env) {
  return QuoteIdent(env.names.backup) + "." +
         QuoteIdent(BackupTableName(env.plan->version.text, env.decl->id, spec.to_table, "__keys"));
}

std::string CopyRangesTable(const CopySpec& spec, const StepEnv& env) {
  return QuoteIdent(env.names.backup) + "." +
         QuoteIdent(
             BackupTableName(env.plan->version.text, env.decl->id, spec.to_table, "__ranges"));
}

std::string CopyPrevTable(const CopySpec& spec, const StepEnv& env) {
  return QuoteIdent(env.names.backup) + "." +
         QuoteIdent(BackupTableName(env.plan->version.text, env.decl->id, spec.to_table, "__prev"));
}

Status ParseCopyStep(const Node& body, const StepParseContext& ctx, std::unique_ptr<Step>* out) {
  return Parse(body, ctx, out);
}

}  // namespace planrun
