// Plan versions: an integer (7) or dotted numbers (2026.11.21.1), compared
// part by part as numbers, so 10 > 9 and 2026.11.21.2 > 2026.11.21.1.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace planrun {

/// A plan version.
struct Version {
  std::string text;             // canonical: parts joined by '.', no leading zeros
  std::vector<uint64_t> parts;  // numeric parts; missing trailing parts compare as 0

  /// Parses "7" or "2026.11.21.1"; false on anything else (empty parts,
  /// signs, letters, leading zeros, more than 8 parts, a part over 18 digits).
  static bool Parse(const std::string& text, Version* out);
  /// <0, 0, >0 as this sorts before, with, after `o`.
  int Compare(const Version& o) const;
  bool operator<(const Version& o) const { return Compare(o) < 0; }
  bool operator==(const Version& o) const { return Compare(o) == 0; }
  bool operator!=(const Version& o) const { return Compare(o) != 0; }
};

}  // namespace planrun
