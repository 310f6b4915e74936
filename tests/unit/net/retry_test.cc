#include "net/retry.h"

#include <catch2/catch.hpp>

namespace planrun {
namespace net {
namespace {

TEST_CASE("RetryableStatus: 408, 429 and 5xx only") {
  CHECK(RetryableStatus(408));
  CHECK(RetryableStatus(429));
  CHECK(RetryableStatus(500));
  CHECK(RetryableStatus(503));
  CHECK(RetryableStatus(599));
  CHECK_FALSE(RetryableStatus(200));
  CHECK_FALSE(RetryableStatus(404));
  CHECK_FALSE(RetryableStatus(403));
  CHECK_FALSE(RetryableStatus(0));
}

TEST_CASE("BackoffMs doubles, caps and jitters into [delay/2, delay)") {
  BackoffOptions o;
  o.initial_ms = 100;
  o.max_ms = 1000;
  CHECK(BackoffMs(o, 1, 0.0) == 50);
  CHECK(BackoffMs(o, 1, 0.999) == 99);
  CHECK(BackoffMs(o, 2, 0.0) == 100);
  CHECK(BackoffMs(o, 3, 0.5) == 300);
  CHECK(BackoffMs(o, 4, 0.0) == 400);
  CHECK(BackoffMs(o, 5, 0.0) == 500);   // 1600 capped at 1000
  CHECK(BackoffMs(o, 60, 0.0) == 500);  // no overflow
}

TEST_CASE("ParseRetryAfter reads seconds and HTTP dates") {
  CHECK(ParseRetryAfter("3", 0) == 3000);
  CHECK(ParseRetryAfter(" 0 ", 0) == 0);
  // 784111777 is Sun, 06 Nov 1994 08:49:37 GMT.
  CHECK(ParseRetryAfter("Sun, 06 Nov 1994 08:49:37 GMT", 784111777 - 7) == 7000);
  CHECK(ParseRetryAfter("Sun, 06 Nov 1994 08:49:37 GMT", 784111777 + 50) == 0);
  CHECK_FALSE(ParseRetryAfter("soon", 0).has_value());
  CHECK_FALSE(ParseRetryAfter("", 0).has_value());
  CHECK_FALSE(ParseRetryAfter("99999999999", 0).has_value());
}

TEST_CASE("RetryDelayMs takes a longer Retry-After, capped") {
  BackoffOptions o;
  o.initial_ms = 100;
  o.max_ms = 1000;
  o.max_retry_after_ms = 5000;
  CHECK(RetryDelayMs(o, 1, 0.0, std::nullopt) == 50);
  CHECK(RetryDelayMs(o, 1, 0.0, 2000) == 2000);
  CHECK(RetryDelayMs(o, 1, 0.0, 10) == 50);
  CHECK(RetryDelayMs(o, 1, 0.0, 60000) == 5000);
}

}  // namespace
}  // namespace net
}  // namespace planrun
