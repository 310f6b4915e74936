// What the objects integration tests (objects_test.cc, objects_hook_test.cc,
// objects_from_files_test.cc) share besides the servers of
// tests/objects/test_server.h: the bodies fault_server.py serves, its
// /_stats, and reading files back.
#pragma once

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "net/http_client.h"

namespace planrun {
namespace testing {

/// What fault_server.py serves for /src/<name>?size=<size>.
inline std::string SourceBody(const std::string& name, size_t size) {
  std::string out;
  while (out.size() < size) out += name + "\n";
  return out.substr(0, size);
}

/// fault_server.py's /_stats at `url`.
inline nlohmann::json Stats(const std::string& url) {
  net::Client client(net::ClientOptions{});
  return nlohmann::json::parse(client.Run(net::MakeRequest("GET", url + "/_stats")).body);
}

/// The whole content of the file at `path` (empty when it cannot be read).
inline std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace testing
}  // namespace planrun
