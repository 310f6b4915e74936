#include <mutex>

#include "report/reporter.h"
#include "util/redact.h"

namespace planrun {

/// The recorded lines and the lock that guards them.
struct RecordingReporter::Impl {
  mutable std::mutex mu;
  std::vector<std::string> lines;
};

RecordingReporter::RecordingReporter() : impl_(std::make_shared<Impl>()) {}

void RecordingReporter::Out(const std::string& text) { Add("out: ", text); }
void RecordingReporter::Debug(const std::string& msg) { Add("debug: ", msg); }
void RecordingReporter::Info(const std::string& msg) { Add("info: ", msg); }
void RecordingReporter::Warn(const std::string& msg) { Add("warn: ", msg); }
void RecordingReporter::Error(const std::string& msg) { Add("error: ", msg); }

void RecordingReporter::Progress(const std::string& line) { Add("progress: ", line); }

std::vector<std::string> RecordingReporter::lines() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->lines;
}

std::string RecordingReporter::out() const {
  static const std::string kOut = "out: ";
  std::lock_guard<std::mutex> lock(impl_->mu);
  std::string joined;
  bool first = true;
  for (const std::string& line : impl_->lines) {
    if (line.compare(0, kOut.size(), kOut) != 0) continue;
    if (!first) joined += '\n';
    joined.append(line, kOut.size(), std::string::npos);
    first = false;
  }
  return joined;
}

void RecordingReporter::Add(const std::string& prefix, const std::string& text) {
  std::string line = prefix + Redact(text);
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->lines.push_back(std::move(line));
}

}  // namespace planrun
