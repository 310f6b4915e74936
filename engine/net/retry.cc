#include "net/retry.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>

namespace planrun {
namespace net {

bool RetryableStatus(int http_status) {
  return http_status == 408 || http_status == 429 || (http_status >= 500 && http_status <= 599);
}

int64_t BackoffMs(const BackoffOptions& options, int retry, double jitter) {
  int64_t delay = std::max<int64_t>(1, options.initial_ms);
  for (int i = 1; i < retry && delay < options.max_ms; ++i) delay *= 2;
  delay = std::min(delay, options.max_ms);
  jitter = std::clamp(jitter, 0.0, 1.0);
  return delay / 2 + static_cast<int64_t>(static_cast<double>(delay - delay / 2) * jitter);
}

std::optional<int64_t> ParseRetryAfter(const std::string& value, int64_t now_unix_s) {
  std::string v;
  for (char c : value) {
    if (!std::isspace(static_cast<unsigned char>(c))) v += c;
  }
  if (v.empty()) return std::nullopt;
  if (std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    if (v.size() > 9) return std::nullopt;
    return std::stoll(v) * 1000;
  }
  const time_t when = curl_getdate(value.c_str(), nullptr);
  if (when < 0) return std::nullopt;
  return std::max<int64_t>(0, (static_cast<int64_t>(when) - now_unix_s) * 1000);
}

int64_t RetryDelayMs(const BackoffOptions& options, int retry, double jitter,
                     std::optional<int64_t> retry_after_ms) {
  const int64_t backoff = BackoffMs(options, retry, jitter);
  if (!retry_after_ms) return backoff;
  return std::max(backoff, std::min(*retry_after_ms, options.max_retry_after_ms));
}

}  // namespace net
}  // namespace planrun
