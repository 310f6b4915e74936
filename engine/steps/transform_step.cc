#include "steps/transform_step.h"

#include <algorithm>

#include "plan/plan.h"
#include "steps/backup_names.h"
#include "steps/parse_helpers.h"
#include "steps/transform_spec.h"
#include "util/sql.h"
#include "util/strings.h"

namespace planrun {

std::string TransformPrevTable(const TransformSpec& spec, const StepEnv& env) {
  return QuoteIdent(env.names.backup) + "." +
         QuoteIdent(BackupTableName(env.plan->version.text, env.decl->id, spec.table, "__prev"));
}

std::vector<std::string> TransformStageTables(const TransformSpec& spec, const StepEnv& env) {
  std::vector<std::string> out;
  for (const char* suffix : {"__stage1", "__stage2"}) {
    out.push_back(
        QuoteIdent(env.names.backup) + "." +
        QuoteIdent(BackupTableName(env.plan->version.text, env.decl->id, spec.table, suffix)));
  }
  return out;
}

std::vector<std::string> TransformHookColumns(const TransformSpec& spec) {
  std::vector<std::string> cols = spec.key;
  for (const auto& c : spec.columns) {
    if (std::find(cols.begin(), cols.end(), c) == cols.end()) cols.push_back(c);
  }
  return cols;
}

std::string TransformBatchSql(const TransformSpec& spec, const std::string& after, int64_t limit) {
  return "SELECT " + QuoteIdentList(spec.hook.present ? TransformHookColumns(spec) : spec.key) +
         " FROM " + spec.table.Quoted() + " WHERE " +
         (spec.where.empty() ? "" : "(" + spec.where + ") AND ") + after + " ORDER BY " +
         QuoteIdentList(spec.key) + " LIMIT " + std::to_string(limit) + " FOR UPDATE";
}

std::string TransformReadSql(const TransformSpec& spec, const std::string& cond, int64_t limit,
                             bool lock) {
  return "SELECT " + QuoteIdentList(TransformHookColumns(spec)) + ", " + QuoteIdentList(spec.set) +
         " FROM " + spec.table.Quoted() + " WHERE " +
         (spec.where.empty() ? "" : "(" + spec.where + ") AND ") + cond + " ORDER BY " +
         QuoteIdentList(spec.key) + (limit >= 0 ? " LIMIT " + std::to_string(limit) : "") +
         (lock ? " FOR UPDATE" : "");
}

namespace {

class TransformStep : public Step {
 public:
  explicit TransformStep(TransformSpec spec) : spec_(std::move(spec)) {}
  std::vector<TableName> Reads() const override {
    std::vector<TableName> out = spec_.reads;
    out.push_back(spec_.table);
    return out;
  }
  std::vector<TableName> Writes() const override { return {spec_.table}; }
  bool OwnsTransactions() const override { return true; }
  Reversibility reversibility() const override { return Reversibility::kReversible; }

  std::vector<std::string> DescribeUp(const StepEnv& env) const override {
    // What TransformRunner::PipelinedBatches and SqlBatch run, per batch.
    const std::string batch =
        TransformBatchSql(spec_, "(<key>) > (<last key>)", spec_.settings.batch_size);
    const std::string prev = TransformPrevTable(spec_, env);
    const std::string per =
        "-- per batch of " + std::to_string(spec_.settings.batch_size) + " rows";
    const std::vector<std::string> stages = TransformStageTables(spec_, env);
    if (spec_.hook.present) {
      return {
          per + ", through the hook " + spec_.hook.source.chunk_name +
              " (the next batch is read while this one is written):",
          "COPY (" +
              TransformReadSql(spec_, "(<key>) > (<last key>)", spec_.settings.batch_size, false) +
              ") TO STDOUT -- on a second session",
          "COPY <stage> FROM STDIN -- on the second session, into " + Join(stages, " or ") +
              " (unlogged, in turn): each row's key, the hook's new values and the values read",
          "INSERT INTO " + prev + " SELECT <key>, <values read of " + QuoteIdentList(spec_.set) +
              "> FROM <stage>",
          "UPDATE " + spec_.table.Quoted() + " SET (" + QuoteIdentList(spec_.set) +
              ") = <stage values> FROM <stage> WHERE <key matches> AND <the columns read are "
              "unchanged>" +
              (spec_.where.empty() ? "" : " AND (" + spec_.where + ")"),
          "-- where a row changed since it was read, or the UPDATE lost a deadlock: the batch "
          "again, read with FOR UPDATE",
          "-- when the step ends:",
          "DROP TABLE IF EXISTS " + Join(stages, ", ")};
    }
    std::vector<std::string> sets;
    for (const auto& [c, e] : spec_.sql) sets.push_back(QuoteIdent(c) + " = (" + e + ")");
    std::vector<std::string> out = {per + ":", "CREATE TEMP TABLE <batch> AS " + batch,
                                    "INSERT INTO " + prev + " <previous values of " +
                                        QuoteIdentList(spec_.set) + "> FROM " +
                                        spec_.table.Quoted() + " JOIN <batch>",
                                    "UPDATE " + spec_.table.Quoted() + " AS t SET " +
                                        Join(sets, ", ") + " WHERE <key in batch>"};
    if (!spec_.settings.max_rejects.None()) {
      out.push_back(
          "-- a batch PostgreSQL refuses for a value: again, in halves under savepoints, each "
          "refused row rejected");
    }
    return out;
  }
  std::vector<std::string> DescribeDown(const StepEnv& env) const override {
    std::vector<std::string> out;
    if (spec_.hook.present) {
      out.push_back("DROP TABLE IF EXISTS " + Join(TransformStageTables(spec_, env), ", ") +
                    " -- the read-ahead's, left by a run that stopped");
    }
    out.push_back("UPDATE " + spec_.table.Quoted() + " SET (" + QuoteIdentList(spec_.set) +
                  ") = <previous values> FROM " + TransformPrevTable(spec_, env));
    out.push_back("DROP TABLE " + TransformPrevTable(spec_, env));
    return out;
  }

  Status Apply(StepContext& ctx) const override { return RunTransform(spec_, ctx); }
  Status Revert(StepContext& ctx) const override { return RevertTransform(spec_, ctx); }

 private:
  TransformSpec spec_;
};

}  // namespace

Status ParseTransformStep(const Node& body, const StepParseContext& ctx,
                          std::unique_ptr<Step>* out) {
  MapReader r(ctx.file, body, "transform step");
  PLANRUN_RETURN_IF_ERROR(
      CheckKeys(r, {"table", "key", "where", "columns", "set", "reads", "transform", "lua",
                    "batch_size", "workers", "max_rejects"}));
  TransformSpec spec;
  PLANRUN_RETURN_IF_ERROR(r.Table("table", &spec.table, true));
  PLANRUN_RETURN_IF_ERROR(r.IdentifierList("key", &spec.key, true));
  PLANRUN_RETURN_IF_ERROR(ReadSql(r, "where", &spec.where, false));
  PLANRUN_RETURN_IF_ERROR(r.IdentifierList("columns", &spec.columns));
  PLANRUN_RETURN_IF_ERROR(r.TableList("reads", &spec.reads));
  PLANRUN_RETURN_IF_ERROR(ReadHook(r, ctx, "transform", &spec.hook));
  PLANRUN_RETURN_IF_ERROR(ReadDataSettings(r, ctx, &spec.settings));
  const Node* set = r.Raw("set");
  if (!set) return r.Error(body.loc, "transform step needs 'set', the columns it writes");
  if (spec.hook.present) {
    PLANRUN_RETURN_IF_ERROR(r.IdentifierList("set", &spec.set, true));
    if (spec.columns.empty()) {
      return r.Error(body.loc,
                     "transform step with a hook needs 'columns', the columns the hook reads");
    }
  } else {
    if (!set->IsMap()) {
      return r.Error(
          set->loc,
          "'set' must map each column to a SQL expression (set: {slug: \"lower(name)\"}), "
          "or the step needs a hook ('transform:' or 'lua:') to compute a list of columns");
    }
    for (const auto& [k, v] : set->map) {
      PLANRUN_RETURN_IF_ERROR(CheckIdentifier(ctx.file, k, "set"));
      if (!v.IsScalar() || Trim(v.scalar).empty()) {
        return r.Error(v.loc, "'set' entry '" + k.scalar + "' must be a SQL expression");
      }
      spec.set.push_back(k.scalar);
      spec.sql.emplace_back(k.scalar, v.scalar);
    }
  }
  for (const auto& s : spec.set) {
    if (std::find(spec.key.begin(), spec.key.end(), s) != spec.key.end()) {
      return r.Error(set->loc, "'set' cannot write the key column '" + s + "'");
    }
  }
  *out = std::make_unique<TransformStep>(std::move(spec));
  return Status::OK();
}

}  // namespace planrun
