#include "steps/sql_step.h"

#include "pg/session.h"
#include "report/reporter.h"
#include "steps/parse_helpers.h"

namespace planrun {

namespace {

/// The parsed body of a sql step.
struct SqlSpec {
  std::string up;
  std::string down;
  std::vector<TableName> reads;
  std::vector<TableName> writes;
  bool declares_tables = false;  // `reads` or `writes` was given
  bool transaction = true;
};

class SqlStep : public Step {
 public:
  explicit SqlStep(SqlSpec spec) : spec_(std::move(spec)) {}

  std::vector<TableName> Reads() const override { return spec_.reads; }
  std::vector<TableName> Writes() const override { return spec_.writes; }
  bool IsBarrier() const override { return !spec_.declares_tables; }
  bool Transactional() const override { return spec_.transaction; }

  Reversibility reversibility() const override {
    if (!spec_.down.empty()) return Reversibility::kReversible;
    if (!spec_.writes.empty()) return Reversibility::kNeedsBackup;
    return Reversibility::kIrreversible;
  }

  std::vector<std::string> DescribeUp(const StepEnv&) const override { return {spec_.up}; }
  std::vector<std::string> DescribeDown(const StepEnv&) const override {
    if (spec_.down.empty()) return {};
    return {spec_.down};
  }

  Status Apply(StepContext& ctx) const override { return Run(ctx, spec_.up, "ran sql"); }

  Status Revert(StepContext& ctx) const override {
    if (spec_.down.empty()) return Status::Internal("sql step has no 'down' to revert with");
    return Run(ctx, spec_.down, "ran sql down");
  }

 private:
  Status Run(StepContext& ctx, const std::string& sql, const std::string& what) const {
    if (ctx.dry_run && !spec_.transaction) {
      ctx.out->Info("not run in dry run: step runs outside a transaction");
      return Status::OK();
    }
    pg::Result r;
    PLANRUN_RETURN_IF_ERROR(ctx.db->Exec(sql, &r));
    ctx.counters["rows"] = r.affected;
    ctx.out->Info(what + ": " + std::to_string(r.affected) + " rows affected");
    return Status::OK();
  }

  SqlSpec spec_;
};

}  // namespace

Status ParseSqlStep(const Node& body, const StepParseContext& ctx, std::unique_ptr<Step>* out) {
  MapReader r(ctx.file, body, "sql step");
  PLANRUN_RETURN_IF_ERROR(CheckKeys(r, {"up", "down", "reads", "writes", "transaction"}));
  SqlSpec spec;
  PLANRUN_RETURN_IF_ERROR(ReadSql(r, "up", &spec.up, true));
  PLANRUN_RETURN_IF_ERROR(ReadSql(r, "down", &spec.down, false));
  PLANRUN_RETURN_IF_ERROR(r.TableList("reads", &spec.reads));
  PLANRUN_RETURN_IF_ERROR(r.TableList("writes", &spec.writes));
  PLANRUN_RETURN_IF_ERROR(r.Bool("transaction", &spec.transaction));
  spec.declares_tables = body.Get("reads") != nullptr || body.Get("writes") != nullptr;
  *out = std::make_unique<SqlStep>(std::move(spec));
  return Status::OK();
}

}  // namespace planrun
