#include <catch2/catch.hpp>
#include <chrono>
#include <regex>

#include "pg/session.h"
#include "support.h"
#include "track/lock.h"
#include "util/strings.h"

namespace planrun {
namespace {

/// The test database, created once per run.
const std::string& Db() {
  static const std::string db = testing::FreshDatabase("lock_test");
  return db;
}

/// A session named `application_name`; fails the test on error.
std::unique_ptr<pg::Session> Open(const std::string& application_name) {
  pg::ConnectOptions options;
  options.conninfo = Db();
  options.application_name = application_name;
  std::unique_ptr<pg::Session> s;
  Status st = pg::Connect(options, &s);
  INFO(st.message());
  REQUIRE(st.ok());
  return s;
}

/// Milliseconds `fn` took.
template <typename Fn>
int64_t TimeMs(Fn fn) {
  auto start = std::chrono::steady_clock::now();
  fn();
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                               start)
      .count();
}

TEST_CASE("the lock key is FNV-1a of the schema name, split like pg_locks shows it") {
  CHECK(MigrationLock::KeyFor("planrun") == -5349899068709116383);
  CHECK(MigrationLock::KeyFor("other") != MigrationLock::KeyFor("planrun"));

  auto s = Open("planrun lock key test");
  MigrationLock lock(s.get(), "planrun");
  REQUIRE(lock.Acquire(0).ok());
  pg::Result r;
  REQUIRE(s->Exec("SELECT classid, objid, objsubid FROM pg_locks WHERE locktype = 'advisory' "
                  "AND pid = pg_backend_pid()",
                  &r)
              .ok());
  CHECK(r.rows == std::vector<std::vector<pg::Value>>{{"3049346852", "1499883041", "1"}});
}

TEST_CASE("a second run times out naming the holder") {
  auto holder_session = Open("planrun apply (alice@build-7 pid 4242)");
  MigrationLock holder(holder_session.get(), "planrun");
  REQUIRE(holder.Acquire(1000).ok());
  CHECK(holder.held());

  pg::Result who;
  REQUIRE(holder_session
              ->Exec("SELECT coalesce(host(client_addr), 'local'), "
                     "to_char(backend_start AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') "
                     "FROM pg_stat_activity WHERE pid = pg_backend_pid()",
                     &who)
              .ok());
  CHECK(std::regex_match(who.get(0, 1), std::regex(R"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)")));

  auto waiter_session = Open("planrun apply (bob@build-8 pid 99)");
  MigrationLock waiter(waiter_session.get(), "planrun");
  Status st;
  int64_t took = TimeMs([&] { st = waiter.Acquire(300); });
  CHECK(took >= 300);
  CHECK(took < 2000);
  CHECK(st.code() == StatusCode::kLockTimeout);
  CHECK(ExitCode(st) == 3);
  CHECK(st.message() ==
        "another planrun holds the migration lock for schema planrun: planrun apply "
        "(alice@build-7 pid 4242) (server pid " +
            std::to_string(holder_session->BackendPid()) + ", " + who.get(0, 0) +
            ", connected since " + who.get(0, 1) +
            "+00); waited 300ms. Try again when it finishes, or raise --lock-timeout.");
  CHECK(!waiter.held());

  // Another tracking schema is another lock.
  MigrationLock other(waiter_session.get(), "planrun_staging");
  CHECK(other.Acquire(0).ok());

  REQUIRE(holder.Release().ok());
  CHECK(!holder.held());
  CHECK(waiter.Acquire(0).ok());
  CHECK(waiter.held());
}

TEST_CASE("a waiter gets the lock as soon as the holder releases it") {
  auto holder_session = Open("holder");
  auto waiter_session = Open("waiter");
  MigrationLock waiter(waiter_session.get(), "planrun");
  Status st;
  {
    MigrationLock holder(holder_session.get(), "planrun");
    REQUIRE(holder.Acquire(0).ok());
    CHECK(waiter.Acquire(0).code() == StatusCode::kLockTimeout);
  }  // the destructor releases
  int64_t took = TimeMs([&] { st = waiter.Acquire(5000); });
  CHECK(st.ok());
  CHECK(took < 1000);
}

TEST_CASE("a killed holder frees the lock at once") {
  auto waiter_session = Open("waiter");
  MigrationLock waiter(waiter_session.get(), "planrun");

  SECTION("its backend is terminated") {
    auto holder_session = Open("doomed holder");
    MigrationLock holder(holder_session.get(), "planrun");
    REQUIRE(holder.Acquire(0).ok());
    REQUIRE(waiter.Acquire(0).code() == StatusCode::kLockTimeout);
    pg::Result r;
    REQUIRE(waiter_session
                ->Exec("SELECT pg_terminate_backend(" +
                           std::to_string(holder_session->BackendPid()) + ", 5000)",
                       &r)
                .ok());
    CHECK(r.get(0, 0) == "t");
    Status st;
    CHECK(TimeMs([&] { st = waiter.Acquire(5000); }) < 1000);
    CHECK(st.ok());
    CHECK(!holder.Release().ok());  // its connection is gone, and the lock with it
    CHECK(!holder_session->IsOpen());
  }
  SECTION("its connection is closed") {
    auto holder_session = Open("closing holder");
    REQUIRE(holder_session
                ->Query("SELECT pg_advisory_lock($1::bigint)",
                        {std::to_string(MigrationLock::KeyFor("planrun"))})
                .ok());
    REQUIRE(waiter.Acquire(0).code() == StatusCode::kLockTimeout);
    holder_session.reset();  // the process dies without releasing anything
    Status st;
    CHECK(TimeMs([&] { st = waiter.Acquire(5000); }) < 1000);
    CHECK(st.ok());
  }
}

TEST_CASE("FindHolder describes the holder in this database only") {
  auto observer = Open("observer");
  std::string holder = "unset";
  REQUIRE(MigrationLock::FindHolder(*observer, "planrun", &holder).ok());
  CHECK(holder == "");

  // The same key in another database is another lock.
  pg::ConnectOptions options;
  options.conninfo = "dbname=postgres";
  options.application_name = "elsewhere";
  std::unique_ptr<pg::Session> elsewhere;
  REQUIRE(pg::Connect(options, &elsewhere).ok());
  MigrationLock foreign(elsewhere.get(), "planrun");
  REQUIRE(foreign.Acquire(0).ok());
  REQUIRE(MigrationLock::FindHolder(*observer, "planrun", &holder).ok());
  CHECK(holder == "");

  auto holder_session = Open("planrun rollback (carol@db-1 pid 7)");
  MigrationLock lock(holder_session.get(), "planrun");
  REQUIRE(lock.Acquire(0).ok());
  REQUIRE(MigrationLock::FindHolder(*observer, "planrun", &holder).ok());
  CHECK(StartsWith(holder, "planrun rollback (carol@db-1 pid 7) (server pid " +
                               std::to_string(holder_session->BackendPid()) + ", "));
  CHECK(std::regex_match(holder.substr(holder.find(", connected since ")),
                         std::regex(R"(, connected since \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\+00\))")));
  REQUIRE(MigrationLock::FindHolder(*observer, "planrun_other", &holder).ok());
  CHECK(holder == "");
}

TEST_CASE("acquiring twice holds the lock once; releasing twice is harmless") {
  auto a = Open("a");
  auto b = Open("b");
  MigrationLock lock(a.get(), "planrun");
  REQUIRE(lock.Acquire(0).ok());
  REQUIRE(lock.Acquire(0).ok());
  REQUIRE(lock.Release().ok());
  REQUIRE(lock.Release().ok());
  MigrationLock other(b.get(), "planrun");
  CHECK(other.Acquire(0).ok());
}

}  // namespace
}  // namespace planrun
