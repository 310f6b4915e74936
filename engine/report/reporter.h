// Reporter: where commands send what the user sees. Results (status tables,
// plan listings, JSON) go to Out, which writes stdout verbatim; progress and
// diagnostics go to the log methods, which write stderr through spdlog as
// text or JSON lines. Every text passes Redact() first, so no secret reaches
// a terminal or a log. Implementations are thread-safe.
#pragma once

#include <memory>
#include <string>
#include <vector>

namespace planrun {

/// How log lines look.
enum class LogFormat { kText, kJson };
/// How much is logged: -q shows warnings and errors only, -v adds debug lines.
enum class Verbosity { kQuiet, kNormal, kVerbose };

/// The user-facing output of a command.
class Reporter {
 public:
  virtual ~Reporter() = default;
  /// A command result line (or block) on stdout; a newline is added.
  virtual void Out(const std::string& text) = 0;
  virtual void Debug(const std::string& msg) = 0;
  virtual void Info(const std::string& msg) = 0;
  virtual void Warn(const std::string& msg) = 0;
  virtual void Error(const std::string& msg) = 0;
  /// A progress line that replaces the previous one: redrawn in place on a
  /// terminal, an Info line now and then otherwise. Callers may call it often.
  virtual void Progress(const std::string& line) { Info(line); }
};

/// The console reporter: stdout for Out, spdlog on stderr for logs.
std::unique_ptr<Reporter> MakeConsoleReporter(LogFormat format, Verbosity verbosity);

/// Keeps every line, redacted, for tests. Thread-safe.
class RecordingReporter : public Reporter {
 public:
  RecordingReporter();
  void Out(const std::string& text) override;
  void Debug(const std::string& msg) override;
  void Info(const std::string& msg) override;
  void Warn(const std::string& msg) override;
  void Error(const std::string& msg) override;
  void Progress(const std::string& line) override;
  /// Every line so far, prefixed "out: ", "debug: ", "info: ", "warn: ",
  /// "error: " or "progress: ".
  std::vector<std::string> lines() const;
  /// Out lines only, joined by newlines.
  std::string out() const;

 private:
  void Add(const std::string& prefix, const std::string& text);
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace planrun
