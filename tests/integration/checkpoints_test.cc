// CheckpointStore against a real database: a checkpoint only moves forward,
// so two runs that save the same batch (a run that lost the migration lock
// and the one that took it) cannot both commit it.
#include "track/checkpoints.h"

#include <catch2/catch.hpp>

#include "support.h"
#include "track/tracker.h"

namespace planrun {
namespace testing {
namespace {

/// A checkpoint after `batches` batches of 10 rows.
Checkpoint After(int64_t batches, bool done = false) {
  Checkpoint cp;
  cp.fingerprint = "f1";
  cp.last_key = std::vector<std::string>{std::to_string(batches * 10)};
  cp.batches = batches;
  cp.rows_read = cp.rows_written = batches * 10;
  cp.done = done;
  return cp;
}

TEST_CASE("a checkpoint only moves forward") {
  const std::string conn = FreshDatabase("checkpoints_forward");
  auto session = Connect(conn);
  Tracker tracker(session.get(), "planrun");
  REQUIRE(tracker.Ensure().ok());
  CheckpointStore store(session.get(), "planrun", "1", 1, "copy_rows");
  REQUIRE(store.Save(After(1)).ok());
  REQUIRE(store.Save(After(2)).ok());

  Status again = store.Save(After(2));
  CHECK(again.message() ==
        "the checkpoint of step copy_rows is already past batch 2: another planrun ran this step "
        "at the same time; this batch was not committed. Run planrun status, then planrun apply "
        "to resume");
  CHECK(store.Save(After(1)).message().rfind("the checkpoint of step copy_rows is already past "
                                             "batch 1: ",
                                             0) == 0);

  Checkpoint got;
  bool found = false;
  REQUIRE(store.Load(&got, &found).ok());
  REQUIRE(found);
  CHECK(got.batches == 2);
  CHECK(got.rows_written == 20);
  CHECK(got.last_key == std::vector<std::string>{"20"});
  CHECK_FALSE(got.done);

  // Marking the last batch done keeps its count; doing it twice is harmless.
  REQUIRE(store.Save(After(2, true)).ok());
  REQUIRE(store.Save(After(2, true)).ok());
  REQUIRE(store.Load(&got, &found).ok());
  CHECK(got.done);
  CHECK(QueryValue(conn, "SELECT batches || ' ' || done FROM planrun.checkpoints") == "2 true");

  // A restarted step starts from nothing.
  REQUIRE(store.Reset().ok());
  REQUIRE(store.Save(After(1)).ok());
  CHECK(QueryValue(conn, "SELECT batches FROM planrun.checkpoints") == "1");
}

}  // namespace
}  // namespace testing
}  // namespace planrun
