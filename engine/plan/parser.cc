#include "plan/parser.h"

#include <algorithm>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "plan/map_reader.h"
#include "util/sha256.h"
#include "util/strings.h"

namespace planrun {

namespace {

/// Keys every step entry may have besides its kind key.
const std::vector<std::string>& SharedStepKeys() {
  static const auto* keys = new std::vector<std::string>{
      "id",           "description", "needs", "lock_timeout", "statement_timeout",
      "lock_retries", "batch_size"};
  return *keys;
}

/// The keys a plan file may have at its top level.
const std::vector<std::string>& PlanKeys() {
  static const auto* keys = new std::vector<std::string>{
      "version", "name",     "description", "requires", "defaults",  "params",
      "steps",   "rollback", "connections", "notify",   "on_failure"};
  return *keys;
}

std::string LocText(Loc loc) { return std::to_string(loc.line) + ":" + std::to_string(loc.col); }

/// `text` with leading zeros dropped from each dotted part ("2026.01.05" ->
/// "2026.1.5"), or empty when that does not make a valid version.
std::string WithoutLeadingZeros(const std::string& text) {
  std::vector<std::string> parts = Split(text, '.');
  for (std::string& part : parts) {
    size_t nonzero = part.find_first_not_of('0');
    if (nonzero == std::string::npos) nonzero = part.empty() ? 0 : part.size() - 1;
    part.erase(0, nonzero);
  }
  std::string fixed = Join(parts, ".");
  Version unused;
  return Version::Parse(fixed, &unused) ? fixed : std::string();
}

/// Reads a version from a scalar; `subject` names it in messages, e.g. "'version'".
Status ReadVersion(const SourceFile& file, const Node& v, const std::string& subject,
                   Version* out) {
  if (v.IsScalar() && Version::Parse(v.scalar, out)) return Status::OK();
  if (v.IsScalar()) {
    std::string fixed = WithoutLeadingZeros(v.scalar);
    if (!fixed.empty()) {
      return PlanError(
          file, v.loc,
          subject + " must not have leading zeros, got '" + v.scalar + "'; write " + fixed);
    }
  }
  return PlanError(file, v.loc,
                   subject +
                       " must be a non-negative integer or dotted numbers like 2026.11.21.1, got " +
                       v.KindName());
}

/// Reads the settings keys of `defaults:` or of a step entry over `*s`.
Status ReadSettings(MapReader& r, Defaults* s) {
  PLANRUN_RETURN_IF_ERROR(r.Duration("lock_timeout", &s->lock_timeout_ms));
  PLANRUN_RETURN_IF_ERROR(r.Duration("statement_timeout", &s->statement_timeout_ms));
  PLANRUN_RETURN_IF_ERROR(r.Int("lock_retries", &s->lock_retries));
  PLANRUN_RETURN_IF_ERROR(r.Int("batch_size", &s->batch_size));
  const Node* retries = r.Raw("lock_retries");
  if (retries != nullptr && s->lock_retries < 0) {
    return r.Error(retries->loc,
                   "'lock_retries' must be 0 or more, got " + std::to_string(s->lock_retries));
  }
  const Node* batch = r.Raw("batch_size");
  if (batch != nullptr && s->batch_size < 1) {
    return r.Error(batch->loc,
                   "'batch_size' must be 1 or more, got " + std::to_string(s->batch_size));
  }
  return Status::OK();
}

/// Fills a Plan from the document root; one object per ParsePlan call.
class PlanParser {
 public:
  PlanParser(const StepRegistry& kinds, Plan* plan)
      : kinds_(kinds), plan_(plan), file_(plan->source) {
    for (const StepKindInfo& k : kinds_) kind_names_.push_back(k.name);
    std::sort(kind_names_.begin(), kind_names_.end());
  }

  Status Parse(const Node& root) {
    if (root.IsNull()) {
      return PlanError(file_, root.loc,
                       "plan file is empty; a plan needs 'version', 'name' and 'steps'");
    }
    MapReader r(file_, root, "plan");
    PLANRUN_RETURN_IF_ERROR(r.CheckIsMap());
    for (const std::string& key : PlanKeys()) r.Allow(key);
    PLANRUN_RETURN_IF_ERROR(r.Finish());

    const Node* version = r.Raw("version");
    if (version == nullptr) return r.Error(root.loc, "plan needs 'version'");
    PLANRUN_RETURN_IF_ERROR(ReadVersion(file_, *version, "'version'", &plan_->version));
    plan_->version_loc = version->loc;
    PLANRUN_RETURN_IF_ERROR(r.Identifier("name", &plan_->name, true));
    plan_->name_loc = r.Raw("name")->loc;
    PLANRUN_RETURN_IF_ERROR(r.String("description", &plan_->description));
    if (const Node* v = r.Raw("requires")) PLANRUN_RETURN_IF_ERROR(ReadRequires(*v));
    if (const Node* v = r.Raw("defaults")) PLANRUN_RETURN_IF_ERROR(ReadDefaults(*v));
    if (const Node* v = r.Raw("params")) PLANRUN_RETURN_IF_ERROR(ReadParams(*v));
    if (const Node* v = r.Raw("connections")) PLANRUN_RETURN_IF_ERROR(ReadConnections(*v));
    if (const Node* v = r.Raw("notify")) PLANRUN_RETURN_IF_ERROR(ReadNotify(*v));
    std::string on_failure;
    PLANRUN_RETURN_IF_ERROR(r.String("on_failure", &on_failure));
    if (r.Raw("on_failure") && on_failure != "stop" && on_failure != "rollback") {
      return r.Error(r.Raw("on_failure")->loc,
                     "'on_failure' takes stop (keep what was applied, resume with planrun "
                     "apply) or rollback (undo the plan), got '" +
                         on_failure + "'");
    }
    plan_->rollback_on_failure = on_failure == "rollback";

    const Node* steps = r.Raw("steps");
    if (steps == nullptr) return r.Error(root.loc, "plan needs 'steps'");
    PLANRUN_RETURN_IF_ERROR(ReadSection(*steps, "steps", &plan_->steps));
    if (const Node* v = r.Raw("rollback")) {
      plan_->has_rollback = true;
      PLANRUN_RETURN_IF_ERROR(ReadSection(*v, "rollback", &plan_->rollback));
    }
    PLANRUN_RETURN_IF_ERROR(CheckNeeds(plan_->steps, "a step of this plan"));
    return CheckNeeds(plan_->rollback, "a rollback step of this plan");
  }

 private:
  Status ReadRequires(const Node& v) {
    std::vector<const Node*> items;
    std::string subject = "'requires'";
    if (v.IsScalar()) {
      items.push_back(&v);
    } else if (v.IsSeq()) {
      for (const Node& item : v.seq) items.push_back(&item);
      subject = "each item of 'requires'";
    } else {
      return PlanError(file_, v.loc,
                       "'requires' must be a version or a list of versions, got " + v.KindName());
    }
    const std::string own = "plan " + plan_->version.text + " requires ";
    const std::string rule = "; a plan can only require earlier versions";
    for (const Node* item : items) {
      Version required;
      PLANRUN_RETURN_IF_ERROR(ReadVersion(file_, *item, subject, &required));
      int cmp = required.Compare(plan_->version);
      if (cmp == 0) return PlanError(file_, item->loc, own + "its own version" + rule);
      if (cmp > 0) {
        return PlanError(file_, item->loc, own + required.text + ", a later version" + rule);
      }
      for (const auto& [earlier, loc] : plan_->requires_versions) {
        if (earlier == required) {
          return PlanError(
              file_, item->loc,
              "'requires' lists " + required.text + " twice; first at " + LocText(loc));
        }
      }
      plan_->requires_versions.emplace_back(required, item->loc);
    }
    return Status::OK();
  }

  Status ReadDefaults(const Node& v) {
    MapReader r(file_, v, "defaults");
    PLANRUN_RETURN_IF_ERROR(r.CheckIsMap());
    for (const char* key : {"lock_timeout", "statement_timeout", "lock_retries", "batch_size"}) {
      r.Allow(key);
    }
    PLANRUN_RETURN_IF_ERROR(r.Finish());
    return ReadSettings(r, &plan_->defaults);
  }

  Status ReadParams(const Node& v) {
    MapReader r(file_, v, "params");
    PLANRUN_RETURN_IF_ERROR(r.CheckIsMap());
    for (const auto& [key, value] : v.map) {
      PLANRUN_RETURN_IF_ERROR(CheckIdentifier(file_, key, "params"));
      PLANRUN_RETURN_IF_ERROR(r.String(key.scalar, &plan_->params[key.scalar]));
    }
    return Status::OK();
  }

  // connections: {name: {url: env:VAR}}; a plain URL is allowed but keeps
  // its password in the file, so env: is what the docs recommend.
  Status ReadConnections(const Node& v) {
    MapReader r(file_, v, "connections");
    PLANRUN_RETURN_IF_ERROR(r.CheckIsMap());
    for (const auto& [key, value] : v.map) {
      PLANRUN_RETURN_IF_ERROR(CheckIdentifier(file_, key, "connections"));
      MapReader c(file_, value, "connection '" + key.scalar + "'");
      PLANRUN_RETURN_IF_ERROR(c.CheckIsMap());
      std::string url;
      PLANRUN_RETURN_IF_ERROR(c.String("url", &url, true));
      PLANRUN_RETURN_IF_ERROR(c.Finish());
      plan_->connections[key.scalar] = url;
    }
    return Status::OK();
  }

  // notify: [{url: env:HOOK_URL, on: [success, failure]}]
  Status ReadNotify(const Node& v) {
    if (!v.IsSeq()) {
      return MapReader(file_, v, "notify")
          .Error(v.loc, "'notify' must be a list of {url, on} entries, got " + v.KindName());
    }
    for (const Node& item : v.seq) {
      MapReader n(file_, item, "notify entry");
      PLANRUN_RETURN_IF_ERROR(n.CheckIsMap());
      NotifyTarget t;
      PLANRUN_RETURN_IF_ERROR(n.String("url", &t.url, true));
      PLANRUN_RETURN_IF_ERROR(n.StringList("on", &t.on));
      for (const std::string& on : t.on) {
        if (on != "success" && on != "failure") {
          return n.Error(n.Raw("on")->loc, "'on' takes success and failure, got '" + on + "'");
        }
      }
      PLANRUN_RETURN_IF_ERROR(n.Finish());
      plan_->notify.push_back(t);
    }
    return Status::OK();
  }

  Status ReadSection(const Node& v, const std::string& key, std::vector<StepDecl>* out) {
    if (v.IsNull() || (v.IsSeq() && v.seq.empty())) {
      return PlanError(file_, v.loc,
                       key == "steps"
                           ? "plan has no steps; add at least one under 'steps:'"
                           : "'rollback' has no steps; list the steps that undo this "
                             "plan, or remove 'rollback:' to use the automatic inverses");
    }
    if (!v.IsSeq()) {
      return PlanError(file_, v.loc, "'" + key + "' must be a list, got " + v.KindName());
    }
    for (const Node& entry : v.seq) {
      if (!entry.IsMap()) {
        return PlanError(file_, entry.loc,
                         "each item of '" + key + "' must be a mapping, got " + entry.KindName());
      }
      out->emplace_back();
      PLANRUN_RETURN_IF_ERROR(ReadStep(entry, &out->back()));
    }
    return Status::OK();
  }

  Status ReadStep(const Node& entry, StepDecl* decl) {
    MapReader id_reader(file_, entry, "step");
    PLANRUN_RETURN_IF_ERROR(id_reader.Identifier("id", &decl->id, true));
    decl->loc = id_reader.Raw("id")->loc;
    auto [first, inserted] = ids_.emplace(decl->id, decl->loc);
    if (!inserted) {
      return PlanError(
          file_, decl->loc,
          "duplicate step id '" + decl->id + "'; first declared at " + LocText(first->second));
    }
    const std::string what = "step '" + decl->id + "'";
    const std::pair<Node, Node>* kind = nullptr;
    PLANRUN_RETURN_IF_ERROR(FindKind(entry, what, &kind));
    decl->kind = kind->first.scalar;
    decl->kind_loc = kind->first.loc;

    MapReader r(file_, entry, what);
    PLANRUN_RETURN_IF_ERROR(r.String("description", &decl->description));
    std::vector<std::string> needs;
    PLANRUN_RETURN_IF_ERROR(r.IdentifierList("needs", &needs));
    if (const Node* v = r.Raw("needs")) {
      for (size_t i = 0; i < needs.size(); ++i) {
        decl->needs.emplace_back(needs[i], v->IsSeq() ? v->seq[i].loc : v->loc);
      }
    }
    decl->settings = plan_->defaults;
    PLANRUN_RETURN_IF_ERROR(ReadSettings(r, &decl->settings));

    StepParseContext ctx{file_,          plan_->dir,    decl->settings,     decl->id,
                         plan_->version, &plan_->files, &plan_->connections};
    const StepKindInfo& info = *std::find_if(
        kinds_.begin(), kinds_.end(), [&](const StepKindInfo& k) { return k.name == decl->kind; });
    const size_t files_before = plan_->files.size();
    PLANRUN_RETURN_IF_ERROR(info.parse(kind->second, ctx, &decl->step));
    if (decl->step == nullptr) {
      return Status::Internal("step kind '" + decl->kind + "' gave no step for " + what);
    }
    // The step's own entry and the files it references (hooks, modules).
    Sha256 sum;
    sum.Update(CanonicalText(entry));
    for (size_t i = files_before; i < plan_->files.size(); ++i) {
      std::ifstream in(plan_->files[i], std::ios::binary);
      std::ostringstream text;
      text << in.rdbuf();
      sum.Update("\nfile " + std::to_string(text.str().size()) + "\n" + text.str());
    }
    decl->checksum = sum.HexDigest();
    return Status::OK();
  }

  bool IsKind(const std::string& key) const {
    return std::binary_search(kind_names_.begin(), kind_names_.end(), key);
  }

  /// The entry's one kind key and its body, or an error about missing,
  /// doubled or unknown keys.
  Status FindKind(const Node& entry, const std::string& what,
                  const std::pair<Node, Node>** kind) const {
    const auto& shared = SharedStepKeys();
    bool has_kind = std::any_of(entry.map.begin(), entry.map.end(),
                                [&](const auto& kv) { return IsKind(kv.first.scalar); });
    for (const auto& kv : entry.map) {
      const std::string& key = kv.first.scalar;
      if (std::find(shared.begin(), shared.end(), key) != shared.end()) continue;
      if (IsKind(key)) {
        if (*kind != nullptr) {
          return PlanError(file_, kv.first.loc,
                           what + " has two kinds, '" + (*kind)->first.scalar + "' and '" + key +
                               "'; split it into two steps");
        }
        *kind = &kv;
        continue;
      }
      std::vector<std::string> candidates = shared;
      candidates.insert(candidates.end(), kind_names_.begin(), kind_names_.end());
      std::string close = ClosestMatch(key, candidates);
      if (!close.empty()) {
        return PlanError(
            file_, kv.first.loc,
            "unknown key '" + key + "' in " + what + "; did you mean '" + close + "'?");
      }
      if (!has_kind) {
        return PlanError(
            file_, kv.first.loc,
            what + " has unknown kind '" + key + "'; expected one of: " + Join(kind_names_, ", "));
      }
      std::vector<std::string> valid = shared;
      for (const auto& other : entry.map) {
        if (IsKind(other.first.scalar)) valid.push_back(other.first.scalar);
      }
      std::sort(valid.begin(), valid.end());
      return PlanError(
          file_, kv.first.loc,
          "unknown key '" + key + "' in " + what + "; expected one of: " + Join(valid, ", "));
    }
    if (*kind == nullptr) {
      return PlanError(file_, entry.loc,
                       what + " has no kind; add one of: " + Join(kind_names_, ", "));
    }
    return Status::OK();
  }

  /// Checks that every `needs` entry names another step of `section`.
  Status CheckNeeds(const std::vector<StepDecl>& section, const std::string& scope) const {
    std::set<std::string> ids;
    for (const StepDecl& decl : section) ids.insert(decl.id);
    for (const StepDecl& decl : section) {
      std::set<std::string> seen;
      for (const auto& [need, loc] : decl.needs) {
        std::string prefix = "step '" + decl.id + "' needs ";
        if (need == decl.id) return PlanError(file_, loc, prefix + "itself");
        if (ids.count(need) == 0) {
          return PlanError(file_, loc, prefix + "'" + need + "', which is not " + scope);
        }
        if (!seen.insert(need).second) {
          return PlanError(file_, loc, prefix + "'" + need + "' twice");
        }
      }
    }
    return Status::OK();
  }

  const StepRegistry& kinds_;
  Plan* plan_;
  const SourceFile& file_;
  std::vector<std::string> kind_names_;  // sorted
  std::map<std::string, Loc> ids_;       // step ids of both sections, where declared
};

/// The directory part of `path`, "." when it has none.
std::string DirName(const std::string& path) {
  size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

}  // namespace

Status ParsePlan(const SourceFile& file, const StepRegistry& kinds, Plan* out) {
  *out = Plan();
  out->source = file;
  out->dir = DirName(file.path);
  Node root;
  PLANRUN_RETURN_IF_ERROR(ParseYaml(out->source, &root));
  return PlanParser(kinds, out).Parse(root);
}

}  // namespace planrun
