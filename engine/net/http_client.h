// net::Client: the one interface through which planrun talks HTTP. net/ is
// the only folder that includes libcurl. A Client runs a list of requests
// over libcurl's multi interface with at most `concurrency` transfers in
// flight, and tries a request again (exponential backoff with jitter, or the
// server's Retry-After when longer) after a timeout, a connection error, a
// truncated body, 408, 429 or 5xx. Bodies stream to memory, to a file or
// nowhere, with their SHA-256 and size computed as they arrive and an
// optional cap on the size.
//
// Secrets: the values of Authorization headers, the AWS secret and any
// password in a URL are registered with RegisterSecret, so no error text or
// log line carries them.
//
// Not thread-safe: one RunAll at a time per Client; `done` is called on the
// calling thread. Different Clients are independent.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "net/retry.h"
#include "util/status.h"

namespace planrun {
namespace net {

/// Where a response body goes.
enum class Sink {
  kMemory,   // Response::body (capped by max_bytes, else by 1 MiB)
  kFile,     // Request::download_file, truncated on every attempt
  kDiscard,  // only counted and hashed
};

/// One HTTP request.
struct Request {
  std::string method = "GET";  // GET, HEAD, PUT, POST or DELETE
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;  // name, value
  std::string body;         // PUT/POST body when upload_file is empty
  std::string upload_file;  // PUT/POST body read from this file
  Sink sink = Sink::kMemory;
  std::string download_file;  // kFile: where the body goes
  int64_t max_bytes = 0;      // a larger body fails the request (not retried); 0: no cap
  /// AWS SigV4 signing ("aws:amz:eu-west-1:s3") with `aws_credentials`
  /// ("ACCESS:SECRET"); empty: not signed.
  std::string aws_sigv4;
  std::string aws_credentials;
  /// "user:password" sent with HTTP authentication (ignored when signed);
  /// empty: none. The password is registered as a secret.
  std::string userpwd;
  /// The URL schemes this request may use, in libcurl's list form
  /// ("http,https,file"); redirects are always limited to http and https.
  std::string protocols = "http,https";
};

/// A request with only a method and a URL set.
Request MakeRequest(std::string method, std::string url);

/// What came back, after the last attempt.
struct Response {
  int http_status = 0;  // 0 when no response arrived, and for file:// URLs
  std::string error;    // the transfer error ("Timeout was reached ..."), empty on success
  std::string body;     // kMemory only
  std::map<std::string, std::string> headers;  // lower-case names, the final response's
  std::string content_type;
  int64_t bytes = 0;   // body bytes received
  std::string sha256;  // hex SHA-256 of the body received
  int attempts = 0;
  bool retryable = false;  // the last failure was of a kind that was retried

  /// True for a 2xx answer, or a file:// read, with no transfer error.
  bool ok() const {
    return error.empty() && (http_status == 0 || (http_status >= 200 && http_status < 300));
  }
  /// "HTTP 404", "HTTP 503 after 6 attempts", "Timeout was reached after 6 attempts".
  std::string Describe() const;
};

/// Limits and retry policy of a Client.
struct ClientOptions {
  int concurrency = 8;  // transfers in flight
  int retries = 3;      // attempts after the first
  int64_t connect_timeout_ms = 10000;
  int64_t timeout_ms = 300000;        // a whole attempt
  int64_t low_speed_bytes = 1;        // an attempt slower than this many bytes/s...
  int64_t low_speed_time_ms = 30000;  // ...for this long is abandoned
  int max_redirects = 5;              // GET and HEAD follow at most this many
  BackoffOptions backoff;
  /// Called (on the calling thread) before each retry: "GET <url>: HTTP 503; retry 1 in 210ms".
  std::function<void(const std::string&)> on_retry;
};

/// Runs HTTP requests concurrently.
class Client {
 public:
  explicit Client(ClientOptions options);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  /// Runs every request in `requests`; calls `done(i, response)` as request i
  /// finishes for good. Returns an error only when libcurl itself fails (a
  /// failed request is a Response with error or status set).
  Status RunAll(const std::vector<Request>& requests,
                const std::function<void(size_t, Response&&)>& done);

  /// Runs one request and returns its response.
  Response Run(const Request& request);

 private:
  struct Impl;
  Impl* impl_;
};

/// Registers the secret parts of a request (Authorization header values,
/// the AWS secret, the userpwd password, a URL's password) with RegisterSecret.
void RegisterRequestSecrets(const Request& request);

/// `s` percent-encoded except for unreserved characters and '/'.
std::string EscapePath(const std::string& s);

}  // namespace net
}  // namespace planrun
