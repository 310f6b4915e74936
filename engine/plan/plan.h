// The plan model: what a YAML plan file means once parsed and checked. A Plan
// owns its steps; each step's kind-specific part is a Step (steps/step.h)
// created by that kind's parser. Plans are built once and then only read, so
// they may be shared across threads after loading.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "plan/source.h"
#include "plan/version.h"
#include "steps/step.h"

namespace planrun {

/// Settings a plan's `defaults:` gives every step; a step may override them.
struct Defaults {
  int64_t lock_timeout_ms = 0;       // 0: the server's own setting
  int64_t statement_timeout_ms = 0;  // 0: the server's own setting
  int64_t lock_retries = 5;          // retries after a lock_timeout, with backoff
  int64_t batch_size = 5000;         // rows per batch for data steps
};

/// One entry of `steps:` or `rollback:`: the parts every kind shares.
struct StepDecl {
  std::string id;
  Loc loc;           // the entry's `id:` value
  std::string kind;  // the kind key: "sql", "backup", ...
  Loc kind_loc;
  std::string description;
  std::vector<std::pair<std::string, Loc>> needs;  // explicit dependencies by id
  Defaults settings;           // the plan's defaults with the step's own overrides
  std::string checksum;        // sha256 of the entry's canonical text and the files it references
  std::unique_ptr<Step> step;  // the kind's parsed body and behaviour
};

/// One `notify:` entry: a webhook told how an apply or rollback ended.
struct NotifyTarget {
  std::string url;                                       // a URL, "env:VAR" or holding ${env:VAR}
  std::vector<std::string> on = {"success", "failure"};  // which outcomes
};

/// A parsed, checked plan file.
struct Plan {
  SourceFile source;
  std::string dir;  // directory of the file, for paths relative to the plan
  Version version;
  Loc version_loc;
  std::string name;
  Loc name_loc;
  std::string description;
  std::vector<std::pair<Version, Loc>> requires_versions;  // `requires:`
  Defaults defaults;
  std::map<std::string, std::string> params;  // `params:` for hooks
  /// `connections:`: name -> URL or "env:VAR" (resolved when a step connects).
  std::map<std::string, std::string> connections;
  std::vector<NotifyTarget> notify;  // `notify:` webhooks, POSTed after apply or rollback
  bool rollback_on_failure = false;  // `on_failure: rollback`: undo the plan when apply fails
  std::vector<StepDecl> steps;
  bool has_rollback = false;       // an explicit `rollback:` section replaces inverses
  std::vector<StepDecl> rollback;  // its steps, run in order
  std::vector<std::string> files;  // files the plan references (hooks), for the checksum
  std::string checksum;            // sha256 over the canonical plan and every referenced file

  /// The step with this id in `steps`, or nullptr.
  const StepDecl* FindStep(const std::string& id) const;
};

}  // namespace planrun
