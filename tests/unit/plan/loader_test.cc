#include "plan/loader.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include "util/sha256.h"

namespace planrun {
namespace {

/// Plan files in memory; records every read.
class FakeFileSystem : public FileSystem {
 public:
  std::map<std::string, std::string> files;
  std::vector<std::string> reads;

  Status ListPlanFiles(const std::string& dir, std::vector<std::string>* out) override {
    if (dir == "missing") return Status::Io("cannot read directory missing: No such file");
    out->clear();
    for (const auto& [path, text] : files) {
      bool is_plan = path.size() > 5 && path.compare(path.size() - 5, 5, ".yaml") == 0;
      if (path.compare(0, dir.size(), dir) == 0 && is_plan) out->push_back(path);
    }
    return Status::OK();
  }

  Status ReadFile(const std::string& path, std::string* out) override {
    reads.push_back(path);
    auto it = files.find(path);
    if (it == files.end()) return Status::Io("cannot read " + path + ": No such file");
    *out = it->second;
    return Status::OK();
  }
};

/// A step with nothing to do; the loader only needs one to exist.
class NoopStep : public Step {
 public:
  Reversibility reversibility() const override { return Reversibility::kReversible; }
  std::vector<std::string> DescribeUp(const StepEnv&) const override { return {}; }
  std::vector<std::string> DescribeDown(const StepEnv&) const override { return {}; }
  Status Apply(StepContext&) const override { return Status::OK(); }
  Status Revert(StepContext&) const override { return Status::OK(); }
};

/// sql takes anything; hook names a file next to the plan.
const StepRegistry& FakeKinds() {
  static const StepRegistry* kinds = new StepRegistry{
      {"sql",
       [](const Node&, const StepParseContext&, std::unique_ptr<Step>* out) {
         *out = std::make_unique<NoopStep>();
         return Status::OK();
       }},
      {"hook",
       [](const Node& body, const StepParseContext& ctx, std::unique_ptr<Step>* out) {
         ctx.files->push_back(ctx.plan_dir + "/" + body.scalar);
         *out = std::make_unique<NoopStep>();
         return Status::OK();
       }},
  };
  return *kinds;
}

std::string PlanText(const std::string& version, const std::string& extra = "") {
  return "version: " + version + "\nname: p" + version.substr(0, 1) + "\n" + extra +
         "steps: [{id: s, sql: SELECT 1}]\n";
}

TEST_CASE("LoadPlans loads every plan and sorts them by version") {
  FakeFileSystem fs;
  fs.files["plans/a.yaml"] = PlanText("10", "requires: [9]\n");
  fs.files["plans/b.yaml"] = PlanText("2");
  fs.files["plans/sub/c.yaml"] = PlanText("9");
  fs.files["plans/notes.txt"] = "not a plan";
  std::vector<std::unique_ptr<Plan>> plans;
  Status s = LoadPlans(fs, "plans", FakeKinds(), &plans);
  INFO(s.message());
  REQUIRE(s.ok());
  REQUIRE(plans.size() == 3);
  CHECK(plans[0]->version.text == "2");
  CHECK(plans[0]->source.path == "plans/b.yaml");
  CHECK(plans[1]->version.text == "9");
  CHECK(plans[1]->dir == "plans/sub");
  CHECK(plans[2]->version.text == "10");
  for (const auto& plan : plans) CHECK(plan->checksum.size() == 64);
  CHECK(fs.reads == std::vector<std::string>{"plans/a.yaml", "plans/b.yaml", "plans/sub/c.yaml"});
}

TEST_CASE("LoadPlans refuses a version declared twice, at the later file") {
  FakeFileSystem fs;
  fs.files["plans/a.yaml"] = PlanText("2");
  fs.files["plans/b.yaml"] = PlanText("2.0");
  std::vector<std::unique_ptr<Plan>> plans;
  Status s = LoadPlans(fs, "plans", FakeKinds(), &plans);
  CHECK(s.code() == StatusCode::kInvalid);
  CHECK(s.message() ==
        "plans/b.yaml:1:10: error: duplicate version 2.0; also declared at plans/a.yaml:1:10\n"
        "version: 2.0\n         ^");
  CHECK(plans.empty());
}

TEST_CASE("LoadPlans refuses requires naming no plan") {
  FakeFileSystem fs;
  fs.files["plans/a.yaml"] = PlanText("2");
  fs.files["plans/b.yaml"] = PlanText("8", "requires: [2, 7]\n");
  std::vector<std::unique_ptr<Plan>> plans;
  CHECK(LoadPlans(fs, "plans/", FakeKinds(), &plans).message() ==
        "plans/b.yaml:3:15: error: plan requires version 7, which is not in plans/\n"
        "requires: [2, 7]\n              ^");
  // The directory is shown with one trailing slash either way.
  CHECK(LoadPlans(fs, "plans", FakeKinds(), &plans).message() ==
        "plans/b.yaml:3:15: error: plan requires version 7, which is not in plans/\n"
        "requires: [2, 7]\n              ^");
}

TEST_CASE("LoadPlans passes errors of the file system and of each plan through") {
  FakeFileSystem fs;
  std::vector<std::unique_ptr<Plan>> plans;
  Status s = LoadPlans(fs, "missing", FakeKinds(), &plans);
  CHECK(s.code() == StatusCode::kIo);
  CHECK(s.message() == "cannot read directory missing: No such file");
  fs.files["plans/a.yaml"] = PlanText("1");
  fs.files["plans/b.yaml"] = "version: 2\n";
  s = LoadPlans(fs, "plans", FakeKinds(), &plans);
  CHECK(s.message() == "plans/b.yaml:1:1: error: plan needs 'name'\nversion: 2\n^");
}

TEST_CASE("LoadPlans of an empty directory gives no plans") {
  FakeFileSystem fs;
  std::vector<std::unique_ptr<Plan>> plans;
  plans.push_back(std::make_unique<Plan>());
  REQUIRE(LoadPlans(fs, "plans", FakeKinds(), &plans).ok());
  CHECK(plans.empty());
}

TEST_CASE("LoadPlanFile checksums the canonical plan and every referenced file") {
  FakeFileSystem fs;
  const std::string text =
      "version: 3  # third\nname: hooks\nsteps:\n  - id: h\n    hook: niche.lua\n";
  fs.files["plans/c.yaml"] = text;
  fs.files["plans/niche.lua"] = "return 1\n";
  std::unique_ptr<Plan> plan;
  Status s = LoadPlanFile(fs, "plans/c.yaml", FakeKinds(), &plan);
  INFO(s.message());
  REQUIRE(s.ok());
  CHECK(plan->files == std::vector<std::string>{"plans/niche.lua"});
  Sha256 expected;
  expected.Update(R"({"version":"3","name":"hooks","steps":[{"id":"h","hook":"niche.lua"}]})");
  expected.Update("\nfile 9\nreturn 1\n");
  CHECK(plan->checksum == expected.HexDigest());
  const std::string first = plan->checksum;

  // Layout and comments do not count; the referenced file's content does.
  fs.files["plans/c.yaml"] = "{version: 3, name: hooks, steps: [{id: h, hook: niche.lua}]}";
  REQUIRE(LoadPlanFile(fs, "plans/c.yaml", FakeKinds(), &plan).ok());
  CHECK(plan->checksum == first);
  fs.files["plans/niche.lua"] = "return 2\n";
  REQUIRE(LoadPlanFile(fs, "plans/c.yaml", FakeKinds(), &plan).ok());
  CHECK(plan->checksum != first);
}

TEST_CASE("LoadPlanFile reports a referenced file it cannot read") {
  FakeFileSystem fs;
  fs.files["plans/c.yaml"] = "version: 3\nname: hooks\nsteps: [{id: h, hook: gone.lua}]\n";
  std::unique_ptr<Plan> plan;
  Status s = LoadPlanFile(fs, "plans/c.yaml", FakeKinds(), &plan);
  CHECK(s.code() == StatusCode::kIo);
  CHECK(s.message() == "cannot read plans/gone.lua: No such file");
  CHECK(plan == nullptr);
  s = LoadPlanFile(fs, "plans/none.yaml", FakeKinds(), &plan);
  CHECK(s.message() == "cannot read plans/none.yaml: No such file");
}

/// A fresh directory under $TMPDIR, removed at the end of the test.
struct TempDir {
  TempDir() {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = std::string(tmp ? tmp : "/tmp") + "/planrun_loader_XXXXXX";
    REQUIRE(mkdtemp(pattern.data()) != nullptr);
    path = pattern;
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  void Write(const std::string& rel, const std::string& content) const {
    std::filesystem::create_directories(std::filesystem::path(path + "/" + rel).parent_path());
    std::ofstream(path + "/" + rel) << content;
  }
  std::string path;
};

TEST_CASE("RealFileSystem lists .yaml and .yml files recursively, sorted") {
  TempDir dir;
  dir.Write("b.yaml", "x");
  dir.Write("a.yml", "x");
  dir.Write("notes.md", "x");
  dir.Write("sub/c.yaml", "x");
  dir.Write("sub/deeper/d.yml", "x");
  std::filesystem::create_directories(dir.path + "/dir.yaml");
  auto fs = RealFileSystem();
  std::vector<std::string> paths;
  REQUIRE(fs->ListPlanFiles(dir.path, &paths).ok());
  CHECK(paths == std::vector<std::string>{dir.path + "/a.yml", dir.path + "/b.yaml",
                                          dir.path + "/sub/c.yaml",
                                          dir.path + "/sub/deeper/d.yml"});
}

TEST_CASE("RealFileSystem reads whole files and reports errors with the path") {
  TempDir dir;
  std::string content = "version: 1\n" + std::string(200000, '#') + "\n";
  dir.Write("p.yaml", content);
  auto fs = RealFileSystem();
  std::string out;
  REQUIRE(fs->ReadFile(dir.path + "/p.yaml", &out).ok());
  CHECK(out == content);
  Status s = fs->ReadFile(dir.path + "/none.yaml", &out);
  CHECK(s.code() == StatusCode::kIo);
  CHECK(s.message() == "cannot read " + dir.path + "/none.yaml: No such file or directory");
  CHECK(fs->ReadFile(dir.path, &out).message() == "cannot read " + dir.path + ": Is a directory");
  std::vector<std::string> paths;
  s = fs->ListPlanFiles(dir.path + "/nope", &paths);
  CHECK(s.code() == StatusCode::kIo);
  CHECK(s.message() == "cannot read directory " + dir.path + "/nope: No such file or directory");
}

TEST_CASE("LoadPlans reads plans from the real disk") {
  TempDir dir;
  dir.Write("002_b.yaml", PlanText("2", "requires: 1\n"));
  dir.Write("001_a.yaml", PlanText("1"));
  auto fs = RealFileSystem();
  std::vector<std::unique_ptr<Plan>> plans;
  Status s = LoadPlans(*fs, dir.path, FakeKinds(), &plans);
  INFO(s.message());
  REQUIRE(s.ok());
  REQUIRE(plans.size() == 2);
  CHECK(plans[0]->source.path == dir.path + "/001_a.yaml");
  CHECK(plans[1]->name == "p2");
  CHECK(plans[1]->dir == dir.path);
}

}  // namespace
}  // namespace planrun
