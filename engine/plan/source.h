// Source locations and the one function that formats every plan error, in the
// style of ninja's Lexer::Error:
//
//   plans/v2.yaml:12:7: error: unknown key 'tabels' in backup step; did you mean 'tables'?
//       backup: {tabels: [packages]}
//                ^
//
// Tests compare these texts whole, so the wording is part of the interface.
#pragma once

#include <string>

#include "util/status.h"

namespace planrun {

/// A position in a plan file: 1-based line and column; line 0 means unknown.
struct Loc {
  int line = 0;
  int col = 0;
};

/// A plan file as the user named it, and its whole text (for diagnostics).
struct SourceFile {
  std::string path;  // as shown in messages, e.g. "plans/examples/002_packages_v2.yaml"
  std::string text;
};

/// "path:line:col: error: message", then the source line and a caret under
/// `loc.col` (tabs in the line are kept so the caret lines up). With an
/// unknown location: "path: error: message" alone. No trailing newline.
std::string FormatDiagnostic(const SourceFile& file, Loc loc, const std::string& message);

/// Status::Invalid carrying FormatDiagnostic(file, loc, message).
Status PlanError(const SourceFile& file, Loc loc, const std::string& message);

}  // namespace planrun
