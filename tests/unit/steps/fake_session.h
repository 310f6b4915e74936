// FakeSession: a recording pg::Session for step unit tests. It keeps every
// statement it is given and answers from a script: the first unused rule
// whose needle occurs in the statement gives the result (or error); anything
// else gets an empty result. Rules are used once each, so a test can script
// the same query to answer differently the second time.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "pg/session.h"

namespace planrun {
namespace testing {

/// A result with `rows` (each value text, or nullopt for NULL).
inline pg::Result Rows(std::vector<std::vector<pg::Value>> rows,
                       std::vector<std::string> columns = {}) {
  pg::Result r;
  r.rows = std::move(rows);
  r.columns = std::move(columns);
  return r;
}

/// A result that affected `n` rows.
inline pg::Result Affected(int64_t n) {
  pg::Result r;
  r.affected = n;
  return r;
}

/// Records statements and answers them from a script.
class FakeSession : public pg::Session {
 public:
  /// The next statement containing `needle` returns `result`.
  void On(const std::string& needle, pg::Result result) {
    rules_.push_back({needle, std::move(result), Status::OK(), false});
  }
  /// The next statement containing `needle` fails with `error`.
  void FailOn(const std::string& needle, Status error) {
    rules_.push_back({needle, pg::Result(), std::move(error), false});
  }

  /// Every statement so far, in order; a Query's parameters follow as
  /// " [$1=value, $2=NULL]".
  const std::vector<std::string>& statements() const { return statements_; }
  /// COPY text CopyOut hands out, one chunk per entry.
  std::vector<std::string> copy_out_chunks;
  /// Everything CopyIn received.
  std::string copied_in;

  Status Exec(const std::string& sql, pg::Result* out) override { return Answer(sql, out); }

  Status Query(const std::string& sql, const std::vector<pg::Value>& params,
               pg::Result* out) override {
    std::string text = sql + " [";
    for (size_t i = 0; i < params.size(); ++i) {
      if (i) text += ", ";
      text += "$" + std::to_string(i + 1) + "=" + params[i].value_or("NULL");
    }
    return Answer(text + "]", out);
  }

  Status CopyOut(const std::string& copy_sql,
                 const std::function<Status(std::string_view)>& on_data) override {
    PLANRUN_RETURN_IF_ERROR(Answer(copy_sql, nullptr));
    for (const std::string& chunk : copy_out_chunks) PLANRUN_RETURN_IF_ERROR(on_data(chunk));
    return Status::OK();
  }

  Status CopyIn(const std::string& copy_sql,
                const std::function<Status(std::string* chunk, bool* done)>& next,
                int64_t* rows) override {
    PLANRUN_RETURN_IF_ERROR(Answer(copy_sql, nullptr));
    for (bool done = false; !done;) PLANRUN_RETURN_IF_ERROR(next(&copied_in, &done));
    if (rows) *rows = 0;
    return Status::OK();
  }

  int BackendPid() const override { return 4242; }
  bool IsOpen() const override { return true; }

 private:
  struct Rule {
    std::string needle;
    pg::Result result;
    Status error;
    bool used;
  };

  Status Answer(const std::string& text, pg::Result* out) {
    statements_.push_back(text);
    for (Rule& rule : rules_) {
      if (rule.used || text.find(rule.needle) == std::string::npos) continue;
      rule.used = true;
      if (!rule.error.ok()) return rule.error;
      if (out) *out = rule.result;
      return Status::OK();
    }
    if (out) *out = pg::Result();
    return Status::OK();
  }

  std::vector<Rule> rules_;
  std::vector<std::string> statements_;
};

}  // namespace testing
}  // namespace planrun
