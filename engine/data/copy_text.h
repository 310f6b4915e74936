// COPY text format (PostgreSQL's default COPY format): splitting lines into
// fields, escaping fields, and converting fields to typed Values and back.
// Pure functions; thread-safe.
//
// Conversions (DecodeField / EncodeField), by the column's TypeClass:
//   kText   any text                      <-> kString
//   kBool   t / f                         <-> kBool
//   kInt    -12                           <-> kInt (int64)
//   kFloat  1.5, NaN, Infinity, -Infinity <-> kFloat (encoded as float8out
//           writes it: the shortest text that round-trips exactly)
//   kJson   JSON text                     <-> kString (the JSON text as is)
//   kBytea  \x0a0b (hex)                  <-> kString holding the raw bytes
//   kArray  {a,"b c",NULL}                <-> kArray of the element class
//           (one-dimensional; multi-dimensional arrays are kept as kString)
// Encoding is lenient where it can be exact: a kInt or kFloat into a kText or
// numeric column becomes its decimal text, a kString into kInt is sent as is
// (PostgreSQL checks it), a kArray into a kJson column becomes a JSON array.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "data/value.h"
#include "util/status.h"

namespace planrun {

/// A raw COPY field: nullopt is \N.
using RawField = std::optional<std::string>;

/// Splits one COPY text line (without its newline) into unescaped fields.
/// Returns false on a malformed line (a trailing lone backslash).
bool ParseCopyLine(std::string_view line, std::vector<RawField>* fields);

/// Appends `raw` escaped for COPY text (backslash, tab, newline, CR...).
void AppendCopyField(std::string* out, std::string_view raw);

/// Appends a whole row: fields separated by tabs, NULL as \N, then "\n".
void AppendCopyRow(std::string* out, const std::vector<RawField>& fields);

/// Converts a raw field of column `col` into a typed Value.
Status DecodeField(const ColumnSpec& col, const RawField& field, Value* out);

/// Converts a Value into the raw text for column `col` (nullopt for NULL).
/// Errors name the column and say what was given: "column 'age' (integer)
/// cannot take the boolean true".
Status EncodeField(const ColumnSpec& col, const Value& v, RawField* out);

/// Parses a one-dimensional array literal into raw element texts.
bool ParseArrayLiteral(std::string_view text, std::vector<RawField>* elements);

/// Formats raw element texts as an array literal, quoting where needed.
std::string FormatArrayLiteral(const std::vector<RawField>& elements);

}  // namespace planrun
