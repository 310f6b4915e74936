#include "util/status.h"

#include <catch2/catch.hpp>

namespace planrun {
namespace {

TEST_CASE("A default Status is ok with an empty message") {
  Status s;
  CHECK(s.ok());
  CHECK(s.code() == StatusCode::kOk);
  CHECK(s.message() == "");
  CHECK(s.sqlstate() == "");
  CHECK(Status::OK().ok());
  CHECK(ExitCode(s) == 0);
}

TEST_CASE("Each factory sets its code, message and exit code") {
  struct Case {
    Status s;
    StatusCode code;
    int exit;
  };
  for (const Case& c : {Case{Status::Failed("m"), StatusCode::kFailed, 1},
                        Case{Status::Invalid("m"), StatusCode::kInvalid, 2},
                        Case{Status::LockTimeout("m"), StatusCode::kLockTimeout, 3},
                        Case{Status::Refused("m"), StatusCode::kRefused, 4},
                        Case{Status::Database("m"), StatusCode::kDatabase, 1},
                        Case{Status::Io("m"), StatusCode::kIo, 1},
                        Case{Status::Internal("m"), StatusCode::kInternal, 1}}) {
    CHECK_FALSE(c.s.ok());
    CHECK(c.s.code() == c.code);
    CHECK(c.s.message() == "m");
    CHECK(c.s.sqlstate() == "");
    CHECK(ExitCode(c.s) == c.exit);
  }
}

TEST_CASE("A database status carries its SQLSTATE") {
  Status s = Status::Database("relation \"x\" does not exist", "42P01");
  CHECK(s.sqlstate() == "42P01");
  CHECK(s.message() == "relation \"x\" does not exist");
}

TEST_CASE("WithContext prefixes the message and keeps code and SQLSTATE") {
  Status s = Status::Database("deadlock detected", "40P01").WithContext("step 'fill'");
  CHECK(s.code() == StatusCode::kDatabase);
  CHECK(s.message() == "step 'fill': deadlock detected");
  CHECK(s.sqlstate() == "40P01");
  CHECK(Status::OK().WithContext("step 'fill'").ok());
  CHECK(Status::OK().WithContext("step 'fill'").message() == "");
}

TEST_CASE("WithMessage replaces the message and keeps code and SQLSTATE") {
  Status s =
      Status::Database("deadlock detected", "40P01").WithMessage("deadlock detected\nundone");
  CHECK(s.code() == StatusCode::kDatabase);
  CHECK(s.sqlstate() == "40P01");
  CHECK(s.message() == "deadlock detected\nundone");
  CHECK(ExitCode(s) == ExitCode(Status::Database("x")));
  CHECK(Status::OK().WithMessage("ignored").ok());
}

TEST_CASE("Copies share the same error") {
  Status a = Status::Io("cannot read x");
  Status b = a;
  CHECK(b.code() == StatusCode::kIo);
  CHECK(b.message() == "cannot read x");
  b = Status::OK();
  CHECK(b.ok());
  CHECK(a.message() == "cannot read x");
}

Status FailsAt(int n, int* reached) {
  for (int i = 0; i < 3; ++i) {
    *reached = i;
    PLANRUN_RETURN_IF_ERROR(i == n ? Status::Refused("stop at " + std::to_string(i))
                                   : Status::OK());
  }
  return Status::OK();
}

TEST_CASE("PLANRUN_RETURN_IF_ERROR returns the first error") {
  int reached = -1;
  Status s = FailsAt(1, &reached);
  CHECK(s.code() == StatusCode::kRefused);
  CHECK(s.message() == "stop at 1");
  CHECK(reached == 1);
  CHECK(FailsAt(5, &reached).ok());
  CHECK(reached == 2);
}

}  // namespace
}  // namespace planrun
