// net::Client against tests/objects/fault_server.py on loopback: real
// sockets, real faults.
#include "net/http_client.h"

#include <catch2/catch.hpp>

#include <chrono>
#include <fstream>
#include <sstream>

#include "../../objects/test_server.h"
#include "util/redact.h"
#include "util/sha256.h"

namespace planrun {
namespace net {
namespace {

using testing::FaultServer;

/// What fault_server.py serves for /src/<name>?size=<size>.
std::string SourceBody(const std::string& name, size_t size) {
  std::string out;
  while (out.size() < size) out += name + "\n";
  return out.substr(0, size);
}

ClientOptions Fast() {
  ClientOptions o;
  o.retries = 2;
  o.backoff.initial_ms = 10;
  o.backoff.max_ms = 20;
  o.low_speed_time_ms = 1000;
  return o;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST_CASE("GET streams the body with its size and sha256") {
  FaultServer server;
  Client client(Fast());
  Response r = client.Run(MakeRequest("GET", server.Url() + "/src/a.png?size=1000"));
  CHECK(r.ok());
  CHECK(r.http_status == 200);
  CHECK(r.bytes == 1000);
  CHECK(r.body == SourceBody("a.png", 1000));
  CHECK(r.sha256 == Sha256Hex(SourceBody("a.png", 1000)));
  CHECK(r.content_type == "image/png");
  CHECK(r.attempts == 1);
}

TEST_CASE("a body goes to a file, and a PUT from a file is stored whole") {
  FaultServer server;
  Client client(Fast());
  const std::string path = "/tmp/planrun-net-test-" + std::to_string(getpid());
  Request get = MakeRequest("GET", server.Url() + "/src/b.bin?size=300000");
  get.sink = Sink::kFile;
  get.download_file = path;
  Response r = client.Run(get);
  REQUIRE(r.ok());
  CHECK(ReadFile(path) == SourceBody("b.bin", 300000));
  CHECK(r.body.empty());

  Request put = MakeRequest("PUT", server.Url() + "/store/x/b.bin");
  put.upload_file = path;
  CHECK(client.Run(put).http_status == 201);
  Request head = MakeRequest("HEAD", server.Url() + "/store/x/b.bin");
  Response h = client.Run(head);
  CHECK(h.http_status == 200);
  CHECK(h.headers["x-planrun-sha256"] == Sha256Hex(SourceBody("b.bin", 300000)));
  CHECK(client.Run(MakeRequest("HEAD", server.Url() + "/store/x/none")).http_status == 404);
  std::remove(path.c_str());
}

TEST_CASE("5xx is retried, then reported with the number of attempts") {
  FaultServer server({"--fail", "1"});
  std::vector<std::string> retries;
  ClientOptions o = Fast();
  o.on_retry = [&](const std::string& line) { retries.push_back(line); };
  Client client(o);
  Response r = client.Run(MakeRequest("GET", server.Url() + "/src/c?size=10"));
  CHECK_FALSE(r.ok());
  CHECK(r.http_status == 500);
  CHECK(r.attempts == 3);
  CHECK(r.Describe() == "HTTP 500 after 3 attempts");
  REQUIRE(retries.size() == 2);
  CHECK(retries[0].rfind("GET " + server.Url() + "/src/c?size=10: HTTP 500; retry 1 in ", 0) == 0);
}

TEST_CASE("404 is final at once") {
  FaultServer server;
  Client client(Fast());
  Response r = client.Run(MakeRequest("GET", server.Url() + "/src/missing.png"));
  CHECK(r.http_status == 404);
  CHECK(r.attempts == 1);
  CHECK(r.Describe() == "HTTP 404");
}

TEST_CASE("429 waits for Retry-After before trying again") {
  FaultServer server({"--throttle", "1"});
  ClientOptions o = Fast();
  o.retries = 1;
  Client client(o);
  const auto start = std::chrono::steady_clock::now();
  Response r = client.Run(MakeRequest("GET", server.Url() + "/src/d?size=10"));
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - start)
                      .count();
  CHECK(r.http_status == 429);
  CHECK(r.attempts == 2);
  CHECK(ms >= 1000);
}

TEST_CASE("a truncated body is retried and reported as a transfer error") {
  FaultServer server({"--truncate", "1"});
  Client client(Fast());
  Response r = client.Run(MakeRequest("GET", server.Url() + "/src/e?size=1000"));
  CHECK(r.attempts == 3);
  CHECK(r.retryable);
  CHECK(r.Describe() == "transfer closed with 500 bytes remaining to read after 3 attempts");
}

TEST_CASE("a stalled body is abandoned by the low-speed limit") {
  FaultServer server({"--stall", "1", "--stall-s", "5"});
  ClientOptions o = Fast();
  o.retries = 0;
  o.low_speed_bytes = 1000;  // libcurl averages over seconds: the first 500 bytes count
  Client client(o);
  const auto start = std::chrono::steady_clock::now();
  Response r = client.Run(MakeRequest("GET", server.Url() + "/src/f?size=1000"));
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - start)
                      .count();
  CHECK(r.attempts == 1);
  CHECK(r.error.rfind("Operation too slow", 0) == 0);
  CHECK(ms < 4000);
}

TEST_CASE("a slow trickle still arrives whole") {
  FaultServer server({"--trickle", "1"});
  Client client(Fast());
  Response r = client.Run(MakeRequest("GET", server.Url() + "/src/g?size=4000"));
  CHECK(r.ok());
  CHECK(r.sha256 == Sha256Hex(SourceBody("g", 4000)));
}

TEST_CASE("max_bytes stops a larger body without retrying") {
  FaultServer server;
  Client client(Fast());
  Request req = MakeRequest("GET", server.Url() + "/src/h?size=5000");
  req.max_bytes = 1000;
  Response r = client.Run(req);
  CHECK(r.attempts == 1);
  CHECK(r.Describe() == "body larger than max_bytes (1000)");
}

TEST_CASE("redirects are followed up to the limit") {
  FaultServer server;
  ClientOptions o = Fast();
  o.max_redirects = 2;
  Client client(o);
  CHECK(client.Run(MakeRequest("GET", server.Url() + "/redirect/2")).body == "arrived\n");
  Response r = client.Run(MakeRequest("GET", server.Url() + "/redirect/3"));
  CHECK(r.attempts == 1);
  CHECK(r.error == "Maximum (2) redirects followed");
}

TEST_CASE("file:// URLs are read only by requests that allow them; redirects stay on http") {
  FaultServer server;
  Client client(Fast());
  const std::string path = "/tmp/planrun-net-file-" + std::to_string(getpid());
  { std::ofstream(path) << "local bytes\n"; }
  Response refused = client.Run(MakeRequest("GET", "file://" + path));
  CHECK(refused.attempts == 1);
  CHECK(refused.body.empty());
  CHECK(refused.error == "Protocol \"file\" not supported or disabled in libcurl");
  Request allowed = MakeRequest("GET", "file://" + path);
  allowed.protocols = "http,https,file";
  Response read = client.Run(allowed);
  CHECK(read.ok());
  CHECK(read.body == "local bytes\n");
  Request redirected = MakeRequest("GET", server.Url() + "/redirect-file");
  redirected.protocols = "http,https,file";
  Response r = client.Run(redirected);
  CHECK(r.body.empty());
  CHECK(r.error == "Protocol \"file\" not supported or disabled in libcurl");
  std::remove(path.c_str());
}

TEST_CASE("userpwd is sent as HTTP basic authentication") {
  FaultServer server;
  Client client(Fast());
  Request put = MakeRequest("PUT", server.Url() + "/store/basic.txt");
  put.body = "x";
  put.userpwd = "bob:pw-basic-1";
  CHECK(client.Run(put).http_status == 201);
  Response stats = client.Run(MakeRequest("GET", server.Url() + "/_stats"));
  CHECK(stats.body.find(R"("auth": ["Basic Ym9iOnB3LWJhc2ljLTE="])") != std::string::npos);
}

TEST_CASE("a refused connection is retried and reported") {
  Client client(Fast());
  Response r = client.Run(MakeRequest("GET", "http://127.0.0.1:1/x"));
  CHECK(r.attempts == 3);
  CHECK(r.http_status == 0);
  CHECK(r.error.find("Failed to connect to 127.0.0.1 port 1") == 0);
}

TEST_CASE("concurrency runs transfers side by side") {
  FaultServer server({"--delay-ms", "300"});
  ClientOptions o = Fast();
  o.concurrency = 10;
  Client client(o);
  std::vector<Request> reqs;
  for (int i = 0; i < 20; ++i) {
    reqs.push_back(MakeRequest("GET", server.Url() + "/src/p" + std::to_string(i) + "?size=100"));
  }
  std::vector<std::string> sha(reqs.size());
  const auto start = std::chrono::steady_clock::now();
  REQUIRE(client.RunAll(reqs, [&](size_t i, Response&& r) { sha[i] = r.sha256; }).ok());
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - start)
                      .count();
  for (size_t i = 0; i < reqs.size(); ++i) {
    CHECK(sha[i] == Sha256Hex(SourceBody("p" + std::to_string(i), 100)));
  }
  CHECK(ms < 3000);  // one after another: 20 x 300 ms = 6 s
}

TEST_CASE("POST sends its body") {
  FaultServer server;
  Client client(Fast());
  Request post = MakeRequest("POST", server.Url() + "/hook");
  post.body = R"({"state":"applied"})";
  post.headers = {{"Content-Type", "application/json"}};
  CHECK(client.Run(post).http_status == 200);
  Response stats = client.Run(MakeRequest("GET", server.Url() + "/_stats"));
  CHECK(stats.body.find(R"("hooks": [{"state": "applied"}])") != std::string::npos);
}

TEST_CASE("secrets of a request are registered for redaction") {
  ClearSecretsForTesting();
  Request r = MakeRequest("GET", "https://bob:hunter2pw@example.com/x");
  r.headers = {{"Authorization", "Bearer tok-123456"}, {"X-Other", "visible"}};
  r.aws_credentials = "AKIDEXAMPLE:wJalrSECRET";
  r.userpwd = "carol:basicPW99";
  RegisterRequestSecrets(r);
  CHECK(
      Redact("Bearer tok-123456 tok-123456 hunter2pw wJalrSECRET basicPW99 visible AKIDEXAMPLE") ==
      "*** *** *** *** *** visible AKIDEXAMPLE");
  ClearSecretsForTesting();
}

TEST_CASE("EscapePath keeps slashes and unreserved characters") {
  CHECK(EscapePath("designs/a b/é.png") == "designs/a%20b/%C3%A9.png");
  CHECK(EscapePath("a-z_0.9~/") == "a-z_0.9~/");
}

}  // namespace
}  // namespace net
}  // namespace planrun
