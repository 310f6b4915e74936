#include "report/console_reporter.h"

#include <spdlog/logger.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/sinks/stdout_sinks.h>

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <mutex>
#include <nlohmann/json.hpp>

#include "util/redact.h"

namespace planrun {

namespace {

/// The level column of text lines, five wide: "debug", "info ", "warn ", "error".
std::string_view Label(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::trace:
    case spdlog::level::debug:
      return "debug";
    case spdlog::level::info:
      return "info ";
    case spdlog::level::warn:
      return "warn ";
    default:
      return "error";
  }
}

/// The `%*` pattern flag: Label() of the line's level.
class LabelFlag : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    std::string_view label = Label(msg.level);
    dest.append(label.data(), label.data() + label.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<LabelFlag>();
  }
};

/// `msg` with every line after the first indented under the message column.
std::string IndentContinuation(const std::string& msg) {
  std::string out;
  for (char c : msg) {
    out.push_back(c);
    if (c == '\n') out.append("      ");
  }
  return out;
}

/// Reporter over a spdlog logger (log lines) and a stream (Out).
class ConsoleReporter : public Reporter {
 public:
  ConsoleReporter(LogFormat format, std::shared_ptr<spdlog::logger> logger, std::ostream* out,
                  bool live)
      : format_(format), logger_(std::move(logger)), out_(out), live_(live) {}

  void Out(const std::string& text) override {
    std::string redacted = Redact(text);
    std::lock_guard<std::mutex> lock(out_mu_);
    *out_ << redacted << '\n';
    out_->flush();
  }
  void Debug(const std::string& msg) override { Log(spdlog::level::debug, msg); }
  void Info(const std::string& msg) override { Log(spdlog::level::info, msg); }
  void Warn(const std::string& msg) override { Log(spdlog::level::warn, msg); }
  void Error(const std::string& msg) override { Log(spdlog::level::err, msg); }

  void Progress(const std::string& line) override {
    if (!logger_->should_log(spdlog::level::info)) return;
    const auto now = std::chrono::steady_clock::now();
    std::lock_guard<std::mutex> lock(progress_mu_);
    if (live_) {
      // Redraw in place; the next log line clears it first.
      std::string text = "\r\033[K" + Redact(line);
      std::fwrite(text.data(), 1, text.size(), stderr);
      std::fflush(stderr);
      progress_shown_ = true;
      return;
    }
    if (now - last_progress_ < std::chrono::seconds(10)) return;
    last_progress_ = now;
    logger_->log(spdlog::level::info, IndentContinuation(Redact(line)));
  }

 private:
  void Log(spdlog::level::level_enum level, const std::string& msg) {
    if (!logger_->should_log(level)) return;
    if (live_) {
      std::lock_guard<std::mutex> lock(progress_mu_);
      if (progress_shown_) {
        std::fputs("\r\033[K", stderr);
        progress_shown_ = false;
      }
    }
    std::string line;
    if (format_ == LogFormat::kJson) {
      std::string_view label = Label(level);
      line = JsonLogLine(std::chrono::system_clock::now(),
                         label.substr(0, label.find_last_not_of(' ') + 1), Redact(msg));
    } else {
      line = IndentContinuation(Redact(msg));
    }
    logger_->log(level, spdlog::string_view_t(line.data(), line.size()));
  }

  const LogFormat format_;
  std::shared_ptr<spdlog::logger> logger_;  // its sinks are thread-safe
  std::ostream* out_;
  std::mutex out_mu_;
  const bool live_;  // text logs on a terminal: progress redraws one line
  std::mutex progress_mu_;
  bool progress_shown_ = false;
  std::chrono::steady_clock::time_point last_progress_;
};

/// A reporter logging through `sink` (text: "info  message"; JSON: the line as built).
std::unique_ptr<Reporter> MakeReporter(LogFormat format, Verbosity verbosity, spdlog::sink_ptr sink,
                                       std::ostream* out, bool live) {
  auto formatter = std::make_unique<spdlog::pattern_formatter>();
  formatter->add_flag<LabelFlag>('*').set_pattern(format == LogFormat::kJson ? "%v" : "%^%*%$ %v");
  sink->set_formatter(std::move(formatter));
  auto logger = std::make_shared<spdlog::logger>("planrun", std::move(sink));
  logger->set_level(verbosity == Verbosity::kQuiet     ? spdlog::level::warn
                    : verbosity == Verbosity::kVerbose ? spdlog::level::debug
                                                       : spdlog::level::info);
  return std::make_unique<ConsoleReporter>(format, std::move(logger), out, live);
}

}  // namespace

std::string JsonLogLine(std::chrono::system_clock::time_point ts, std::string_view level,
                        std::string_view msg) {
  std::time_t seconds = std::chrono::system_clock::to_time_t(ts);
  auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(ts.time_since_epoch()) % 1000;
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char stamp[40];
  size_t n = std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &utc);
  std::snprintf(stamp + n, sizeof stamp - n, ".%03dZ", static_cast<int>(millis.count()));
  nlohmann::ordered_json line;
  line["ts"] = stamp;
  line["level"] = level;
  line["msg"] = msg;
  return line.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

std::unique_ptr<Reporter> MakeStreamReporter(LogFormat format, Verbosity verbosity,
                                             std::ostream* out, std::ostream* err) {
  return MakeReporter(format, verbosity,
                      std::make_shared<spdlog::sinks::ostream_sink_mt>(*err, /*force_flush=*/true),
                      out, /*live=*/false);
}

std::unique_ptr<Reporter> MakeConsoleReporter(LogFormat format, Verbosity verbosity) {
  spdlog::sink_ptr sink;
  if (format == LogFormat::kJson) {
    sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  } else {
    sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  }
  const bool live = format == LogFormat::kText && isatty(fileno(stderr));
  return MakeReporter(format, verbosity, std::move(sink), &std::cout, live);
}

}  // namespace planrun
