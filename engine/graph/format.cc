#include "graph/format.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "util/strings.h"

namespace planrun {

namespace {

using Json = nlohmann::ordered_json;

/// The parts of a plan every format shows, gathered once.
struct View {
  const Plan& plan;
  const Graph& steps;
  const Graph* rollback;  // nullptr without a `rollback:` section
  const SchemaNames& names;
  std::vector<std::string> irreversible;  // IrreversibleReasons
};

StepEnv EnvOf(const View& v, const StepDecl& decl) {
  StepEnv env;
  env.plan = &v.plan;
  env.decl = &decl;
  env.names = v.names;
  return env;
}

std::string Checksum(const Plan& plan) { return "sha256:" + plan.checksum; }

std::string RTrim(const std::string& s) {
  size_t end = s.find_last_not_of(" \t\r\n");
  return end == std::string::npos ? "" : s.substr(0, end + 1);
}

/// The edges into node `v`, in `from` order.
std::vector<const Edge*> EdgesInto(const Graph& graph, int v) {
  std::vector<const Edge*> out;
  for (const Edge& e : graph.edges) {
    if (e.to == v) out.push_back(&e);
  }
  return out;
}

// ---- text ----

void AppendStatements(const std::vector<std::string>& statements, std::string* out) {
  for (const std::string& statement : statements) {
    std::string text = RTrim(Trim(statement));
    // A comment line (data steps describe their batches with one) takes no ';'.
    const bool comment = StartsWith(text, "--") && text.find('\n') == std::string::npos;
    if (!comment && (text.empty() || text.back() != ';')) text += ";";
    for (const std::string& line : Split(text, '\n')) {
      std::string trimmed = RTrim(line);
      *out += trimmed.empty() ? "\n" : "    " + trimmed + "\n";
    }
  }
}

std::string NoDownText(Reversibility r) {
  switch (r) {
    case Reversibility::kReversible:
      return "nothing to undo";
    case Reversibility::kNeedsBackup:
      return "none; rollback restores its tables from a backup";
    case Reversibility::kIrreversible:
      return "none; cannot be undone";
  }
  return "";
}

/// One step: header, waits with reasons, its SQL and (with `show_down`) its inverse.
void AppendStepText(const View& v, const Graph& graph, int i, bool show_down, std::string* out) {
  const StepDecl& decl = *graph.nodes[i];
  const Step& step = *decl.step;
  *out += "step " + std::to_string(i + 1) + "/" + std::to_string(graph.nodes.size()) + " " +
          decl.id + " (" + decl.kind + ")";
  std::vector<std::string> after;
  for (int p : graph.preds[i]) after.push_back(graph.nodes[p]->id);
  if (!after.empty()) *out += " after " + Join(after, ", ");
  *out += "\n";
  if (!decl.description.empty()) *out += "  " + decl.description + "\n";
  // A barrier's reason repeats on each of its edges; show every reason once.
  std::vector<std::string> because;
  for (const Edge* e : EdgesInto(graph, i)) {
    for (const std::string& reason : Split(e->reason, ';')) {
      std::string r = Trim(reason);
      if (std::find(because.begin(), because.end(), r) == because.end()) because.push_back(r);
    }
  }
  for (size_t k = 0; k < because.size(); ++k) {
    *out += (k == 0 ? "  because: " : "           ") + because[k] + "\n";
  }
  if (!step.Transactional()) *out += "  runs outside a transaction\n";
  StepEnv env = EnvOf(v, decl);
  *out += "  up:\n";
  AppendStatements(step.DescribeUp(env), out);
  if (!show_down) return;
  std::vector<std::string> down = step.DescribeDown(env);
  if (down.empty()) {
    *out += "  down: " + NoDownText(step.reversibility()) + "\n";
    return;
  }
  *out += "  down:\n";
  AppendStatements(down, out);
}

std::string FormatText(const View& v) {
  const Plan& plan = v.plan;
  std::string out = "plan " + plan.version.text + " " + plan.name + " (" + plan.source.path + ")\n";
  if (!plan.description.empty()) out += "  " + plan.description + "\n";
  if (!plan.requires_versions.empty()) {
    std::vector<std::string> versions;
    for (const auto& r : plan.requires_versions) versions.push_back(r.first.text);
    out += "  requires: " + Join(versions, ", ") + "\n";
  }
  out += "  checksum: " + Checksum(plan) + "\n";
  if (plan.has_rollback) {
    out += "  reversible: yes (rollback section)\n";
  } else if (v.irreversible.empty()) {
    out += "  reversible: yes\n";
  } else {
    out += "  reversible: no\n";
    for (const std::string& reason : v.irreversible) out += "    " + reason + "\n";
  }
  if (plan.rollback_on_failure) out += "  on failure: rollback (undo the plan if a step fails)\n";
  for (size_t i = 0; i < v.steps.nodes.size(); ++i) {
    out += "\n";
    AppendStepText(v, v.steps, static_cast<int>(i), !plan.has_rollback, &out);
  }
  if (v.rollback) {
    out += "\nrollback (runs instead of undoing each step):\n";
    for (size_t i = 0; i < v.rollback->nodes.size(); ++i) {
      out += "\n";
      AppendStepText(v, *v.rollback, static_cast<int>(i), false, &out);
    }
  }
  return out;
}

// ---- json ----

const char* ReversibilityName(Reversibility r) {
  switch (r) {
    case Reversibility::kReversible:
      return "reversible";
    case Reversibility::kNeedsBackup:
      return "needs_backup";
    case Reversibility::kIrreversible:
      return "irreversible";
  }
  return "";
}

Json StepJson(const View& v, const Graph& graph, int i, bool with_down) {
  const StepDecl& decl = *graph.nodes[i];
  const Step& step = *decl.step;
  StepEnv env = EnvOf(v, decl);
  Json after = Json::array();
  for (const Edge* e : EdgesInto(graph, i)) {
    after.push_back(Json{{"id", graph.nodes[e->from]->id}, {"reason", e->reason}});
  }
  Json j = Json::object();
  j["id"] = decl.id;
  j["kind"] = decl.kind;
  j["description"] = decl.description;
  j["after"] = after;
  j["transactional"] = step.Transactional();
  j["reversibility"] = ReversibilityName(step.reversibility());
  j["up"] = step.DescribeUp(env);
  if (with_down) j["down"] = step.DescribeDown(env);
  return j;
}

Json EdgesJson(const Graph& graph) {
  Json edges = Json::array();
  for (const Edge& e : graph.edges) {
    edges.push_back(Json{
        {"from", graph.nodes[e.from]->id}, {"to", graph.nodes[e.to]->id}, {"reason", e.reason}});
  }
  return edges;
}

std::string FormatJson(const View& v) {
  const Plan& plan = v.plan;
  Json j = Json::object();
  j["version"] = plan.version.text;
  j["name"] = plan.name;
  j["file"] = plan.source.path;
  j["description"] = plan.description;
  Json requires_versions = Json::array();
  for (const auto& r : plan.requires_versions) requires_versions.push_back(r.first.text);
  j["requires"] = requires_versions;
  j["checksum"] = Checksum(plan);
  j["reversible"] = v.irreversible.empty();
  j["irreversible_reasons"] = v.irreversible;
  j["on_failure"] = v.plan.rollback_on_failure ? "rollback" : "stop";
  Json steps = Json::array();
  for (size_t i = 0; i < v.steps.nodes.size(); ++i) {
    steps.push_back(StepJson(v, v.steps, static_cast<int>(i), !plan.has_rollback));
  }
  j["steps"] = steps;
  j["edges"] = EdgesJson(v.steps);
  Json rollback = Json::array();
  if (v.rollback) {
    for (size_t i = 0; i < v.rollback->nodes.size(); ++i) {
      rollback.push_back(StepJson(v, *v.rollback, static_cast<int>(i), false));
    }
  }
  j["rollback"] = rollback;
  j["rollback_edges"] = v.rollback ? EdgesJson(*v.rollback) : Json::array();
  // Plan text need not be UTF-8; JSON must be, so bad bytes become U+FFFD.
  return j.dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
}

// ---- dot ----

std::string DotQuote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

void AppendDotGraph(const Graph& graph, const std::string& prefix, const std::string& indent,
                    std::string* out) {
  for (const StepDecl* decl : graph.nodes) {
    std::string label = DotQuote(decl->id);
    label.insert(label.size() - 1, "\\n(" + decl->kind + ")");
    *out += indent + DotQuote(prefix + decl->id) + " [label=" + label + "];\n";
  }
  for (const Edge& e : graph.edges) {
    *out += indent + DotQuote(prefix + graph.nodes[e.from]->id) + " -> " +
            DotQuote(prefix + graph.nodes[e.to]->id) + " [label=" + DotQuote(e.reason) + "];\n";
  }
}

std::string FormatDot(const View& v) {
  std::string out = "digraph " + DotQuote("plan_" + v.plan.version.text) + " {\n";
  out += "  node [shape=box];\n";
  AppendDotGraph(v.steps, "", "  ", &out);
  if (v.rollback) {
    out += "  subgraph \"cluster_rollback\" {\n    label=\"rollback\";\n";
    AppendDotGraph(*v.rollback, "rollback/", "    ", &out);
    out += "  }\n";
  }
  return out + "}\n";
}

// ---- mermaid ----

/// A quoted Mermaid label; '"' becomes the entity Mermaid understands.
std::string MermaidQuote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') {
      out += "#quot;";
    } else {
      out += c;
    }
  }
  return out + "\"";
}

/// Nodes are named `prefix` + position ("s1", "r2"): step ids may be words
/// Mermaid reserves, such as "end".
void AppendMermaidGraph(const Graph& graph, const std::string& prefix, const std::string& indent,
                        std::string* out) {
  auto name = [&](int i) { return prefix + std::to_string(i + 1); };
  for (size_t i = 0; i < graph.nodes.size(); ++i) {
    const StepDecl& decl = *graph.nodes[i];
    *out += indent + name(static_cast<int>(i)) + "[" +
            MermaidQuote(decl.id + "<br/>(" + decl.kind + ")") + "]\n";
  }
  for (const Edge& e : graph.edges) {
    *out += indent + name(e.from) + " -->|" + MermaidQuote(e.reason) + "| " + name(e.to) + "\n";
  }
}

std::string FormatMermaid(const View& v) {
  std::string out = "flowchart TD\n";
  AppendMermaidGraph(v.steps, "s", "  ", &out);
  if (v.rollback) {
    out += "  subgraph rollback\n";
    AppendMermaidGraph(*v.rollback, "r", "    ", &out);
    out += "  end\n";
  }
  return out;
}

}  // namespace

std::string FormatPlan(const Plan& plan, const Graph& steps_graph, const Graph* rollback_graph,
                       const SchemaNames& names, PlanFormat format) {
  View v{plan, steps_graph, rollback_graph, names, IrreversibleReasons(plan, steps_graph)};
  switch (format) {
    case PlanFormat::kText:
      return FormatText(v);
    case PlanFormat::kJson:
      return FormatJson(v);
    case PlanFormat::kDot:
      return FormatDot(v);
    case PlanFormat::kMermaid:
      return FormatMermaid(v);
  }
  return "";
}

}  // namespace planrun
