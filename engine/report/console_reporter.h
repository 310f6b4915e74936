// The console reporter on any pair of streams, so tests can read exactly what
// a user would see. MakeConsoleReporter (reporter.h) is this on stdout and a
// colour-aware stderr. The streams must outlive the reporter; the reporter is
// thread-safe, and each line is written and flushed whole.
#pragma once

#include <chrono>
#include <memory>
#include <ostream>
#include <string>
#include <string_view>

#include "report/reporter.h"

namespace planrun {

/// A console reporter writing Out lines to `out` and log lines to `err`.
std::unique_ptr<Reporter> MakeStreamReporter(LogFormat format, Verbosity verbosity,
                                             std::ostream* out, std::ostream* err);

/// One JSON log line (no newline): {"ts":"2026-11-21T20:01:02.123Z","level":..,"msg":..}.
/// Invalid UTF-8 in `msg` becomes U+FFFD.
std::string JsonLogLine(std::chrono::system_clock::time_point ts, std::string_view level,
                        std::string_view msg);

}  // namespace planrun
