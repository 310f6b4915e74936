// Which errors count as a lost connection, the reconnect delays, and
// RunWithReconnect's retries and final message.
#include "run/reconnect.h"

#include <catch2/catch.hpp>

namespace planrun {
namespace {

TEST_CASE("connection losses are SQLSTATE class 08 and the server going away") {
  CHECK(IsConnectionLoss(Status::Database("server closed the connection unexpectedly", "08006")));
  CHECK(IsConnectionLoss(Status::Database("could not connect", "08001")));
  CHECK(IsConnectionLoss(
      Status::Failed("terminating connection due to administrator command", "57P01")));
  CHECK(IsConnectionLoss(Status::Database("the database system is starting up", "57P03")));
  CHECK_FALSE(
      IsConnectionLoss(Status::Database("canceling statement due to lock timeout", "55P03")));
  CHECK_FALSE(IsConnectionLoss(Status::Database("password authentication failed")));
  CHECK_FALSE(IsConnectionLoss(Status::Failed("3 of 10 rows rejected")));
  CHECK_FALSE(IsConnectionLoss(Status::OK()));
}

TEST_CASE("reconnect delays double from 1s to a 30s cap, with up to 20% jitter") {
  CHECK(ReconnectDelayMs(0, 0.0) == 1000);
  CHECK(ReconnectDelayMs(1, 0.0) == 2000);
  CHECK(ReconnectDelayMs(4, 0.0) == 16000);
  CHECK(ReconnectDelayMs(5, 0.0) == 30000);
  CHECK(ReconnectDelayMs(40, 0.0) == 30000);
  CHECK(ReconnectDelayMs(0, 0.5) == 1100);
  CHECK(ReconnectDelayMs(5, 0.999) == 35994);
}

TEST_CASE("RunWithReconnect runs again after a lost connection, and only then") {
  RecordingReporter out;
  int runs = 0;
  Status st = RunWithReconnect(3, out, "apply", [&]() {
    ++runs;
    return runs == 1 ? Status::Failed("step 'a' failed: server closed the connection", "08006")
                     : Status::OK();
  });
  CHECK(st.ok());
  CHECK(runs == 2);
  REQUIRE(out.lines().size() == 1);
  const std::string warn = out.lines()[0];
  CHECK(warn.rfind("warn: lost the connection to PostgreSQL: step 'a' failed: server closed the "
                   "connection; reconnecting in 1.",
                   0) == 0);
  CHECK(warn.find("(retry 1 of 3)") != std::string::npos);

  runs = 0;
  st = RunWithReconnect(3, out, "apply", [&]() {
    ++runs;
    return Status::Failed("step 'a' failed: division by zero", "22012");
  });
  CHECK(runs == 1);
  CHECK(st.message() == "step 'a' failed: division by zero");
}

TEST_CASE("a lost connection that is not retried says how to resume") {
  RecordingReporter out;
  Status st = RunWithReconnect(0, out, "rollback", []() {
    return Status::Failed("step 'a' failed: server closed the connection", "08006");
  });
  CHECK(st.code() == StatusCode::kFailed);
  CHECK(st.sqlstate() == "08006");
  CHECK(st.message() ==
        "step 'a' failed: server closed the connection\nthe connection to PostgreSQL was lost. "
        "Everything committed before that is kept (planrun status shows where it stopped): run "
        "planrun rollback again to resume, or pass --retry N to reconnect on its own");
  CHECK(out.lines().empty());

  // A first connection that fails is not a lost one: its error stays as it is.
  st = RunWithReconnect(0, out, "apply", []() {
    return Status::Database("cannot connect to PostgreSQL (localhost:1/db as u): refused", "08001");
  });
  CHECK(st.message() == "cannot connect to PostgreSQL (localhost:1/db as u): refused");
  CHECK(ExitCode(st) == 1);
}

}  // namespace
}  // namespace planrun
