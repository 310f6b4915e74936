// Messages about fields, shared by DecodeField and EncodeField. Internal to
// data/.
#pragma once

#include <string>
#include <string_view>

#include "data/value.h"
#include "util/status.h"

namespace planrun {

/// Lower-case hex digits by value.
inline constexpr char kHexDigits[] = "0123456789abcdef";

/// `text` quoted for an error message: at most 40 bytes (cut at a UTF-8
/// character boundary), control characters shown as escapes.
std::string QuoteSample(std::string_view text);

/// Status::Failed("column 'age' (integer) " + why); the class name stands in
/// for an empty type name.
Status ColumnError(const ColumnSpec& col, const std::string& why);

}  // namespace planrun
