#include "plan/source.h"

#include <catch2/catch.hpp>

namespace planrun {
namespace {

const SourceFile kFile{"plans/v2.yaml",
                       "version: 2\nsteps:\n  - id: a\n    backup: {tabels: [p]}\n"};

TEST_CASE("FormatDiagnostic shows the line and a caret under the column") {
  CHECK(FormatDiagnostic(kFile, Loc{4, 14}, "unknown key 'tabels' in backup step") ==
        "plans/v2.yaml:4:14: error: unknown key 'tabels' in backup step\n"
        "    backup: {tabels: [p]}\n"
        "             ^");
}

TEST_CASE("FormatDiagnostic at column 1 puts the caret first") {
  CHECK(FormatDiagnostic(kFile, Loc{1, 1}, "plan needs 'name'") ==
        "plans/v2.yaml:1:1: error: plan needs 'name'\n"
        "version: 2\n"
        "^");
}

TEST_CASE("FormatDiagnostic with an unknown location has no source line") {
  CHECK(FormatDiagnostic(kFile, Loc{}, "plan file is 9 bytes; the limit is 4") ==
        "plans/v2.yaml: error: plan file is 9 bytes; the limit is 4");
}

TEST_CASE("FormatDiagnostic keeps tabs so the caret lines up") {
  SourceFile f{"t.yaml", "a: 1\n\tx:\t[y]\n"};
  CHECK(FormatDiagnostic(f, Loc{2, 5}, "m") == "t.yaml:2:5: error: m\n\tx:\t[y]\n\t  \t^");
}

TEST_CASE("FormatDiagnostic counts a multi-byte character as one column of blanks") {
  SourceFile f{"u.yaml", "name: \xc3\xa9t\xc3\xa9 x\n"};
  // "é" is two bytes; byte column 12 is the x.
  CHECK(FormatDiagnostic(f, Loc{1, 12}, "m") ==
        "u.yaml:1:12: error: m\nname: \xc3\xa9t\xc3\xa9 x\n         ^");
}

TEST_CASE("FormatDiagnostic past the end of the text omits the source lines") {
  CHECK(FormatDiagnostic(kFile, Loc{5, 1}, "m") == "plans/v2.yaml:5:1: error: m");
  CHECK(FormatDiagnostic(SourceFile{"e.yaml", ""}, Loc{1, 1}, "m") == "e.yaml:1:1: error: m");
}

TEST_CASE("FormatDiagnostic shows the last line without a newline and drops CR") {
  SourceFile f{"w.yaml", "a: 1\r\nb: [\r\n"};
  CHECK(FormatDiagnostic(f, Loc{2, 4}, "m") == "w.yaml:2:4: error: m\nb: [\n   ^");
  SourceFile g{"n.yaml", "a: 1\nb: 2"};
  CHECK(FormatDiagnostic(g, Loc{2, 1}, "m") == "n.yaml:2:1: error: m\nb: 2\n^");
}

TEST_CASE("FormatDiagnostic pads a caret past the end of the line") {
  SourceFile f{"p.yaml", "a:\n"};
  CHECK(FormatDiagnostic(f, Loc{1, 4}, "m") == "p.yaml:1:4: error: m\na:\n   ^");
}

TEST_CASE("PlanError is an invalid status with the diagnostic as its message") {
  Status s = PlanError(kFile, Loc{2, 1}, "'steps' must be a list, got a mapping");
  CHECK(s.code() == StatusCode::kInvalid);
  CHECK(s.message() ==
        "plans/v2.yaml:2:1: error: 'steps' must be a list, got a mapping\nsteps:\n^");
}

}  // namespace
}  // namespace planrun
