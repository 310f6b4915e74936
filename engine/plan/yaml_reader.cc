// The only code that talks to yaml-cpp. It drives yaml-cpp's event parser and
// builds planrun's Node tree itself, so it sees every location, every
// duplicate key and every alias expansion, and can stop at the limits before
// memory runs out.
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/exceptions.h>
#include <yaml-cpp/mark.h>
#include <yaml-cpp/parser.h>

#include <algorithm>
#include <map>
#include <optional>
#include <sstream>
#include <string_view>
#include <unordered_map>

#include "plan/node.h"

namespace planrun {

namespace {

std::string DepthMessage(int max_depth) {
  return "nesting deeper than " + std::to_string(max_depth) + " levels";
}

/// Estimates nesting from the text alone, before yaml-cpp's recursive parser
/// sees it: flow brackets outside quotes, comments and block scalars, plus one
/// level per block collection, found by indentation and by "- ", "? " and
/// "key: " at the start of lines. The estimate may count low (a list written
/// at its key's indentation shares the key's level), which the exact check on
/// the tree while building it makes up for; it counts high only for brackets
/// that open a continuation line of a multi-line plain scalar.
class NestingScan {
 public:
  NestingScan(const SourceFile& file, int max_depth) : file_(file), max_depth_(max_depth) {}

  Status Run() {
    std::string_view text = file_.text;
    int lineno = 1;
    for (size_t start = 0; start <= text.size(); ++lineno) {
      size_t end = text.find('\n', start);
      if (end == std::string_view::npos) end = text.size();
      PLANRUN_RETURN_IF_ERROR(ScanLine(text.substr(start, end - start), lineno));
      start = end + 1;
    }
    return Status::OK();
  }

  /// The outermost bracket the text never closes, if any: where and which.
  std::optional<std::pair<Loc, char>> Unclosed() const {
    if (open_.empty()) return std::nullopt;
    return open_.front();
  }

 private:
  static bool IsBlank(char c) { return c == ' ' || c == '\t' || c == '\r'; }
  static bool IsFlowIndicator(char c) {
    return c == ',' || c == '[' || c == ']' || c == '{' || c == '}';
  }

  /// True when position `j` ends a token: end of line, a blank or, inside
  /// flow brackets, a flow indicator.
  bool EndsToken(std::string_view line, size_t j) const {
    return j >= line.size() || IsBlank(line[j]) || (flow_ > 0 && IsFlowIndicator(line[j]));
  }

  Status TooDeep(int lineno, size_t index) const {
    return PlanError(file_, Loc{lineno, static_cast<int>(index) + 1}, DepthMessage(max_depth_));
  }

  bool OverLimit() const { return static_cast<int>(indents_.size()) + flow_ > max_depth_; }

  /// True when the block node starting at `i` is a "key: value" entry.
  bool IsMappingKey(std::string_view line, size_t i) const {
    if (line[i] == '[' || line[i] == '{') return false;
    if (line[i] == '\'' || line[i] == '"') {
      char q = line[i];
      for (++i; i < line.size() && line[i] != q; ++i) {
        if (q == '"' && line[i] == '\\') ++i;
      }
      if (i >= line.size()) return false;
      i = line.find_first_not_of(" \t", i + 1);
      return i != std::string_view::npos && line[i] == ':' && EndsToken(line, i + 1);
    }
    for (; i < line.size(); ++i) {
      if (line[i] == ':' && EndsToken(line, i + 1)) return true;
      if (line[i] == '#' && i > 0 && IsBlank(line[i - 1])) return false;
    }
    return false;
  }

  /// Opens a block collection at column `col` unless one is open there.
  Status Push(size_t col, int lineno) {
    if (indents_.empty() || indents_.back() < static_cast<int>(col)) {
      indents_.push_back(static_cast<int>(col));
    }
    return OverLimit() ? TooDeep(lineno, col) : Status::OK();
  }

  Status ScanLine(std::string_view line, int lineno) {
    size_t indent = 0;
    while (indent < line.size() && line[indent] == ' ') ++indent;
    bool blank = line.find_first_not_of(" \t\r") == std::string_view::npos;
    if (block_parent_ >= 0) {
      if (blank || indent > static_cast<size_t>(block_parent_)) return Status::OK();
      block_parent_ = -1;
    }
    size_t pos = 0;
    if (quote_ == 0 && flow_ == 0) {
      if (blank || line[indent] == '#') return Status::OK();
      while (!indents_.empty() && indents_.back() > static_cast<int>(indent)) indents_.pop_back();
      pos = indent;
      while ((line[pos] == '-' || line[pos] == '?' || line[pos] == ':') &&
             EndsToken(line, pos + 1)) {
        PLANRUN_RETURN_IF_ERROR(Push(pos, lineno));
        size_t next = line.find_first_not_of(" \t\r", pos + 1);
        if (next == std::string_view::npos || line[next] == '#') return Status::OK();
        pos = next;
      }
      if (IsMappingKey(line, pos)) PLANRUN_RETURN_IF_ERROR(Push(pos, lineno));
    }
    return ScanTokens(line, pos, lineno);
  }

  /// Index just past the quoted scalar that continues at `i`, or the line's
  /// end when it goes on to the next line.
  size_t SkipQuoted(std::string_view line, size_t i) {
    while (i < line.size()) {
      char c = line[i];
      if (quote_ == '\'' && c == '\'') {
        if (i + 1 < line.size() && line[i + 1] == '\'') {
          i += 2;
          continue;
        }
        quote_ = 0;
        return i + 1;
      }
      if (quote_ == '"' && c == '\\') {
        i += 2;
        continue;
      }
      if (quote_ == '"' && c == '"') {
        quote_ = 0;
        return i + 1;
      }
      ++i;
    }
    return line.size();
  }

  /// Index just past the plain scalar (or anchor, alias, tag) starting at `i`.
  size_t SkipPlain(std::string_view line, size_t i) const {
    for (++i; i < line.size(); ++i) {
      char c = line[i];
      if (c == ':' && EndsToken(line, i + 1)) break;
      if (c == '#' && IsBlank(line[i - 1])) break;
      if (flow_ > 0 && IsFlowIndicator(c)) break;
    }
    return i;
  }

  Status ScanTokens(std::string_view line, size_t i, int lineno) {
    while (i < line.size()) {
      if (quote_ != 0) {
        i = SkipQuoted(line, i);
        continue;
      }
      char c = line[i];
      if (IsBlank(c) || c == ',') {
        ++i;
      } else if (c == '#' && (i == 0 || IsBlank(line[i - 1]))) {
        return Status::OK();
      } else if (c == '\'' || c == '"') {
        quote_ = c;
        ++i;
      } else if (c == '[' || c == '{') {
        ++flow_;
        open_.emplace_back(Loc{lineno, static_cast<int>(i) + 1}, c);
        if (OverLimit()) return TooDeep(lineno, i);
        ++i;
      } else if (c == ']' || c == '}') {
        if (flow_ > 0) --flow_;
        if (!open_.empty()) open_.pop_back();
        ++i;
      } else if ((c == '-' || c == '?' || c == ':') && EndsToken(line, i + 1)) {
        ++i;
      } else if (flow_ == 0 && (c == '|' || c == '>')) {
        block_parent_ = indents_.empty() ? 0 : indents_.back();
        return Status::OK();
      } else {
        i = SkipPlain(line, i);
      }
    }
    return Status::OK();
  }

  const SourceFile& file_;
  int max_depth_;
  std::vector<std::pair<Loc, char>> open_;  // each open flow bracket and where it is
  int flow_ = 0;                            // open flow brackets
  char quote_ = 0;                          // the quote of a scalar still open, or 0
  int block_parent_ = -1;                   // inside a block scalar: its parent's column
  std::vector<int> indents_;                // columns of the open block levels
};

/// yaml-cpp's message, with what to do about it where yaml-cpp's words are
/// its own jargon.
std::string ExplainYamlError(const std::string& msg) {
  if (msg == "end of map flow not found" || msg == "end of sequence flow not found") {
    return "a bracket is never closed; close it, or quote a value that contains brackets";
  }
  if (msg == "illegal tab when looking for indentation") {
    return "a tab indents this line; YAML indents with spaces only";
  }
  if (msg == "illegal map value") {
    return "unexpected ':'; quote a value that contains ': ' (for example \"a: b\")";
  }
  return msg;
}

/// Thrown from inside yaml-cpp's callbacks to stop parsing with an error.
struct StopParsing {
  Loc loc;
  std::string message;
};

Loc ToLoc(const YAML::Mark& mark) {
  if (mark.is_null() || mark.line < 0) return Loc{};
  return Loc{mark.line + 1, mark.column + 1};
}

std::string LocText(Loc loc) { return std::to_string(loc.line) + ":" + std::to_string(loc.col); }

/// What a finished subtree costs, so an alias to it can be charged in full.
struct Cost {
  size_t nodes = 0;
  size_t bytes = 0;
  int height = 0;  // levels of maps and lists
};

/// Builds the Node tree from yaml-cpp's events, enforcing the limits, unique
/// keys and a single document.
class TreeBuilder : public YAML::EventHandler {
 public:
  TreeBuilder(const YamlLimits& limits, std::string_view text) : limits_(limits), text_(text) {
    root_.loc = Loc{1, 1};
  }

  Node TakeRoot() { return std::move(root_); }

  void OnDocumentStart(const YAML::Mark& mark) override {
    if (documents_++ == 0) return;
    // yaml-cpp also starts a new document at text left over after the first
    // one's top-level value (say a key after a top-level list).
    bool explicit_start = mark.pos >= 0 && static_cast<size_t>(mark.pos) < text_.size() &&
                          text_.substr(mark.pos, 3) == "---";
    throw StopParsing{ToLoc(mark), explicit_start
                                       ? "a second YAML document starts here; put each plan in "
                                         "its own file"
                                       : "unexpected text after the end of the document; check "
                                         "its indentation"};
  }
  void OnDocumentEnd() override {}

  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    Node n;
    n.loc = ToLoc(mark);
    Charge(mark, 1, 0);
    Add(std::move(n), Cost{1, 0, 0}, anchor);
  }

  void OnScalar(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                const std::string& value) override {
    // libpq and Lua would cut the text at a NUL, so SQL or a hook would run
    // other text than the plan shows.
    if (value.find('\0') != std::string::npos) {
      throw StopParsing{ToLoc(mark),
                        "a value contains a NUL character (\\0); plans cannot hold NUL bytes"};
    }
    Node n;
    n.kind = Node::Kind::kScalar;
    n.loc = ToLoc(mark);
    n.scalar = value;
    // yaml-cpp tags quoted and block scalars "!"; !!str asks for a string too.
    n.quoted = tag == "!" || tag == "tag:yaml.org,2002:str";
    Charge(mark, 1, value.size());
    Add(std::move(n), Cost{1, value.size(), 0}, anchor);
  }

  void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    auto it = anchors_.find(anchor);
    if (it == anchors_.end()) {
      throw StopParsing{ToLoc(mark), "an alias cannot refer to the node that contains it"};
    }
    const Cost& cost = it->second.second;
    if (static_cast<int>(stack_.size()) + cost.height > limits_.max_depth) {
      throw StopParsing{ToLoc(mark), DepthMessage(limits_.max_depth)};
    }
    Charge(mark, cost.nodes, cost.bytes);
    Add(it->second.first, cost, 0);
  }

  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    Open(Node::Kind::kSeq, mark, anchor);
  }
  void OnSequenceEnd() override { Close(); }

  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value) override {
    Open(Node::Kind::kMap, mark, anchor);
  }
  void OnMapEnd() override { Close(); }

 private:
  /// A map or list still open.
  struct Frame {
    Node node;
    YAML::anchor_t anchor = 0;
    Cost cost;
    bool has_key = false;
    Node key;
    std::unordered_map<std::string, Loc> keys;  // maps: keys seen so far
  };

  void Charge(const YAML::Mark& mark, size_t nodes, size_t bytes) {
    nodes_ += nodes;
    bytes_ += bytes;
    if (nodes_ > limits_.max_nodes) {
      throw StopParsing{ToLoc(mark), "document expands to more than " +
                                         std::to_string(limits_.max_nodes) +
                                         " nodes (too many aliases?)"};
    }
    if (bytes_ > limits_.max_text_bytes) {
      throw StopParsing{ToLoc(mark), "document expands to more than " +
                                         std::to_string(limits_.max_text_bytes) +
                                         " bytes of text (too many aliases?)"};
    }
  }

  void Open(Node::Kind kind, const YAML::Mark& mark, YAML::anchor_t anchor) {
    if (static_cast<int>(stack_.size()) + 1 > limits_.max_depth) {
      throw StopParsing{ToLoc(mark), DepthMessage(limits_.max_depth)};
    }
    Charge(mark, 1, 0);
    stack_.emplace_back();
    Frame& f = stack_.back();
    f.node.kind = kind;
    f.node.loc = ToLoc(mark);
    f.anchor = anchor;
    f.cost = Cost{1, 0, 1};
  }

  void Close() {
    Frame f = std::move(stack_.back());
    stack_.pop_back();
    Add(std::move(f.node), f.cost, f.anchor);
  }

  void Add(Node n, const Cost& cost, YAML::anchor_t anchor) {
    if (anchor != 0) anchors_[anchor] = {n, cost};
    if (stack_.empty()) {
      root_ = std::move(n);
      return;
    }
    Frame& f = stack_.back();
    f.cost.nodes += cost.nodes;
    f.cost.bytes += cost.bytes;
    f.cost.height = std::max(f.cost.height, cost.height + 1);
    if (f.node.IsSeq()) {
      f.node.seq.push_back(std::move(n));
    } else if (f.has_key) {
      // An empty value ("steps:" and nothing after it) gets the mark of the
      // next token; point at its key instead.
      bool after_key = n.loc.line == f.key.loc.line && n.loc.col > f.key.loc.col;
      if (n.IsNull() && !after_key) n.loc = f.key.loc;
      f.node.map.emplace_back(std::move(f.key), std::move(n));
      f.has_key = false;
    } else {
      if (!n.IsScalar()) {
        throw StopParsing{n.loc, "mapping keys must be text, got " + n.KindName()};
      }
      auto [it, inserted] = f.keys.emplace(n.scalar, n.loc);
      if (!inserted) {
        throw StopParsing{n.loc,
                          "duplicate key '" + n.scalar + "'; first at " + LocText(it->second)};
      }
      f.key = std::move(n);
      f.has_key = true;
    }
  }

  const YamlLimits& limits_;
  std::string_view text_;
  Node root_;
  int documents_ = 0;
  size_t nodes_ = 0;
  size_t bytes_ = 0;
  std::vector<Frame> stack_;
  std::map<YAML::anchor_t, std::pair<Node, Cost>> anchors_;
};

}  // namespace

Status ParseYaml(const SourceFile& file, Node* root, const YamlLimits& limits) {
  if (file.text.size() > limits.max_bytes) {
    return PlanError(file, Loc{},
                     "plan file is " + std::to_string(file.text.size()) +
                         " bytes, over the limit of " + std::to_string(limits.max_bytes) +
                         "; split it into smaller plans");
  }
  NestingScan scan(file, limits.max_depth);
  PLANRUN_RETURN_IF_ERROR(scan.Run());
  std::istringstream in(file.text);
  TreeBuilder builder(limits, file.text);
  try {
    YAML::Parser parser(in);
    if (parser.HandleNextDocument(builder)) parser.HandleNextDocument(builder);
  } catch (const StopParsing& stop) {
    return PlanError(file, stop.loc, stop.message);
  } catch (const YAML::Exception& e) {
    Loc loc = ToLoc(e.mark);
    std::string message = ExplainYamlError(e.msg);
    const bool unclosed =
        e.msg == "end of map flow not found" || e.msg == "end of sequence flow not found";
    if (unclosed && scan.Unclosed()) {
      const auto [where, bracket] = *scan.Unclosed();
      loc = where;
      message = std::string("this '") + bracket + "' is never closed; close it with '" +
                (bracket == '{' ? '}' : ']') +
                "', or quote a value that contains brackets (for example \"'{}'\")";
    }
    return PlanError(file, loc, "invalid YAML: " + message);
  }
  *root = builder.TakeRoot();
  return Status::OK();
}

}  // namespace planrun
