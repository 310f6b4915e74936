// A planrun process that a fault test watches while it runs: its stderr comes
// through a pipe the test reads line by line, each line stamped with the time
// it arrived, so a fault (SIGKILL, a server restart, a lock) can be aimed at
// the moment a given line appears. Header-only: integration tests link only
// their own file and support.cc. Not thread-safe; one owner per process.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <string>
#include <vector>

#include "support.h"

namespace planrun {
namespace testing {

/// One line of stderr and when it arrived, in ms after the process started.
struct TimedLine {
  int64_t ms = 0;
  std::string text;
};

/// A running planrun binary with stdout and stderr read through pipes.
class PlanrunProcess {
 public:
  using Clock = std::chrono::steady_clock;

  /// Starts PlanrunBinary() with `args`, PGDATABASE=`dbname`.
  PlanrunProcess(const std::string& dbname, const std::vector<std::string>& args) {
    // Close-on-exec, so no process planrun starts keeps the pipes open.
    int out[2], err[2];
    REQUIRE(pipe2(out, O_CLOEXEC) == 0);
    REQUIRE(pipe2(err, O_CLOEXEC) == 0);
    start_ = Clock::now();
    pid_ = fork();
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      dup2(out[1], 1);
      dup2(err[1], 2);
      int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
      dup2(devnull, 0);
      setenv("PGDATABASE", dbname.c_str(), 1);
      std::vector<std::string> argv = {PlanrunBinary()};
      argv.insert(argv.end(), args.begin(), args.end());
      std::vector<char*> cargs;
      for (auto& a : argv) cargs.push_back(a.data());
      cargs.push_back(nullptr);
      execv(cargs[0], cargs.data());
      _exit(127);
    }
    close(out[1]);
    close(err[1]);
    fds_[0] = out[0];
    fds_[1] = err[0];
  }

  PlanrunProcess(const PlanrunProcess&) = delete;
  PlanrunProcess& operator=(const PlanrunProcess&) = delete;

  ~PlanrunProcess() {
    if (!reaped_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    for (int fd : fds_) {
      if (fd >= 0) close(fd);
    }
  }

  /// Reads output until `deadline` or until both pipes are closed.
  void PumpUntil(Clock::time_point deadline) {
    for (;;) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      if (left <= 0 || !Pump(static_cast<int>(left))) return;
    }
  }

  /// Reads output until a stderr line containing `needle` arrives (true), or
  /// the process closes its output or `timeout` passes (false). Lines read
  /// after the match in the same chunk are kept.
  bool WaitForLine(const std::string& needle, std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    size_t seen = 0;
    for (;;) {
      for (; seen < lines_.size(); ++seen) {
        if (lines_[seen].text.find(needle) != std::string::npos) return true;
      }
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      if (left <= 0 || !Pump(static_cast<int>(left))) {
        for (; seen < lines_.size(); ++seen) {
          if (lines_[seen].text.find(needle) != std::string::npos) return true;
        }
        return false;
      }
    }
  }

  /// Sends SIGKILL; true when the process was still running.
  bool Kill() {
    const bool running = !reaped_ && waitpid(pid_, &status_, WNOHANG) == 0;
    if (!running) {
      reaped_ = true;
      return false;
    }
    kill(pid_, SIGKILL);
    return true;
  }

  /// Reads the rest of the output and reaps the process; the exit code, or
  /// 128 + the signal that ended it.
  int Wait() {
    while (Pump(-1)) {
    }
    if (!reaped_) {
      waitpid(pid_, &status_, 0);
      reaped_ = true;
    }
    return WIFEXITED(status_) ? WEXITSTATUS(status_) : 128 + WTERMSIG(status_);
  }

  /// Milliseconds since the process started.
  int64_t ElapsedMs() const {
    return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start_).count();
  }

  pid_t pid() const { return pid_; }
  Clock::time_point start() const { return start_; }
  const std::vector<TimedLine>& lines() const { return lines_; }
  const std::string& out() const { return out_; }

  /// All of stderr read so far.
  std::string err() const {
    std::string all;
    for (const TimedLine& l : lines_) all += l.text + "\n";
    return all + partial_;
  }

 private:
  // One poll of both pipes, waiting up to `timeout_ms` (-1: forever); false
  // once both are closed.
  bool Pump(int timeout_ms) {
    if (fds_[0] < 0 && fds_[1] < 0) return false;
    pollfd p[2] = {{fds_[0], POLLIN, 0}, {fds_[1], POLLIN, 0}};
    if (poll(p, 2, timeout_ms) <= 0) return true;
    char buf[65536];
    for (int i = 0; i < 2; ++i) {
      if (p[i].fd < 0 || !(p[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t n = read(p[i].fd, buf, sizeof buf);
      if (n <= 0) {
        close(fds_[i]);
        fds_[i] = -1;
        continue;
      }
      if (i == 0) {
        out_.append(buf, n);
        continue;
      }
      partial_.append(buf, n);
      for (size_t nl; (nl = partial_.find('\n')) != std::string::npos;) {
        lines_.push_back({ElapsedMs(), partial_.substr(0, nl)});
        partial_.erase(0, nl + 1);
      }
    }
    return true;
  }

  pid_t pid_ = -1;
  int fds_[2] = {-1, -1};  // stdout, stderr
  int status_ = 0;
  bool reaped_ = false;
  Clock::time_point start_;
  std::vector<TimedLine> lines_;
  std::string partial_;  // stderr after the last newline
  std::string out_;
};

}  // namespace testing
}  // namespace planrun
