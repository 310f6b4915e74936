// FakeStep: a Step whose graph inputs, reversibility and SQL a test sets
// directly, and StepBuilder, which wraps one in a StepDecl, so graph tests
// build Plans without the YAML parser or any real step kind.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "plan/plan.h"
#include "steps/step.h"

namespace planrun {
namespace testing {

/// "users" or "auth.users" as a TableName.
inline TableName Table(const std::string& text) {
  size_t dot = text.find('.');
  if (dot == std::string::npos) return TableName{"", text};
  return TableName{text.substr(0, dot), text.substr(dot + 1)};
}

/// Replaces "{backup}" with env.names.backup and "{id}" with the step id, so
/// tests see that Describe* got the environment.
inline std::string Expand(std::string text, const StepEnv& env) {
  for (const auto& var : {std::make_pair(std::string("{backup}"), env.names.backup),
                          std::make_pair(std::string("{id}"), env.decl->id)}) {
    for (size_t at = text.find(var.first); at != std::string::npos;
         at = text.find(var.first, at + var.second.size())) {
      text.replace(at, var.first.size(), var.second);
    }
  }
  return text;
}

/// A step that only reports what it was given; it cannot run.
class FakeStep : public Step {
 public:
  std::vector<TableName> reads;
  std::vector<TableName> writes;
  std::vector<TableName> backed_up;
  std::vector<DeclaredFk> fks;
  bool barrier = false;
  bool transactional = true;
  Reversibility reversible = Reversibility::kReversible;
  std::vector<std::string> up;    // DescribeUp, after Expand
  std::vector<std::string> down;  // DescribeDown, after Expand

  std::vector<TableName> Reads() const override { return reads; }
  std::vector<TableName> Writes() const override { return writes; }
  std::vector<DeclaredFk> ForeignKeys() const override { return fks; }
  bool IsBarrier() const override { return barrier; }
  std::vector<TableName> BackedUpTables() const override { return backed_up; }
  bool Transactional() const override { return transactional; }
  Reversibility reversibility() const override { return reversible; }
  std::vector<std::string> DescribeUp(const StepEnv& env) const override {
    return ExpandAll(up, env);
  }
  std::vector<std::string> DescribeDown(const StepEnv& env) const override {
    return ExpandAll(down, env);
  }
  Status Apply(StepContext&) const override { return Status::Internal("a FakeStep cannot run"); }
  Status Revert(StepContext&) const override { return Status::Internal("a FakeStep cannot run"); }

 private:
  static std::vector<std::string> ExpandAll(const std::vector<std::string>& statements,
                                            const StepEnv& env) {
    std::vector<std::string> out;
    for (const std::string& s : statements) out.push_back(Expand(s, env));
    return out;
  }
};

/// Builds a StepDecl around a FakeStep: StepBuilder("b").Reads({"users"}).Build().
class StepBuilder {
 public:
  explicit StepBuilder(std::string id, std::string kind = "sql") : step_(new FakeStep) {
    decl_.id = std::move(id);
    decl_.kind = std::move(kind);
  }

  StepBuilder& Reads(const std::vector<std::string>& tables) {
    for (const std::string& t : tables) step_->reads.push_back(Table(t));
    return *this;
  }
  StepBuilder& Writes(const std::vector<std::string>& tables) {
    for (const std::string& t : tables) step_->writes.push_back(Table(t));
    return *this;
  }
  StepBuilder& BacksUp(const std::vector<std::string>& tables) {
    for (const std::string& t : tables) step_->backed_up.push_back(Table(t));
    return *this;
  }
  StepBuilder& Fk(const std::string& from, const std::string& to) {
    step_->fks.push_back(DeclaredFk{Table(from), Table(to)});
    return *this;
  }
  StepBuilder& Barrier() {
    step_->barrier = true;
    return *this;
  }
  StepBuilder& OutsideTransaction() {
    step_->transactional = false;
    return *this;
  }
  StepBuilder& Reversible(Reversibility r) {
    step_->reversible = r;
    return *this;
  }
  StepBuilder& Needs(const std::string& id, Loc loc = Loc()) {
    decl_.needs.emplace_back(id, loc);
    return *this;
  }
  StepBuilder& At(Loc loc) {
    decl_.loc = loc;
    return *this;
  }
  StepBuilder& Describe(const std::string& description) {
    decl_.description = description;
    return *this;
  }
  StepBuilder& Up(const std::vector<std::string>& statements) {
    step_->up = statements;
    return *this;
  }
  StepBuilder& Down(const std::vector<std::string>& statements) {
    step_->down = statements;
    return *this;
  }

  StepDecl Build() {
    decl_.step = std::move(step_);
    return std::move(decl_);
  }

 private:
  StepDecl decl_;
  std::unique_ptr<FakeStep> step_;
};

/// A plan "plans/test.yaml" with version 1, name "test" and `text` as its source.
inline Plan MakePlan(const std::string& text = "") {
  Plan plan;
  plan.source.path = "plans/test.yaml";
  plan.source.text = text;
  plan.version.text = "1";
  plan.version.parts = {1};
  plan.name = "test";
  return plan;
}

}  // namespace testing
}  // namespace planrun
