// When a transfer is tried again and after how long: exponential backoff with
// jitter, capped, and a server's Retry-After (seconds or an HTTP date) taking
// precedence when it asks for longer. Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace planrun {
namespace net {

/// Backoff settings of one client.
struct BackoffOptions {
  int64_t initial_ms = 200;             // delay before the first retry (before jitter)
  int64_t max_ms = 30000;               // no computed delay is longer
  int64_t max_retry_after_ms = 120000;  // a longer Retry-After is cut to this
};

/// True for the HTTP statuses worth trying again: 408, 429 and 5xx.
bool RetryableStatus(int http_status);

/// The delay before retry number `retry` (1 for the first): initial * 2^(retry-1),
/// capped at max, then scaled by `jitter` in [0, 1) into [delay/2, delay).
int64_t BackoffMs(const BackoffOptions& options, int retry, double jitter);

/// A Retry-After header value in milliseconds from `now_unix_s`: "120" or an
/// HTTP date; nullopt when it is neither.
std::optional<int64_t> ParseRetryAfter(const std::string& value, int64_t now_unix_s);

/// The delay to wait: the backoff, or the Retry-After when it is longer
/// (capped at max_retry_after_ms).
int64_t RetryDelayMs(const BackoffOptions& options, int retry, double jitter,
                     std::optional<int64_t> retry_after_ms);

}  // namespace net
}  // namespace planrun
