// Helpers the `objects` integration tests share: what the test server
// (tests/objects/fault_server.py) holds, and a file's whole content.
#pragma once

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "net/http_client.h"

namespace planrun {
namespace testing {

/// fault_server.py's /_stats: objects, requests, faults, hooks, sigv4 checks.
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
