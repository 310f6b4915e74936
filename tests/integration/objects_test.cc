// The `objects` step against real servers on loopback: the fault-injecting
// Python server (tests/objects/fault_server.py) as source and store, nginx as
// a WebDAV store, and a local folder. Every row must end with a stored object
// whose sha256 matches its source, or in planrun.rejects with the reason.
#include <signal.h>
#include <sys/wait.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "../objects/test_server.h"
#include "net/http_client.h"
#include "objects_support.h"
#include "support.h"
#include "util/sha256.h"

namespace planrun {
namespace testing {
namespace {

/// custom_design with `n` rows whose image_url points at `source`
/// (img<id>.png of 1000 + id bytes), plus `missing` rows at a 404.
void MakeDesigns(const std::string& conn, const std::string& source, int n, int missing = 0) {
  ExecSql(conn,
          "CREATE TABLE custom_design (id bigint PRIMARY KEY, image_url text, storage_url text, "
          "image_sha256 text, image_bytes bigint, image_type text);"
          "INSERT INTO custom_design (id, image_url) SELECT g, '" +
              source + "/src/img' || g || '.png?size=' || (1000 + g) FROM generate_series(1, " +
              std::to_string(n) + ") g;" + "INSERT INTO custom_design (id, image_url) SELECT " +
              std::to_string(n) + " + g, '" + source +
              "/src/missing' || g || '.png' FROM generate_series(1, " + std::to_string(missing) +
              ") g");
}

/// A plan directory with one objects step; `extra` is appended to its body.
std::string PlanDir(const std::string& to, const std::string& extra) {
  const std::string dir = TempDir("objects-plans");
  WriteFile(dir + "/1_images.yaml",
            "version: 1\nname: images\nsteps:\n  - id: images_to_storage\n    objects:\n"
            "      from: {table: custom_design, key: id, where: \"storage_url IS NULL AND "
            "image_url IS NOT NULL\"}\n"
            "      url: image_url\n"
            "      to: " +
                to +
                "\n      set: {storage_url: \"{url}\", image_sha256: \"{sha256}\", image_bytes: "
                "\"{size}\", image_type: \"{content_type}\"}\n" +
                extra);
  return dir;
}

const std::string kHttpStore =
    "{store: http, base_url: env:STORAGE_URL, key: \"designs/{id}.{ext}\", headers: "
    "{Authorization: \"Bearer ${env:STORAGE_KEY}\"}}";

/// Every updated row's sha256 and size match its source and the stored object.
void CheckStored(const std::string& conn, const nlohmann::json& objects, int n) {
  pg::Result r;
  Connect(conn)->Exec(
      "SELECT id, storage_url, image_sha256, image_bytes, image_type FROM custom_design WHERE "
      "id <= " +
          std::to_string(n) + " ORDER BY id",
      &r);
  REQUIRE(r.rows.size() == static_cast<size_t>(n));
  int bad = 0;
  for (size_t i = 0; i < r.rows.size(); ++i) {
    const std::string id = r.get(i, 0);
    const std::string body = SourceBody("img" + id + ".png", 1000 + std::stoul(id));
    const std::string key = "designs/" + id + ".png";
    const bool ok = r.get(i, 2) == Sha256Hex(body) && r.get(i, 3) == std::to_string(body.size()) &&
                    r.get(i, 4) == "image/png" && r.get(i, 1).size() > key.size() &&
                    r.get(i, 1).substr(r.get(i, 1).size() - key.size()) == key &&
                    objects.contains(key) && objects[key]["sha256"] == Sha256Hex(body);
    if (!ok && ++bad <= 3) FAIL_CHECK("row " << id << " is not stored right: " << r.get(i, 1));
  }
  CHECK(bad == 0);
}

TEST_CASE("2,000 objects through a faulty server: each stored exactly or rejected with why") {
  FaultServer server({"--fail", "0.05", "--throttle", "0.01", "--truncate", "0.03", "--trickle",
                      "0.02", "--stall", "0.005", "--stall-s", "4", "--seed", "7"});
  const std::string conn = FreshDatabase("planrun_objects_faults");
  MakeDesigns(conn, server.Url(), 2000, 7);
  const std::string dir = PlanDir(kHttpStore,
                                  "      concurrency: 32\n      retries: 8\n      retry_delay: "
                                  "20ms\n      low_speed_time: 1s\n      batch_size: 250\n"
                                  "      max_rejects: 1%\n");
  CommandResult r =
      Planrun("planrun_objects_faults", {"--plans", dir, "apply"},
              {{"STORAGE_URL", server.Url() + "/store"}, {"STORAGE_KEY", "tok-objects-secret"}});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.err.find("objects images_to_storage: 2007 processed, 2000 uploaded, 0 skipped (already "
                   "stored), 7 rejected, 4001000 bytes moved") != std::string::npos);
  CHECK(r.err.find("tok-objects-secret") == std::string::npos);
  const nlohmann::json stats = Stats(server.Url());
  CHECK(stats["objects"].size() == 2000);
  for (const auto& [key, obj] : stats["objects"].items()) CHECK(obj["puts"] == 1);
  CHECK(stats["faults"]["fail"].get<int>() > 50);
  CHECK(stats["faults"]["truncate"].get<int>() > 20);
  CheckStored(conn, stats["objects"], 2000);
  CHECK(QueryValue(conn, "SELECT count(*) FROM custom_design WHERE storage_url IS NULL") == "7");
  CHECK(QueryValue(conn,
                   "SELECT string_agg(row_key::text || ' ' || reason, '; ' ORDER BY row_key::text) "
                   "FROM planrun.rejects WHERE row_key::text = '[\"2001\"]'") ==
        "[\"2001\"] download " + server.Url() + "/src/missing1.png: HTTP 404");
  CHECK(QueryValue(conn,
                   "SELECT count(*) FROM planrun.rejects WHERE reason LIKE 'download "
                   "%/src/missing%.png: HTTP 404'") == "7");
}

TEST_CASE("SIGKILL in the middle, then a re-run: every row stored, nothing uploaded twice") {
  FaultServer server({"--delay-ms", "20"});
  const std::string db = "planrun_objects_kill";
  const std::string conn = FreshDatabase(db);
  MakeDesigns(conn, server.Url(), 400);
  const std::string dir = PlanDir(kHttpStore, "      concurrency: 4\n      batch_size: 20\n");
  setenv("PGDATABASE", db.c_str(), 1);
  setenv("STORAGE_URL", (server.Url() + "/store").c_str(), 1);
  setenv("STORAGE_KEY", "tok-kill", 1);
  {
    ChildProcess child({PlanrunBinary(), "--plans", dir, "apply"});
    // Wait until a few batches are committed and the next one has uploaded
    // objects its rows do not point at yet.
    auto done = [&] {
      return std::stoul(
          QueryValue(conn, "SELECT count(*) FROM custom_design WHERE storage_url IS NOT NULL"));
    };
    for (int i = 0; i < 3000; ++i) {
      if (done() >= 100 && Stats(server.Url())["objects"].size() > done()) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    kill(child.pid(), SIGKILL);
    waitpid(child.pid(), nullptr, 0);
  }
  const int done_before = std::stoi(
      QueryValue(conn, "SELECT count(*) FROM custom_design WHERE storage_url IS NOT NULL"));
  CHECK(done_before >= 100);
  CHECK(done_before < 400);
  const size_t stored_before = Stats(server.Url())["objects"].size();
  CHECK(static_cast<int>(stored_before) > done_before);  // the killed batch had uploaded some

  CommandResult r = Planrun(db, {"--plans", dir, "apply"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.err.find("resuming after batch " + std::to_string(done_before / 20)) !=
        std::string::npos);
  const nlohmann::json stats = Stats(server.Url());
  CHECK(stats["objects"].size() == 400);
  for (const auto& [key, obj] : stats["objects"].items()) CHECK(obj["puts"] == 1);
  CheckStored(conn, stats["objects"], 400);
  const int skipped = static_cast<int>(stored_before) - done_before;
  CHECK(r.err.find("400 processed, " + std::to_string(400 - skipped) + " uploaded, " +
                   std::to_string(skipped) + " skipped (already stored), 0 rejected") !=
        std::string::npos);
  unsetenv("STORAGE_URL");
  unsetenv("STORAGE_KEY");
}

TEST_CASE("objects already in the store are not sent again; rollback deletes what was uploaded") {
  FaultServer server;
  const std::string db = "planrun_objects_rollback";
  const std::string conn = FreshDatabase(db);
  MakeDesigns(conn, server.Url(), 30);
  ExecSql(conn, "UPDATE custom_design SET image_type = 'old' WHERE id = 5");
  // Objects 1-10 are there already (same bytes); 11 holds other bytes.
  net::Client client(net::ClientOptions{});
  for (int id = 1; id <= 11; ++id) {
    net::Request put =
        net::MakeRequest("PUT", server.Url() + "/store/designs/" + std::to_string(id) + ".png");
    put.body = id == 11 ? "stale" : SourceBody("img" + std::to_string(id) + ".png", 1000 + id);
    REQUIRE(client.Run(put).http_status == 201);
  }
  const std::string dir =
      PlanDir(kHttpStore, "      delete_on_rollback: true\n      max_rejects: 1\n");
  const std::map<std::string, std::string> env = {{"STORAGE_URL", server.Url() + "/store"},
                                                  {"STORAGE_KEY", "tok-rollback"}};
  CommandResult r = Planrun(db, {"--plans", dir, "apply"}, env);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.err.find("30 processed, 19 uploaded, 10 skipped (already stored), 1 rejected, 19399 "
                   "bytes moved") != std::string::npos);
  nlohmann::json stats = Stats(server.Url());
  CHECK(stats["objects"]["designs/1.png"]["puts"] == 1);   // only the seeding PUT
  CHECK(stats["objects"]["designs/11.png"]["puts"] == 1);  // other bytes: left alone
  CHECK(stats["objects"]["designs/11.png"]["sha256"] == Sha256Hex("stale"));
  CHECK(stats["objects"]["designs/12.png"]["puts"] == 1);
  CHECK(QueryValue(conn, "SELECT reason FROM planrun.rejects WHERE row_key::text = '[\"11\"]'") ==
        "the store already holds different bytes at " + server.Url() +
            "/store/designs/11.png (sha256 " + Sha256Hex("stale") +
            "); remove it or change the key template");
  CHECK(QueryValue(conn, "SELECT count(*) FROM custom_design WHERE storage_url IS NULL") == "1");

  CommandResult rb = Planrun(db, {"--plans", dir, "rollback"}, env);
  INFO(rb.err);
  REQUIRE(rb.exit_code == 0);
  CHECK(rb.err.find("objects images_to_storage: restored 29 rows of custom_design to their "
                    "previous values; deleted 19 uploaded objects") != std::string::npos);
  CHECK(QueryValue(conn,
                   "SELECT count(*) FROM custom_design WHERE storage_url IS NOT NULL OR "
                   "image_sha256 IS NOT NULL") == "0");
  CHECK(QueryValue(conn, "SELECT image_type FROM custom_design WHERE id = 5") == "old");
  stats = Stats(server.Url());
  CHECK(stats["objects"].size() == 11);  // the eleven that were there before
  CHECK(stats["objects"].contains("designs/10.png"));
  CHECK(stats["objects"]["designs/11.png"]["sha256"] == Sha256Hex("stale"));
}

TEST_CASE("a dir store or nginx holding other bytes at a key: the row is rejected, file kept") {
  const std::string prefix = TempDir("objects-other-bytes");
  const std::string root = prefix + "/root";
  WriteFile(root + "/src/img1.png", SourceBody("img1.png", 1001));
  WriteFile(root + "/src/img2.png", SourceBody("img2.png", 1002));
  WriteFile(root + "/store/designs/1.png", "other bytes, other size");
  WriteFile(root + "/store/designs/2.png", std::string(1002, 'x'));  // same size
  Nginx nginx(prefix, root);
  const std::string db = "planrun_objects_other_bytes";
  const std::string conn = FreshDatabase(db);
  ExecSql(conn,
          "CREATE TABLE custom_design (id bigint PRIMARY KEY, image_url text, storage_url text, "
          "image_sha256 text, image_bytes bigint, image_type text);"
          "INSERT INTO custom_design (id, image_url) SELECT g, '" +
              nginx.Url() + "/src/img' || g || '.png' FROM generate_series(1, 2) g");
  const std::string dir =
      PlanDir("{store: http, base_url: env:STORAGE_URL, key: \"designs/{id}.{ext}\"}",
              "      max_rejects: 2\n");
  CommandResult r =
      Planrun(db, {"--plans", dir, "apply"}, {{"STORAGE_URL", nginx.Url() + "/store"}});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(QueryValue(
            conn, "SELECT string_agg(reason, ' | ' ORDER BY row_key::text) FROM planrun.rejects") ==
        "the store already holds different bytes at " + nginx.Url() +
            "/store/designs/1.png (sha256 unknown); remove it or change the key template | the "
            "store already holds different bytes at " +
            nginx.Url() + "/store/designs/2.png (sha256 " + Sha256Hex(std::string(1002, 'x')) +
            "); remove it or change the key template");
  CHECK(ReadAll(root + "/store/designs/1.png") == "other bytes, other size");
  CHECK(ReadAll(root + "/store/designs/2.png") == std::string(1002, 'x'));

  const std::string out = TempDir("objects-other-bytes-dir");
  const std::string sha1 = Sha256Hex(SourceBody("img1.png", 1001));
  WriteFile(out + "/" + sha1 + ".png", "not the source");
  const std::string db2 = "planrun_objects_other_bytes_dir";
  const std::string conn2 = FreshDatabase(db2);
  ExecSql(conn2,
          "CREATE TABLE custom_design (id bigint PRIMARY KEY, image_url text, storage_url text, "
          "image_sha256 text, image_bytes bigint, image_type text);"
          "INSERT INTO custom_design (id, image_url) VALUES (1, '" +
              nginx.Url() + "/src/img1.png')");
  const std::string dir2 =
      PlanDir("{store: dir, path: env:OUT_DIR, key: \"{sha256}.{ext}\"}", "      max_rejects: 1\n");
  CommandResult d = Planrun(db2, {"--plans", dir2, "apply"}, {{"OUT_DIR", out}});
  INFO(d.err);
  REQUIRE(d.exit_code == 0);
  CHECK(QueryValue(conn2, "SELECT reason FROM planrun.rejects") ==
        "the store already holds different bytes at " + out + "/" + sha1 + ".png (sha256 " +
            Sha256Hex("not the source") + "); remove it or change the key template");
  CHECK(ReadAll(out + "/" + sha1 + ".png") == "not the source");
}

TEST_CASE(
    "after a restart with another key template, rollback deletes only what the step "
    "uploaded") {
  FaultServer server;
  const std::string db = "planrun_objects_rekey";
  const std::string conn = FreshDatabase(db);
  MakeDesigns(conn, server.Url(), 3, 1);  // row 4 points at a 404
  const std::string out = TempDir("objects-rekey");
  const std::map<std::string, std::string> env = {{"OUT_DIR", out}};
  auto plan = [&](const std::string& prefix) {
    return PlanDir("{store: dir, path: env:OUT_DIR, key: \"" + prefix + "/{id}.png\"}",
                   "      batch_size: 2\n      delete_on_rollback: true\n");
  };
  // The first run stores a/1..a/3, then fails on the 404.
  const std::string first = plan("a");
  CommandResult failed = Planrun(db, {"--plans", first, "apply"}, env);
  REQUIRE(failed.exit_code == 1);
  CHECK(ReadAll(out + "/a/3.png") == SourceBody("img3.png", 1003));
  // The key template changes, and another system already put b/1.png there.
  ExecSql(conn, "DELETE FROM custom_design WHERE id = 4");
  WriteFile(out + "/b/1.png", SourceBody("img1.png", 1001));
  const std::string second = plan("b");
  CommandResult again =
      Planrun(db, {"--plans", second, "apply", "--restart-step", "images_to_storage"}, env);
  INFO(again.err);
  REQUIRE(again.exit_code == 0);
  CHECK(QueryValue(conn, "SELECT string_agg(storage_url, ',' ORDER BY id) FROM custom_design") ==
        out + "/b/1.png," + out + "/b/2.png," + out + "/b/3.png");
  CommandResult rb = Planrun(db, {"--plans", second, "rollback"}, env);
  INFO(rb.err);
  REQUIRE(rb.exit_code == 0);
  // a/1..a/3 and b/2, b/3 were the step's; b/1 was there before it.
  for (const std::string f : {"a/1", "a/2", "a/3", "b/2", "b/3"}) {
    CHECK_FALSE(std::filesystem::exists(out + "/" + f + ".png"));
  }
  CHECK(ReadAll(out + "/b/1.png") == SourceBody("img1.png", 1001));
  CHECK(QueryValue(conn, "SELECT count(*) FROM custom_design WHERE storage_url IS NOT NULL") ==
        "0");
}

/// "schema.table" of the step's __objects tracking table.
std::string ObjectsTable(const std::string& conn) {
  return QueryValue(conn,
                    "SELECT format('%I.%I', schemaname, tablename) FROM pg_tables WHERE "
                    "tablename LIKE '%\\_\\_objects'");
}

TEST_CASE("a password in base_url goes as basic auth, never into a table or the log") {
  FaultServer server;
  const std::string db = "planrun_objects_userinfo";
  const std::string conn = FreshDatabase(db);
  MakeDesigns(conn, server.Url(), 3);
  const std::string dir =
      PlanDir("{store: http, base_url: env:STORAGE_URL, key: \"designs/{id}.{ext}\"}", "");
  std::string with_user = server.Url();
  with_user.insert(with_user.find("://") + 3, "uploader:pw-in-url-77@");
  CommandResult r =
      Planrun(db, {"--plans", dir, "apply", "--verbose"}, {{"STORAGE_URL", with_user + "/store"}});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.err.find("pw-in-url-77") == std::string::npos);
  CHECK(QueryValue(conn, "SELECT string_agg(storage_url, ' ' ORDER BY id) FROM custom_design") ==
        server.Url() + "/store/designs/1.png " + server.Url() + "/store/designs/2.png " +
            server.Url() + "/store/designs/3.png");
  CHECK(QueryValue(conn, "SELECT string_agg(location, ' ' ORDER BY location) FROM " +
                             ObjectsTable(conn)) == server.Url() + "/store/designs/1.png " +
                                                        server.Url() + "/store/designs/2.png " +
                                                        server.Url() + "/store/designs/3.png");
  const nlohmann::json stats = Stats(server.Url());
  CHECK(stats["objects"].size() == 3);
  CHECK(stats["auth"] == nlohmann::json::array({"Basic dXBsb2FkZXI6cHctaW4tdXJsLTc3"}));
}

TEST_CASE("file:// sources only with from.files_root, and only inside it") {
  const std::string root = TempDir("objects-files-root");
  const std::string outside = TempDir("objects-files-outside");
  WriteFile(root + "/a.bin", "inside bytes\n");
  WriteFile(outside + "/secret.txt", "outside bytes\n");
  std::filesystem::create_symlink(outside + "/secret.txt", root + "/link.txt");
  const std::string real_root = std::filesystem::canonical(root).string();
  const std::string real_secret = std::filesystem::canonical(outside + "/secret.txt").string();
  const std::string rows = "INSERT INTO files VALUES (1, 'file://" + root +
                           "/a.bin', NULL), (2, 'file://" + root + "/../" +
                           outside.substr(outside.rfind('/') + 1) +
                           "/secret.txt', NULL), (3, 'file://" + root + "/link.txt', NULL)";
  const std::string store = TempDir("objects-files-store");
  auto run = [&](const std::string& db, const std::string& from_extra) {
    const std::string conn = FreshDatabase(db);
    ExecSql(conn, "CREATE TABLE files (id bigint PRIMARY KEY, src text, stored text);" + rows);
    const std::string dir = TempDir("objects-files-plans");
    WriteFile(dir + "/1_files.yaml",
              "version: 1\nname: files\nsteps:\n  - id: files_to_store\n    objects:\n"
              "      from: {table: files, key: id, where: stored IS NULL" +
                  from_extra +
                  "}\n      url: src\n      to: {store: dir, path: env:OUT_DIR, key: "
                  "\"{id}.{ext}\"}\n      set: {stored: \"{url}\"}\n      max_rejects: 3\n");
    CommandResult r =
        Planrun(db, {"--plans", dir, "apply"}, {{"OUT_DIR", store}, {"FILES_ROOT", root}});
    INFO(r.err);
    CHECK(r.exit_code == 0);
    return conn;
  };
  const std::string conn = run("planrun_objects_no_files_root", "");
  CHECK(QueryValue(conn,
                   "SELECT string_agg(reason, ' | ' ORDER BY row_key::text) FROM planrun.rejects "
                   "WHERE row_key::text = '[\"1\"]'") ==
        "the source URL file://" + root +
            "/a.bin is a file:// URL; set from.files_root to the folder the step may read files "
            "from");
  CHECK(QueryValue(conn, "SELECT count(*) FROM planrun.rejects") == "3");
  CHECK(QueryValue(conn, "SELECT count(*) FROM files WHERE stored IS NOT NULL") == "0");

  const std::string conn2 = run("planrun_objects_files_root", ", files_root: env:FILES_ROOT");
  CHECK(QueryValue(conn2, "SELECT stored FROM files WHERE id = 1") == store + "/1.bin");
  CHECK(ReadAll(store + "/1.bin") == "inside bytes\n");
  CHECK(
      QueryValue(conn2,
                 "SELECT string_agg(reason, ' | ' ORDER BY row_key::text) FROM planrun.rejects") ==
      "the source URL file://" + root + "/../" + outside.substr(outside.rfind('/') + 1) +
          "/secret.txt reads " + real_secret + ", outside from.files_root " + real_root +
          "; move the file there or change files_root | the source URL file://" + root +
          "/link.txt reads " + real_secret + ", outside from.files_root " + real_root +
          "; move the file there or change files_root");
  CHECK_FALSE(std::filesystem::exists(store + "/2.txt"));
  CHECK_FALSE(std::filesystem::exists(store + "/3.txt"));
}

TEST_CASE("an objects step whose key is not unique fails before its first transfer") {
  const std::string conn = FreshDatabase("planrun_objects_key_unique");
  ExecSql(conn,
          "CREATE TABLE files (id bigint NOT NULL, src text, stored text);"
          "INSERT INTO files VALUES (1, 'http://127.0.0.1:1/a', NULL), "
          "(1, 'http://127.0.0.1:1/b', NULL)");
  const std::string dir = TempDir("objects-key-plans");
  WriteFile(dir + "/1_files.yaml",
            "version: 1\nname: files\nsteps:\n  - id: files_to_store\n    objects:\n"
            "      from: {table: files, key: id}\n      url: src\n      to: {store: dir, "
            "path: env:OUT_DIR, key: \"{id}\"}\n      set: {stored: \"{url}\"}\n");
  CommandResult r = Planrun("planrun_objects_key_unique", {"--plans", dir, "apply"},
                            {{"OUT_DIR", TempDir("objects-key-out")}});
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Catch::Contains("error: step 'files_to_store' of plan 1 files failed to apply: "
                                    "objects source: key (id) of table files is not unique"));
  CHECK(QueryValue(conn, "SELECT count(*) FROM files WHERE stored IS NOT NULL") == "0");
}

TEST_CASE("a row whose URL changes during its transfer is rejected, not given the old object") {
  FaultServer server({"--delay-ms", "1500"});
  const std::string db = "planrun_objects_stale";
  const std::string conn = FreshDatabase(db);
  MakeDesigns(conn, server.Url(), 1);
  const std::string dir =
      PlanDir(kHttpStore, "      max_rejects: 1\n      delete_on_rollback: true\n");
  setenv("PGDATABASE", db.c_str(), 1);
  setenv("STORAGE_URL", (server.Url() + "/store").c_str(), 1);
  setenv("STORAGE_KEY", "tok-stale", 1);
  {
    ChildProcess child({PlanrunBinary(), "--plans", dir, "apply"});
    // Once the step has read the row and asked for its source, the
    // application points the row at another image.
    for (int polls = 1; polls < 20; ++polls) {
      if (Stats(server.Url())["requests"]["GET"].get<int>() > polls) break;
    }
    ExecSql(conn, "UPDATE custom_design SET image_url = '" + server.Url() +
                      "/src/new.png?size=77' WHERE id = 1");
    int status = 0;
    waitpid(child.pid(), &status, 0);
    CHECK(WEXITSTATUS(status) == 0);
  }
  unsetenv("STORAGE_URL");
  unsetenv("STORAGE_KEY");
  CHECK(QueryValue(conn, "SELECT reason FROM planrun.rejects") ==
        "the row changed while its object was being transferred; run planrun apply "
        "--retry-rejects");
  CHECK(QueryValue(conn,
                   "SELECT coalesce(storage_url, 'NULL') || ' ' || image_url FROM "
                   "custom_design") == "NULL " + server.Url() + "/src/new.png?size=77");
  // The old image was uploaded before the row changed: rollback deletes it,
  // and leaves the row as the application wrote it.
  CHECK(Stats(server.Url())["objects"].size() == 1);
  CommandResult rb =
      Planrun(db, {"--plans", dir, "rollback"},
              {{"STORAGE_URL", server.Url() + "/store"}, {"STORAGE_KEY", "tok-stale"}});
  INFO(rb.err);
  CHECK(rb.exit_code == 0);
  CHECK(rb.err.find("deleted 1 uploaded objects") != std::string::npos);
  CHECK(Stats(server.Url())["objects"].empty());
  CHECK(QueryValue(conn,
                   "SELECT coalesce(storage_url, 'NULL') || ' ' || image_url FROM "
                   "custom_design") == "NULL " + server.Url() + "/src/new.png?size=77");
}

TEST_CASE("a row a trigger keeps as it is is rejected, and rollback leaves it alone") {
  FaultServer server;
  const std::string db = "planrun_objects_trigger";
  const std::string conn = FreshDatabase(db);
  MakeDesigns(conn, server.Url(), 4);
  ExecSql(conn,
          "CREATE FUNCTION keep_three() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
          "IF NEW.id = 3 THEN RETURN NULL; END IF; RETURN NEW; END $$;"
          "CREATE TRIGGER keep_three BEFORE UPDATE ON custom_design FOR EACH ROW EXECUTE "
          "FUNCTION keep_three()");
  const std::string dir = PlanDir(kHttpStore, "      max_rejects: 1\n");
  const std::map<std::string, std::string> env = {{"STORAGE_URL", server.Url() + "/store"},
                                                  {"STORAGE_KEY", "tok-trigger"}};
  CommandResult r = Planrun(db, {"--plans", dir, "apply"}, env);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(QueryValue(conn, "SELECT reason FROM planrun.rejects") ==
        "the UPDATE of the row changed nothing (a trigger or rule on custom_design kept it)");
  CHECK(QueryValue(conn,
                   "SELECT string_agg(id::text, ',' ORDER BY id) FROM custom_design WHERE "
                   "storage_url IS NOT NULL") == "1,2,4");
  // Row 3 has no saved previous values: the application may change it, and
  // rollback does not put anything back over that.
  CHECK(QueryValue(conn,
                   "SELECT count(*) FROM planrun_backup.v1__images_to_storage__public__"
                   "custom_design__prev") == "3");
  ExecSql(conn,
          "ALTER TABLE custom_design DISABLE TRIGGER keep_three;"
          "UPDATE custom_design SET storage_url = 'app' WHERE id = 3");
  CommandResult rb = Planrun(db, {"--plans", dir, "rollback"}, env);
  INFO(rb.err);
  REQUIRE(rb.exit_code == 0);
  CHECK(QueryValue(conn,
                   "SELECT string_agg(id || '=' || coalesce(storage_url, 'NULL'), ',' "
                   "ORDER BY id) FROM custom_design") == "1=NULL,2=NULL,3=app,4=NULL");
}

TEST_CASE("--retry-rejects moves the rejected rows once their URLs are fixed") {
  FaultServer server;
  const std::string db = "planrun_objects_retry";
  const std::string conn = FreshDatabase(db);
  MakeDesigns(conn, server.Url(), 10, 2);
  const std::string dir = PlanDir(kHttpStore, "      max_rejects: 2\n");
  const std::map<std::string, std::string> env = {{"STORAGE_URL", server.Url() + "/store"},
                                                  {"STORAGE_KEY", "tok-retry"}};
  CommandResult r = Planrun(db, {"--plans", dir, "apply"}, env);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(QueryValue(conn, "SELECT count(*) FROM planrun.rejects WHERE resolved_at IS NULL") == "2");
  ExecSql(conn, "UPDATE custom_design SET image_url = '" + server.Url() +
                    "/src/img' || id || '.png?size=' || (1000 + id) WHERE id > 10");
  CommandResult retry = Planrun(db, {"--plans", dir, "apply", "--retry-rejects"}, env);
  INFO(retry.err);
  REQUIRE(retry.exit_code == 0);
  CHECK(retry.err.find("objects images_to_storage: retried 2 rejected rows, 0 still rejected") !=
        std::string::npos);
  CheckStored(conn, Stats(server.Url())["objects"], 12);
  CHECK(QueryValue(conn, "SELECT count(*) FROM planrun.rejects WHERE resolved_at IS NULL") == "0");
}

TEST_CASE("a dir store gets whole files renamed into place; a re-run finds them") {
  FaultServer server;
  const std::string db = "planrun_objects_dir";
  const std::string conn = FreshDatabase(db);
  MakeDesigns(conn, server.Url(), 25);
  const std::string out = TempDir("objects-dir-store");
  const std::string dir =
      PlanDir("{store: dir, path: env:OUT_DIR, key: \"{sha256}.{ext}\"}", "      batch_size: 10\n");
  CommandResult r = Planrun(db, {"--plans", dir, "apply"}, {{"OUT_DIR", out}});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  for (int id = 1; id <= 25; ++id) {
    const std::string body = SourceBody("img" + std::to_string(id) + ".png", 1000 + id);
    const std::string path = out + "/" + Sha256Hex(body) + ".png";
    CHECK(ReadAll(path) == body);
    CHECK(QueryValue(conn, "SELECT storage_url FROM custom_design WHERE id = " +
                               std::to_string(id)) == path);
  }
  size_t files = 0;
  for (const auto& e : std::filesystem::directory_iterator(out)) files += e.is_regular_file();
  CHECK(files == 25);  // no temp files left behind

  CommandResult rb = Planrun(db, {"--plans", dir, "rollback"}, {{"OUT_DIR", out}});
  REQUIRE(rb.exit_code == 0);
  CHECK(rb.err.find("restored 25 rows of custom_design to their previous values\n") !=
        std::string::npos);
  CHECK(std::filesystem::exists(out + "/" + Sha256Hex(SourceBody("img1.png", 1001)) + ".png"));
  CommandResult again = Planrun(db, {"--plans", dir, "apply"}, {{"OUT_DIR", out}});
  REQUIRE(again.exit_code == 0);
  CHECK(again.err.find("25 processed, 0 uploaded, 25 skipped (already stored)") !=
        std::string::npos);
}

TEST_CASE("nginx as source and WebDAV store: a second step finds every object there") {
  const std::string prefix = TempDir("objects-nginx");
  const std::string root = prefix + "/root";
  for (int id = 1; id <= 20; ++id) {
    WriteFile(root + "/src/img" + std::to_string(id) + ".png",
              SourceBody("img" + std::to_string(id) + ".png", 1000 + id));
  }
  Nginx nginx(prefix, root);
  const std::string db = "planrun_objects_nginx";
  const std::string conn = FreshDatabase(db);
  ExecSql(conn,
          "CREATE TABLE custom_design (id bigint PRIMARY KEY, image_url text, storage_url text, "
          "image_sha256 text, image_bytes bigint, image_type text);"
          "INSERT INTO custom_design (id, image_url) SELECT g, '" +
              nginx.Url() + "/src/img' || g || '.png' FROM generate_series(1, 20) g");
  const std::string dir = PlanDir(
      "{store: http, base_url: env:STORAGE_URL, key: \"designs/{id}.{ext}\", public_url: "
      "\"https://cdn.example.com/{key}\"}",
      "      concurrency: 4\n");
  WriteFile(dir + "/2_again.yaml",
            "version: 2\nname: again\nsteps:\n  - id: forget\n    sql:\n      up: UPDATE "
            "custom_design SET storage_url = NULL\n      down: SELECT 1\n      writes: "
            "[custom_design]\n  - id: again\n    needs: [forget]\n    objects:\n      from: "
            "{table: custom_design, key: id, where: \"storage_url IS NULL\"}\n      url: "
            "image_url\n      to: {store: http, base_url: env:STORAGE_URL, key: "
            "\"designs/{id}.{ext}\"}\n      set: {storage_url: \"{url}\"}\n");
  const std::map<std::string, std::string> env = {{"STORAGE_URL", nginx.Url() + "/store"}};
  CommandResult r = Planrun(db, {"--plans", dir, "apply", "--to", "1"}, env);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  for (int id = 1; id <= 20; ++id) {
    const std::string body = SourceBody("img" + std::to_string(id) + ".png", 1000 + id);
    CHECK(ReadAll(root + "/store/designs/" + std::to_string(id) + ".png") == body);
  }
  CHECK(QueryValue(conn,
                   "SELECT storage_url || ' ' || image_sha256 FROM custom_design WHERE id = "
                   "3") ==
        "https://cdn.example.com/designs/3.png " + Sha256Hex(SourceBody("img3.png", 1003)));
  CommandResult again = Planrun(db, {"--plans", dir, "apply"}, env);
  INFO(again.err);
  REQUIRE(again.exit_code == 0);
  CHECK(again.err.find("objects again: 20 processed, 0 uploaded, 20 skipped (already stored), 0 "
                       "rejected, 0 bytes moved") != std::string::npos);
  CHECK(QueryValue(conn, "SELECT storage_url FROM custom_design WHERE id = 3") ==
        nginx.Url() + "/store/designs/3.png");
  const std::string log = ReadAll(prefix + "/access.log");
  size_t puts = 0;
  for (size_t p = log.find("\"PUT "); p != std::string::npos; p = log.find("\"PUT ", p + 1)) ++puts;
  CHECK(puts == 20);
}

TEST_CASE("s3 store: requests signed with SigV4 that the server recomputes") {
  // The server's recomputation first reproduces AWS's published S3 example.
  CommandResult self =
      Run({"python3", SourceDir() + "/tests/objects/fault_server.py", "--self-test"});
  REQUIRE(self.exit_code == 0);
  CHECK(self.out == "sigv4 self-test ok\n");
  FaultServer server({"--sigv4", "AKIDPLANRUN:planrun-s3-secret-key:eu-west-1"});
  const std::string db = "planrun_objects_s3";
  const std::string conn = FreshDatabase(db);
  MakeDesigns(conn, server.Url(), 12);
  const std::string dir = PlanDir(
      "{store: s3, endpoint: env:S3_ENDPOINT, bucket: store, region: eu-west-1, key: "
      "\"designs/{id}.{ext}\"}",
      "      retries: 0\n");
  std::map<std::string, std::string> env = {{"S3_ENDPOINT", server.Url()},
                                            {"AWS_ACCESS_KEY_ID", "AKIDPLANRUN"},
                                            {"AWS_SECRET_ACCESS_KEY", "wrong-secret-key"}};
  CommandResult bad = Planrun(db, {"--plans", dir, "apply"}, env);
  CHECK(bad.exit_code == 1);
  CHECK(bad.err.find("the first: key [\"1\"]: check " + server.Url() +
                     "/store/designs/1.png: HTTP 403;") != std::string::npos);
  CHECK(bad.err.find("wrong-secret-key") == std::string::npos);
  CHECK(Stats(server.Url())["sigv4"]["bad"][0] == "signature mismatch");

  env["AWS_SECRET_ACCESS_KEY"] = "planrun-s3-secret-key";
  CommandResult r =
      Planrun(db, {"--plans", dir, "apply", "--restart-step", "images_to_storage"}, env);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const nlohmann::json stats = Stats(server.Url());
  CheckStored(conn, stats["objects"], 12);
  CHECK(stats["sigv4"]["checked"] == 12 + 24);  // the failed HEADs, then 12 HEADs and 12 PUTs
  CHECK(stats["sigv4"]["bad"].size() == 12);
}

TEST_CASE("example plan images_to_storage (seed 000) against nginx, then rolled back") {
  const std::string prefix = TempDir("objects-example-images");
  const std::string root = prefix + "/root";
  for (int id = 1; id <= 60; ++id) {
    WriteFile(root + "/src/img" + std::to_string(id) + ".png",
              SourceBody("img" + std::to_string(id) + ".png", 1000 + id));
  }
  Nginx nginx(prefix, root);
  const std::string db = "planrun_objects_example_images";
  const std::string conn = FreshDatabase(db);
  ExecSql(conn,
          "CREATE TABLE custom_design (id bigint PRIMARY KEY, image_url text);"
          "INSERT INTO custom_design SELECT g, '" +
              nginx.Url() +
              "/src/img' || g || '.png' FROM generate_series(1, 60) g;"
              "INSERT INTO custom_design VALUES (61, NULL)");
  const std::string plans = SourceDir() + "/plans/examples/images_to_storage";
  const std::map<std::string, std::string> env = {{"STORAGE_URL", nginx.Url() + "/store"},
                                                  {"STORAGE_KEY", "example-token"}};
  CommandResult r = Planrun(db, {"--plans", plans, "apply"}, env);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.err.find("60 processed, 60 uploaded, 0 skipped (already stored), 0 rejected") !=
        std::string::npos);
  CHECK(ReadAll(root + "/store/designs/42.png") == SourceBody("img42.png", 1042));
  CHECK(QueryValue(conn,
                   "SELECT storage_url || ' ' || image_bytes || ' ' || image_type FROM "
                   "custom_design WHERE id = 42") ==
        nginx.Url() + "/store/designs/42.png 1042 image/png");
  CommandResult rb = Planrun(db, {"--plans", plans, "rollback"}, env);
  INFO(rb.err);
  REQUIRE(rb.exit_code == 0);
  CHECK(QueryValue(conn,
                   "SELECT count(*) FROM information_schema.columns WHERE table_name = "
                   "'custom_design'") == "2");
}

TEST_CASE("example plan local_packages_to_cloud (seed 001): s3 by checksum, webhook, rollback") {
  FaultServer server({"--sigv4", "AKIDEXAMPLE:example-secret:us-east-1"});
  const std::string files = TempDir("objects-example-packages");
  const std::string db = "planrun_objects_example_packages";
  const std::string conn = FreshDatabase(db);
  ExecSql(conn,
          "CREATE TABLE taptik_packages (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, "
          "name text NOT NULL, platform text, file_path text NOT NULL UNIQUE, storage_url text, "
          "checksum text, size_bytes bigint, modified_at timestamptz)");
  for (int i = 1; i <= 12; ++i) {
    // Packages 11 and 12 hold the same bytes as 1 and 2: stored once.
    const std::string body = "{\"name\": \"pkg-" + std::to_string(i > 10 ? i - 10 : i) +
                             "\", \"platform\": \"linux\"}\n";
    WriteFile(files + "/packages/pkg-" + std::to_string(i) + ".taptik", body);
  }
  WriteFile(files + "/packages/notes.txt", "not a package");
  const std::string plans = SourceDir() + "/plans/examples/local_packages_to_cloud";
  const std::map<std::string, std::string> env = {
      {"S3_ENDPOINT", server.Url()},        {"S3_BUCKET", "store"},
      {"AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"}, {"AWS_SECRET_ACCESS_KEY", "example-secret"},
      {"HOOK_URL", server.Url() + "/hook"}, {"PACKAGES_DIR", files}};
  CommandResult r = Planrun(db, {"--plans", plans, "apply"}, env);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.err.find("12 processed, 10 uploaded, 2 skipped (already stored), 0 rejected") !=
        std::string::npos);
  CHECK(r.err.find("; 12 rows inserted into taptik_packages, 0 skipped (already there)") !=
        std::string::npos);
  nlohmann::json stats = Stats(server.Url());
  CHECK(stats["objects"].size() == 10);
  for (const auto& [key, obj] : stats["objects"].items()) CHECK(obj["puts"] == 1);
  CHECK(stats["sigv4"]["bad"].empty());
  const std::string sha1 = Sha256Hex("{\"name\": \"pkg-1\", \"platform\": \"linux\"}\n");
  CHECK(QueryValue(conn,
                   "SELECT concat_ws(' ', name, platform, storage_url, checksum, size_bytes) FROM "
                   "taptik_packages WHERE file_path = 'packages/pkg-11.taptik'") ==
        "pkg-1 linux " + server.Url() + "/store/packages/" + sha1 + ".taptik " + sha1 + " 39");
  REQUIRE(stats["hooks"].size() == 1);
  CHECK(stats["hooks"][0]["state"] == "applied");
  CHECK(stats["hooks"][0]["steps"].size() == 2);

  CommandResult rb = Planrun(db, {"--plans", plans, "rollback"}, env);
  INFO(rb.err);
  REQUIRE(rb.exit_code == 0);
  CHECK(rb.err.find("deleted the 12 rows it had inserted into taptik_packages; deleted 10 "
                    "uploaded objects") != std::string::npos);
  CHECK(QueryValue(conn, "SELECT count(*) FROM taptik_packages") == "0");
  stats = Stats(server.Url());
  CHECK(stats["objects"].empty());
  CHECK(stats["hooks"].size() == 2);
  CHECK(stats["hooks"][1]["state"] == "rolled_back");
}

}  // namespace
}  // namespace testing
}  // namespace planrun
