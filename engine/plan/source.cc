#include "plan/source.h"

#include <string_view>

namespace planrun {

namespace {

/// The text of 1-based line `line` without its line break; false when the
/// text has fewer lines.
bool SourceLine(std::string_view text, int line, std::string_view* out) {
  size_t start = 0;
  for (int n = 1; n < line; ++n) {
    size_t nl = text.find('\n', start);
    if (nl == std::string_view::npos) return false;
    start = nl + 1;
  }
  if (start >= text.size()) return false;
  size_t end = text.find('\n', start);
  if (end == std::string_view::npos) end = text.size();
  if (end > start && text[end - 1] == '\r') --end;
  *out = text.substr(start, end - start);
  return true;
}

/// Blanks that put a caret under byte `col` (1-based) of `line`: tabs stay
/// tabs, each other character (not each UTF-8 byte) becomes one space.
std::string CaretIndent(std::string_view line, int col) {
  std::string out;
  for (int i = 0; i + 1 < col; ++i) {
    if (static_cast<size_t>(i) >= line.size()) {
      out.push_back(' ');
    } else if (line[i] == '\t') {
      out.push_back('\t');
    } else if ((static_cast<unsigned char>(line[i]) & 0xC0) != 0x80) {
      out.push_back(' ');
    }
  }
  return out;
}

}  // namespace

std::string FormatDiagnostic(const SourceFile& file, Loc loc, const std::string& message) {
  if (loc.line <= 0) return file.path + ": error: " + message;
  std::string out = file.path + ":" + std::to_string(loc.line) + ":" + std::to_string(loc.col) +
                    ": error: " + message;
  std::string_view line;
  if (SourceLine(file.text, loc.line, &line)) {
    out += "\n";
    out.append(line);
    out += "\n" + CaretIndent(line, loc.col) + "^";
  }
  return out;
}

Status PlanError(const SourceFile& file, Loc loc, const std::string& message) {
  return Status::Invalid(FormatDiagnostic(file, loc, message));
}

}  // namespace planrun
