// Starts tests/objects/fault_server.py (or nginx) as a child process on a
// loopback port for the lifetime of a test, and stops it (by its pid) when
// it goes out of scope. Header-only so unit and integration tests share it.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace planrun {
namespace testing {

/// The source tree, from PLANRUN_SOURCE_DIR.
inline std::string ObjectsSourceDir() {
  const char* dir = std::getenv("PLANRUN_SOURCE_DIR");
  return dir ? dir : ".";
}

/// A child process started with `argv`, its stdout in a file.
class ChildProcess {
 public:
  explicit ChildProcess(const std::vector<std::string>& argv) {
    char tmpl[] = "/tmp/planrun-child-XXXXXX";
    const int fd = mkstemp(tmpl);
    if (fd < 0) throw std::runtime_error("mkstemp failed");
    out_path_ = tmpl;
    pid_ = fork();
    if (pid_ == 0) {
      dup2(fd, 1);
      close(fd);
      std::vector<char*> args;
      for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      execvp(args[0], args.data());
      _exit(127);
    }
    close(fd);
  }
  ~ChildProcess() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      waitpid(pid_, nullptr, 0);
    }
    std::remove(out_path_.c_str());
  }
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  /// What the child wrote to stdout so far.
  std::string Output() const {
    std::ifstream in(out_path_);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  std::string out_path_;
};

/// fault_server.py on a free loopback port.
class FaultServer {
 public:
  /// `flags`: fault_server.py options, e.g. {"--fail", "0.1"}.
  explicit FaultServer(const std::vector<std::string>& flags = {}) {
    std::vector<std::string> argv = {"python3",
                                     ObjectsSourceDir() + "/tests/objects/fault_server.py"};
    argv.insert(argv.end(), flags.begin(), flags.end());
    child_ = std::make_unique<ChildProcess>(argv);
    for (int i = 0; i < 200 && port_ == 0; ++i) {
      const std::string out = child_->Output();
      if (out.rfind("PORT ", 0) == 0 && out.find('\n') != std::string::npos) {
        port_ = std::stoi(out.substr(5));
      } else {
        std::this_thread::sleep_for(std::chrono::milliseconds(25));
      }
    }
    if (port_ == 0) throw std::runtime_error("fault_server.py did not start");
  }
  /// "http://127.0.0.1:<port>".
  std::string Url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  int port() const { return port_; }

 private:
  std::unique_ptr<ChildProcess> child_;
  int port_ = 0;
};

/// A loopback TCP port that was free a moment ago.
inline int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  bind(fd, reinterpret_cast<sockaddr*>(&a), len);
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

/// True once something accepts connections on 127.0.0.1:`port`.
inline bool Listening(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  const bool ok = connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  close(fd);
  return ok;
}

/// Debian's nginx on a free loopback port, serving `root` (files under it,
/// WebDAV PUT/DELETE under /store/), with its own prefix in `prefix`.
class Nginx {
 public:
  Nginx(const std::string& prefix, const std::string& root) : port_(FreePort()) {
    std::ifstream in(ObjectsSourceDir() + "/tests/objects/nginx.conf.in");
    std::stringstream ss;
    ss << in.rdbuf();
    std::string conf = ss.str();
    auto put = [&](const std::string& from, const std::string& to) {
      for (size_t p = conf.find(from); p != std::string::npos; p = conf.find(from, p + to.size())) {
        conf.replace(p, from.size(), to);
      }
    };
    put("@PREFIX@", prefix);
    put("@ROOT@", root);
    put("@PORT@", std::to_string(port_));
    put("@USER@", getuid() == 0 ? "user root root;" : "");
    std::ofstream(prefix + "/nginx.conf") << conf;
    child_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{"/usr/sbin/nginx", "-p", prefix, "-c", prefix + "/nginx.conf",
                                 "-e", prefix + "/error.log"});
    for (int i = 0; i < 200 && !Listening(port_); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    if (!Listening(port_)) throw std::runtime_error("nginx did not start; see " + prefix);
  }
  /// "http://127.0.0.1:<port>".
  std::string Url() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  int port_;
  std::unique_ptr<ChildProcess> child_;
};

}  // namespace testing
}  // namespace planrun
