#include "steps/backup_names.h"

#include <catch2/catch.hpp>

#include "util/sha256.h"

namespace planrun {
namespace {

TEST_CASE("ShortIdentifier keeps names up to 63 bytes") {
  CHECK(ShortIdentifier("packages_name_idx") == "packages_name_idx");
  const std::string max(63, 'a');
  CHECK(ShortIdentifier(max) == max);
}

TEST_CASE("ShortIdentifier cuts longer names and appends a hash of the whole name") {
  const std::string name(64, 'a');
  const std::string shortened = ShortIdentifier(name);
  CHECK(shortened.size() == 63);
  CHECK(shortened == std::string(54, 'a') + "_" + Sha256Hex(name).substr(0, 8));
  CHECK(ShortIdentifier(name + "b") != shortened);
  CHECK(ShortIdentifier(name) == shortened);
}

TEST_CASE("BackupTableName is deterministic and schema-qualified") {
  CHECK(BackupTableName("2", "backup", TableName{"", "packages"}) ==
        "v2__backup__public__packages");
  CHECK(BackupTableName("2026.11.21.1", "save", TableName{"auth", "users"}, "__columns") ==
        "v2026_11_21_1__save__auth__users__columns");
  const std::string longest = BackupTableName("1", std::string(50, 's'), TableName{"", "t"});
  CHECK(longest.size() == 63);
  CHECK(longest == ShortIdentifier("v1__" + std::string(50, 's') + "__public__t"));
}

}  // namespace
}  // namespace planrun
