// ObjectsProgress: what one objects run stored, reported at most twice a
// second with its rates.
#include "steps/objects_common.h"

#include <catch2/catch.hpp>
#include <thread>

#include "report/reporter.h"

namespace planrun {
namespace {

TEST_CASE("objects progress counts uploads and finds, and reports at most twice a second") {
  ObjectsProgress progress;
  RecordingReporter out;
  progress.Stored(true, 2000000);
  progress.Stored(true, 1000000);
  progress.Stored(false, 5000);  // already there: no bytes moved
  progress.Report(&out, "objects s1: 3 rows", 1);
  CHECK(out.lines().empty());  // within the first half second
  std::this_thread::sleep_for(std::chrono::milliseconds(600));
  progress.Report(&out, "objects s1: 3 rows", 1);
  progress.Report(&out, "objects s1: 3 rows", 1);
  REQUIRE(out.lines().size() == 1);
  const std::string line = out.lines()[0];
  CHECK(line.find("objects s1: 3 rows, 2 uploaded, 1 already stored, 1 rejected, ") !=
        std::string::npos);
  CHECK(line.find(" objects/s, ") != std::string::npos);
  const std::string rate = progress.ByteRate();
  REQUIRE(rate.size() > 8);
  CHECK(rate.rfind(" (", 0) == 0);
  CHECK(rate.substr(rate.size() - 6) == " MB/s)");
  // 3 MB in at least 0.6 s: at most 5 MB/s.
  CHECK(std::stod(rate.substr(2)) <= 5.0);
  CHECK(std::stod(rate.substr(2)) > 0.0);
}

}  // namespace
}  // namespace planrun
