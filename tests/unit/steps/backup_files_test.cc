#include "steps/backup_files.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>

namespace planrun {
namespace {

std::string FreshDir() {
  auto dir =
      std::filesystem::temp_directory_path() / ("planrun-backup-files-" + std::to_string(getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir.string();
}

std::string ReadAll(const std::string& path) {
  std::string text;
  REQUIRE(ReadFileChunks(path, [&](std::string_view chunk) {
            text.append(chunk);
            return Status::OK();
          }).ok());
  return text;
}

TEST_CASE("AtomicFile shows the file only after Commit") {
  const std::string dir = FreshDir();
  const std::string path = dir + "/t.copy";
  std::unique_ptr<AtomicFile> f;
  REQUIRE(AtomicFile::Create(path, &f).ok());
  REQUIRE(f->Write("1\ta\n").ok());
  CHECK(std::filesystem::exists(path + ".tmp"));
  CHECK_FALSE(std::filesystem::exists(path));
  REQUIRE(f->Commit().ok());
  CHECK_FALSE(std::filesystem::exists(path + ".tmp"));
  CHECK(ReadAll(path) == "1\ta\n");
  std::filesystem::remove_all(dir);
}

TEST_CASE("AtomicFile removes its temp file when not committed") {
  const std::string dir = FreshDir();
  {
    std::unique_ptr<AtomicFile> f;
    REQUIRE(AtomicFile::Create(dir + "/t.copy", &f).ok());
    REQUIRE(f->Write("partial").ok());
  }
  CHECK(std::filesystem::is_empty(dir));
  std::filesystem::remove_all(dir);
}

TEST_CASE("AtomicFile and FileReader report the path and the system error") {
  std::unique_ptr<AtomicFile> f;
  Status st = AtomicFile::Create("/nonexistent-dir/t.copy", &f);
  CHECK(st.code() == StatusCode::kIo);
  CHECK(st.message() == "cannot create /nonexistent-dir/t.copy.tmp: No such file or directory");
  std::unique_ptr<FileReader> r;
  CHECK(FileReader::Open("/nonexistent-dir/x", &r).message() ==
        "cannot open /nonexistent-dir/x: No such file or directory");
}

TEST_CASE("FileReader reads big files in pieces") {
  const std::string dir = FreshDir();
  const std::string text(3 << 20, 'x');
  REQUIRE(WriteFileAtomically(dir + "/big", text).ok());
  std::unique_ptr<FileReader> r;
  REQUIRE(FileReader::Open(dir + "/big", &r).ok());
  std::string all;
  int pieces = 0;
  for (bool eof = false; !eof;) {
    REQUIRE(r->Next(&all, &eof).ok());
    pieces += eof ? 0 : 1;
  }
  CHECK(pieces == 3);
  CHECK(all == text);
  std::filesystem::remove_all(dir);
}

TEST_CASE("metadata.json round-trips") {
  BackupMetadata m;
  m.plan = "packages_v2";
  m.version = "2026.1";
  m.step_id = "backup";
  m.created_at = "2026-11-21T19:40:00Z";
  BackupFileEntry e;
  e.table = "auth.users";
  e.file = "auth.users.copy";
  e.rows = 12;
  e.sha256 = "ab";
  e.checksum = "-123";
  e.columns = {{"id", "bigint", false, true}, {"total", "integer", true, false}};
  m.tables = {e};
  BackupMetadata back;
  REQUIRE(ParseMetadataJson("m.json", MetadataJson(m), &back).ok());
  CHECK(back.plan == "packages_v2");
  CHECK(back.version == "2026.1");
  CHECK(back.step_id == "backup");
  CHECK(back.created_at == "2026-11-21T19:40:00Z");
  REQUIRE(back.tables.size() == 1);
  CHECK(back.tables[0].table == "auth.users");
  CHECK(back.tables[0].file == "auth.users.copy");
  CHECK(back.tables[0].rows == 12);
  CHECK(back.tables[0].sha256 == "ab");
  CHECK(back.tables[0].checksum == "-123");
  REQUIRE(back.tables[0].columns.size() == 2);
  CHECK(back.tables[0].columns[1].name == "total");
  CHECK(back.tables[0].columns[1].type == "integer");
  CHECK(back.tables[0].columns[1].generated);
}

TEST_CASE("ParseMetadataJson rejects what planrun did not write") {
  BackupMetadata m;
  CHECK(ParseMetadataJson("m.json", "{", &m).message() == "m.json is not valid JSON");
  Status st = ParseMetadataJson("m.json", "{\"plan\": \"p\"}", &m);
  CHECK(st.code() == StatusCode::kIo);
  CHECK(st.message().rfind("m.json is not a planrun backup metadata file: ", 0) == 0);
}

TEST_CASE("UtcNow looks like ISO 8601 UTC") {
  const std::string now = UtcNow();
  REQUIRE(now.size() == 20);
  CHECK(now[4] == '-');
  CHECK(now[10] == 'T');
  CHECK(now[19] == 'Z');
}

}  // namespace
}  // namespace planrun
