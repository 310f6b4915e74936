// libFuzzer target for data/copy_text.h: every input must survive each round
// trip exactly; a mismatch prints both sides and aborts.
//   - a COPY line: Parse -> AppendCopyRow -> Parse gives the same fields;
//   - fields cut from the input: AppendCopyRow -> Parse gives them back;
//   - an array literal: Parse -> Format -> Parse gives the same elements;
//   - elements cut from the input: Format -> Parse gives them back;
//   - a field of each column class: Decode -> Encode -> Decode gives the same Value.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "data/copy_text.h"

namespace planrun {
namespace {

/// Prints `what` with both sides of a failed round trip, then aborts.
[[noreturn]] void Fail(const char* what, std::string_view input, const std::string& detail) {
  std::fprintf(stderr, "%s\ninput (%zu bytes): ", what, input.size());
  for (unsigned char c : input) std::fprintf(stderr, "%02x", c);
  std::fprintf(stderr, "\n%s\n", detail.c_str());
  std::abort();
}

/// Fields shown for a failure message.
std::string Show(const std::vector<RawField>& fields) {
  std::string out;
  AppendCopyRow(&out, fields);
  return out;
}

/// `input` cut at 0x1f into fields; a field of exactly 0x1e is NULL.
std::vector<RawField> Cut(std::string_view input) {
  std::vector<RawField> fields;
  for (;;) {
    size_t cut = input.find('\x1f');
    std::string_view part = input.substr(0, cut);
    if (part == "\x1e") {
      fields.emplace_back();
    } else {
      fields.emplace_back(std::string(part));
    }
    if (cut == std::string_view::npos) return fields;
    input.remove_prefix(cut + 1);
  }
}

/// AppendCopyRow's line for `fields` without its newline, checking that it
/// ends in exactly one newline and holds no raw CR or newline.
std::string Line(std::string_view input, const std::vector<RawField>& fields) {
  std::string line;
  AppendCopyRow(&line, fields);
  if (line.empty() || line.back() != '\n') Fail("row does not end in a newline", input, line);
  line.pop_back();
  if (line.find_first_of("\r\n") != std::string::npos) Fail("raw CR or LF in row", input, line);
  return line;
}

void CopyLineRoundTrips(std::string_view input) {
  std::vector<RawField> first, second;
  if (ParseCopyLine(input, &first)) {
    std::string line = Line(input, first);
    if (!ParseCopyLine(line, &second) || second != first) {
      Fail("COPY line round trip", input, Show(first) + Show(second));
    }
  }
  std::vector<RawField> fields = Cut(input);
  std::string line = Line(input, fields);
  if (!ParseCopyLine(line, &second) || second != fields) {
    Fail("COPY fields round trip", input, Show(fields) + Show(second));
  }
}

void ArrayLiteralRoundTrips(std::string_view input) {
  std::vector<RawField> first, second;
  if (ParseArrayLiteral(input, &first)) {
    std::string text = FormatArrayLiteral(first);
    if (!ParseArrayLiteral(text, &second) || second != first) {
      Fail("array literal round trip", input, text);
    }
  }
  std::vector<RawField> elements = Cut(input);
  std::string text = FormatArrayLiteral(elements);
  if (!ParseArrayLiteral(text, &second) || second != elements) {
    Fail("array elements round trip", input, text);
  }
}

/// A column of class `cls` (elements of `element`).
ColumnSpec Column(TypeClass cls, TypeClass element = TypeClass::kText) {
  ColumnSpec c;
  c.name = "c";
  c.cls = cls;
  c.element = element;
  return c;
}

void FieldRoundTrips(std::string_view input) {
  static const ColumnSpec kColumns[] = {
      Column(TypeClass::kText),
      Column(TypeClass::kBool),
      Column(TypeClass::kInt),
      Column(TypeClass::kFloat),
      Column(TypeClass::kJson),
      Column(TypeClass::kBytea),
      Column(TypeClass::kArray, TypeClass::kText),
      Column(TypeClass::kArray, TypeClass::kInt),
      Column(TypeClass::kArray, TypeClass::kFloat),
      Column(TypeClass::kArray, TypeClass::kBool),
      Column(TypeClass::kArray, TypeClass::kBytea),
  };
  const RawField field{std::string(input)};
  for (const ColumnSpec& col : kColumns) {
    Value first, second;
    if (!DecodeField(col, field, &first).ok()) continue;
    RawField text;
    Status st = EncodeField(col, first, &text);
    if (!st.ok()) Fail("cannot encode a decoded value", input, st.message());
    st = DecodeField(col, text, &second);
    if (!st.ok()) Fail("cannot decode an encoded value", input, *text + "\n" + st.message());
    if (second != first) Fail("decode/encode round trip", input, *text);
  }
}

}  // namespace
}  // namespace planrun

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  planrun::CopyLineRoundTrips(input);
  planrun::ArrayLiteralRoundTrips(input);
  planrun::FieldRoundTrips(input);
  return 0;
}
