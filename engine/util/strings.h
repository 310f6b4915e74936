// Small string helpers shared by every stage: joining, splitting, edit
// distance for "did you mean", durations and sizes as plans write them.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace planrun {

/// Joins `parts` with `sep` between them.
std::string Join(const std::vector<std::string>& parts, std::string_view sep);

/// Splits `s` at every `sep`; "a,,b" gives {"a", "", "b"}.
std::vector<std::string> Split(std::string_view s, char sep);

/// `s` without leading and trailing ASCII white space.
std::string Trim(std::string_view s);

/// True when `s` starts with `prefix`.
bool StartsWith(std::string_view s, std::string_view prefix);

/// Edit distance between `a` and `b`, counting a swap of two neighbouring
/// characters as one edit (optimal string alignment).
size_t EditDistance(std::string_view a, std::string_view b);

/// The candidate closest to `word` when it is close enough to be a likely
/// typo (distance <= max(1, len/3)), else empty.
std::string ClosestMatch(std::string_view word, const std::vector<std::string>& candidates);

/// Parses a duration: "250ms", "2s", "10min", "1h", "1d" or a bare number of
/// seconds. Returns false on anything else.
bool ParseDuration(std::string_view text, int64_t* millis);

/// Formats milliseconds as a PostgreSQL interval literal usable in SET, e.g. "2000ms".
std::string PgDuration(int64_t millis);

/// Formats a duration for people: "850ms", "12.4s", "3m05s", "2h01m".
std::string HumanDuration(int64_t millis);

/// `text` with %XX escapes decoded (URLs); malformed escapes are kept as written.
std::string PercentDecode(const std::string& text);

/// Lower-case hex of `bytes`.
std::string HexEncode(std::string_view bytes);

}  // namespace planrun
