// ControlSession against a real PostgreSQL: it holds the migration lock, and
// the check it installs fails once its session is gone.
#include "run/control.h"

#include <catch2/catch.hpp>

#include "support.h"
#include "track/lock.h"

namespace planrun {
namespace {

RunEnv EnvFor(const std::string& conninfo) {
  RunEnv env;
  env.sessions = [conninfo](const std::string& app, std::unique_ptr<pg::Session>* out) {
    pg::ConnectOptions options;
    options.conninfo = conninfo;
    options.application_name = app;
    return pg::Connect(options, out);
  };
  env.names.tracking = "planrun";
  return env;
}

TEST_CASE("a control session holds the lock and steps see when it is lost") {
  const std::string conn = testing::FreshDatabase("control_test");
  RunEnv env = EnvFor(conn);
  std::unique_ptr<pg::Session> step;
  REQUIRE(env.sessions("step", &step).ok());
  int control_pid = 0;
  {
    ControlSession control;
    Status st = control.Open(&env, 0);
    INFO(st.message());
    REQUIRE(st.ok());
    control_pid = control.session().BackendPid();
    std::string holder;
    REQUIRE(MigrationLock::FindHolder(*step, "planrun", &holder).ok());
    CHECK(holder.find("(server pid " + std::to_string(control_pid) + ",") != std::string::npos);
    REQUIRE(env.check_lock);
    CHECK(env.check_lock(*step).ok());

    // A second run cannot take it.
    RunEnv other = EnvFor(conn);
    ControlSession second;
    Status refused = second.Open(&other, 0);
    CHECK(refused.code() == StatusCode::kLockTimeout);
    CHECK_FALSE(other.check_lock);
  }
  // The control session is closed: the check installed for the steps fails.
  Status lost = env.check_lock(*step);
  CHECK(lost.sqlstate() == "08006");
  CHECK(lost.message().rfind("the migration lock for schema planrun was lost: the session "
                             "holding it (server pid " +
                                 std::to_string(control_pid) + ") ended",
                             0) == 0);
}

}  // namespace
}  // namespace planrun
