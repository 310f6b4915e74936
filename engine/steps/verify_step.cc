#include "steps/verify_step.h"

#include <set>

#include "pg/session.h"
#include "plan/map_reader.h"
#include "report/reporter.h"
#include "steps/data_spec.h"
#include "steps/parse_helpers.h"
#include "util/strings.h"

namespace planrun {

namespace {

/// Rows an expect_rows failure shows.
constexpr size_t kShownRows = 5;
/// Width of "    expected: ", where wrapped SQL lines continue.
constexpr size_t kValueColumn = 14;

/// One assertion: `sql` and exactly one expectation.
struct Assertion {
  enum class Kind { kExpect, kEquals, kRows };
  std::string name;
  std::string sql;
  Kind kind = Kind::kExpect;
  pg::Value expect;               // kExpect; nullopt: NULL
  std::string equals;             // kEquals: the other query
  std::string equals_connection;  // kEquals: where it runs; empty: the target database
  int64_t rows = 0;               // kRows
};

/// The parsed body of a verify step.
struct VerifySpec {
  std::string step_id;
  std::vector<TableName> reads;
  bool declares_reads = false;
  std::vector<Assertion> assertions;
};

std::string Show(const pg::Value& v) { return v ? *v : "NULL"; }

std::string ShowRow(const std::vector<pg::Value>& row) {
  std::vector<std::string> parts;
  for (const pg::Value& v : row) parts.push_back(Show(v));
  return Join(parts, " | ");
}

std::string RowCount(size_t n) { return std::to_string(n) + (n == 1 ? " row" : " rows"); }

/// `sql` trimmed, its later lines indented to line up after a label.
std::string Indented(const std::string& sql) {
  std::vector<std::string> lines = Split(Trim(sql), '\n');
  for (size_t i = 1; i < lines.size(); ++i) lines[i] = std::string(kValueColumn, ' ') + lines[i];
  return Join(lines, "\n");
}

class VerifyStep : public Step {
 public:
  explicit VerifyStep(VerifySpec spec) : spec_(std::move(spec)) {}

  std::vector<TableName> Reads() const override { return spec_.reads; }
  bool IsBarrier() const override { return !spec_.declares_reads; }
  Reversibility reversibility() const override { return Reversibility::kReversible; }

  std::vector<std::string> DescribeUp(const StepEnv&) const override {
    std::vector<std::string> sql;
    for (const Assertion& a : spec_.assertions) {
      sql.push_back(a.sql);
      if (a.kind != Assertion::Kind::kEquals) continue;
      sql.push_back(a.equals_connection.empty()
                        ? a.equals
                        : "-- on connection " + a.equals_connection + ":\n" + a.equals);
    }
    return sql;
  }
  std::vector<std::string> DescribeDown(const StepEnv&) const override { return {}; }

  Status Apply(StepContext& ctx) const override {
    std::vector<std::string> failures;
    for (const Assertion& a : spec_.assertions) {
      std::string failure;
      PLANRUN_RETURN_IF_ERROR(
          Check(ctx, a, &failure)
              .WithContext("verify step '" + spec_.step_id + "': assertion '" + a.name + "'"));
      if (!failure.empty()) failures.push_back(failure);
    }
    const std::string total = std::to_string(spec_.assertions.size());
    if (!failures.empty()) {
      return Status::Failed("verify step '" + spec_.step_id +
                            "' failed: " + std::to_string(failures.size()) + " of " + total +
                            " assertions\n" + Join(failures, "\n"));
    }
    ctx.out->Info("verify step '" + spec_.step_id + "': all " + total + " assertions passed");
    return Status::OK();
  }

  Status Revert(StepContext&) const override { return Status::OK(); }

 private:
  /// Runs `a`; *failure gets the report block when it does not hold.
  static Status Check(StepContext& ctx, const Assertion& a, std::string* failure) {
    pg::Result r;
    PLANRUN_RETURN_IF_ERROR(ctx.db->Exec(a.sql, &r));
    std::string head = "  assertion '" + a.name + "' failed\n    query:    " + Indented(a.sql);
    switch (a.kind) {
      case Assertion::Kind::kExpect: {
        pg::Value actual = r.rows.empty() || r.rows[0].empty() ? pg::Value() : r.at(0, 0);
        if (actual != a.expect) {
          *failure = head + "\n    expected: " + Show(a.expect) + "\n    actual:   " + Show(actual);
        }
        return Status::OK();
      }
      case Assertion::Kind::kRows: {
        if (static_cast<int64_t>(r.rows.size()) == a.rows) return Status::OK();
        *failure = head + "\n    expected: " + RowCount(static_cast<size_t>(a.rows)) +
                   "\n    actual:   " + RowCount(r.rows.size());
        if (r.rows.size() > kShownRows) *failure += " (showing " + std::to_string(kShownRows) + ")";
        if (!r.rows.empty()) *failure += "\n      " + Join(r.columns, " | ");
        for (size_t i = 0; i < r.rows.size() && i < kShownRows; ++i) {
          *failure += "\n      " + ShowRow(r.rows[i]);
        }
        return Status::OK();
      }
      case Assertion::Kind::kEquals: {
        pg::Result other;
        if (a.equals_connection.empty()) {
          PLANRUN_RETURN_IF_ERROR(ctx.db->Exec(a.equals, &other));
        } else {
          if (!ctx.data || !ctx.data->open) {
            return Status::Internal("verify has no way to open connection " + a.equals_connection);
          }
          std::unique_ptr<pg::Session> source;
          PLANRUN_RETURN_IF_ERROR(ctx.data->open(a.equals_connection, &source));
          PLANRUN_RETURN_IF_ERROR(
              source->Exec(a.equals, &other).WithContext("on connection " + a.equals_connection));
        }
        size_t n = std::max(r.rows.size(), other.rows.size());
        for (size_t i = 0; i < n; ++i) {
          const bool in_r = i < r.rows.size(), in_other = i < other.rows.size();
          if (in_r && in_other && r.rows[i] == other.rows[i]) continue;
          const std::string where =
              a.equals_connection.empty() ? "" : " (on connection " + a.equals_connection + ")";
          *failure = head + "\n    equals:   " + Indented(a.equals) + where +
                     "\n    first difference at row " + std::to_string(i + 1) +
                     ":\n      query:  " + (in_r ? ShowRow(r.rows[i]) : "(no row)") +
                     "\n      equals: " + (in_other ? ShowRow(other.rows[i]) : "(no row)");
          return Status::OK();
        }
        return Status::OK();
      }
    }
    return Status::OK();
  }

  VerifySpec spec_;
};

/// The expected text of an `expect:` value.
Status ReadExpect(const MapReader& r, const Node& node, pg::Value* out) {
  if (node.IsNull()) {
    *out = std::nullopt;
    return Status::OK();
  }
  if (!node.IsScalar()) {
    return r.Error(node.loc,
                   "'expect' must be a single value (text, a number, true, false) or null, got " +
                       node.KindName());
  }
  const std::string& s = node.scalar;
  if (!node.quoted && (s == "true" || s == "True" || s == "TRUE")) {
    *out = "t";
  } else if (!node.quoted && (s == "false" || s == "False" || s == "FALSE")) {
    *out = "f";
  } else if (!node.quoted && (s == "null" || s == "Null" || s == "NULL" || s == "~")) {
    *out = std::nullopt;
  } else {
    *out = s;
  }
  return Status::OK();
}

/// `equals`: a query on the target, or {connection, sql} on another database.
Status ReadEquals(MapReader& r, const StepParseContext& ctx, Assertion* a) {
  const Node* v = r.Raw("equals");
  if (!v || !v->IsMap()) return ReadSql(r, "equals", &a->equals, false);
  MapReader e(ctx.file, *v, "'equals'");
  PLANRUN_RETURN_IF_ERROR(CheckKeys(e, {"connection", "sql"}));
  PLANRUN_RETURN_IF_ERROR(ReadSql(e, "sql", &a->equals, true));
  PLANRUN_RETURN_IF_ERROR(e.Identifier("connection", &a->equals_connection, true));
  return CheckConnection(e, ctx, a->equals_connection);
}

Status ParseAssertion(const StepParseContext& ctx, const Node& item, Assertion* a) {
  MapReader r(ctx.file, item, "assertion in verify step");
  PLANRUN_RETURN_IF_ERROR(CheckKeys(r, {"name", "sql", "expect", "equals", "expect_rows"}));
  PLANRUN_RETURN_IF_ERROR(r.String("name", &a->name, true));
  PLANRUN_RETURN_IF_ERROR(ReadSql(r, "sql", &a->sql, true));
  const Node* expect = r.Raw("expect");
  PLANRUN_RETURN_IF_ERROR(ReadEquals(r, ctx, a));
  PLANRUN_RETURN_IF_ERROR(r.Int("expect_rows", &a->rows));
  std::vector<const Node*> given;
  for (const char* key : {"expect", "equals", "expect_rows"}) {
    if (const Node* v = item.Get(key)) given.push_back(v);
  }
  if (given.empty()) {
    return r.Error(item.loc,
                   "assertion '" + a->name + "' needs one of 'expect', 'equals' or 'expect_rows'");
  }
  if (given.size() > 1) {
    return r.Error(given[1]->loc, "assertion '" + a->name +
                                      "' has more than one of 'expect', 'equals' and "
                                      "'expect_rows'; give exactly one");
  }
  if (expect) {
    a->kind = Assertion::Kind::kExpect;
    return ReadExpect(r, *expect, &a->expect);
  }
  if (item.Get("equals")) {
    a->kind = Assertion::Kind::kEquals;
    return Status::OK();
  }
  a->kind = Assertion::Kind::kRows;
  if (a->rows < 0) return r.Error(given[0]->loc, "'expect_rows' must not be negative");
  return Status::OK();
}

}  // namespace

Status ParseVerifyStep(const Node& body, const StepParseContext& ctx, std::unique_ptr<Step>* out) {
  VerifySpec spec;
  spec.step_id = ctx.step_id;
  MapReader r(ctx.file, body, "verify step");
  const Node* list = &body;
  if (body.IsMap()) {
    PLANRUN_RETURN_IF_ERROR(CheckKeys(r, {"reads", "assertions"}));
    PLANRUN_RETURN_IF_ERROR(r.TableList("reads", &spec.reads));
    list = r.Raw("assertions");
    if (!list) return r.Error(body.loc, "verify step needs 'assertions'");
    if (!list->IsSeq()) {
      return r.Error(list->loc, "'assertions' must be a list, got " + list->KindName());
    }
    spec.declares_reads = body.Get("reads") != nullptr;
  } else if (!body.IsSeq()) {
    return r.Error(body.loc,
                   "verify step must be a list of assertions or a mapping with "
                   "'assertions', got " +
                       body.KindName());
  }
  if (list->seq.empty()) return r.Error(list->loc, "verify step has no assertions");
  std::set<std::string> names;
  for (const Node& item : list->seq) {
    Assertion a;
    PLANRUN_RETURN_IF_ERROR(ParseAssertion(ctx, item, &a));
    if (!names.insert(a.name).second) {
      return r.Error(item.Get("name")->loc,
                     "assertion '" + a.name + "' is listed twice in verify step");
    }
    spec.assertions.push_back(std::move(a));
  }
  *out = std::make_unique<VerifyStep>(std::move(spec));
  return Status::OK();
}

}  // namespace planrun
