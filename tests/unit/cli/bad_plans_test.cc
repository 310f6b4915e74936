// The bad-plan corpus: `planrun --plans . validate` on each entry of
// tests/corpus/bad_plans must print exactly the entry's .err file on stderr,
// nothing on stdout, and exit 2. An entry is NN_name.yaml (copied alone into
// an empty directory as plan.yaml) or a directory NN_name/ (its files copied
// as they are); its expected stderr is NN_name.err.
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace planrun {
namespace {

namespace fs = std::filesystem;

/// The exit status and output of one planrun run.
struct Outcome {
  int exit_code = -1;
  std::string out;
  std::string err;
};

/// The environment variable `name`, which ctest sets; fails the test when unset.
std::string Env(const char* name) {
  const char* v = std::getenv(name);
  INFO(name << " is not set; run this test through ctest");
  REQUIRE(v != nullptr);
  return v;
}

/// The whole content of `path` (empty when it cannot be read).
std::string ReadAll(const fs::path& path) {
  std::ifstream f(path, std::ios::binary);
  std::ostringstream text;
  text << f.rdbuf();
  return text.str();
}

/// A fresh empty directory, removed when the object goes away.
class ScratchDir {
 public:
  ScratchDir() {
    std::string pattern = (fs::temp_directory_path() / "bad_plans_test.XXXXXX").string();
    REQUIRE(mkdtemp(pattern.data()) != nullptr);
    path_ = pattern;
  }
  ~ScratchDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

/// Runs `planrun --plans . validate` in `plans_dir`; output goes through
/// files in `io_dir` so neither stream can block the other.
Outcome Validate(const fs::path& plans_dir, const fs::path& io_dir) {
  const std::string binary = Env("PLANRUN_BINARY");
  const std::string out_path = (io_dir / "stdout").string();
  const std::string err_path = (io_dir / "stderr").string();
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (out < 0 || err < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0) _exit(126);
    if (chdir(plans_dir.c_str()) != 0) _exit(126);
    execl(binary.c_str(), binary.c_str(), "--plans", ".", "validate", static_cast<char*>(nullptr));
    _exit(127);
  }
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  Outcome outcome;
  outcome.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  outcome.out = ReadAll(out_path);
  outcome.err = ReadAll(err_path);
  return outcome;
}

/// tests/corpus/bad_plans in the source tree.
fs::path CorpusDir() { return fs::path(Env("PLANRUN_SOURCE_DIR")) / "tests/corpus/bad_plans"; }

/// The corpus entries (NN_name.yaml files and NN_name/ directories), sorted.
std::vector<fs::path> Entries() {
  std::vector<fs::path> entries;
  for (const auto& e : fs::directory_iterator(CorpusDir())) {
    if (e.is_directory() || e.path().extension() == ".yaml") entries.push_back(e.path());
  }
  std::sort(entries.begin(), entries.end());
  return entries;
}

/// Copies one corpus entry into `dir`: a file as plan.yaml, a directory's files as they are.
void Stage(const fs::path& entry, const fs::path& dir) {
  if (fs::is_directory(entry)) {
    for (const auto& f : fs::directory_iterator(entry)) {
      fs::copy_file(f.path(), dir / f.path().filename());
    }
  } else {
    fs::copy_file(entry, dir / "plan.yaml");
  }
}

TEST_CASE("every bad plan in the corpus fails validate with exactly its .err text") {
  const std::vector<fs::path> entries = Entries();
  REQUIRE(entries.size() >= 40);
  for (const fs::path& entry : entries) {
    const fs::path expected_path = CorpusDir() / (entry.stem().string() + ".err");
    INFO("corpus entry: " << entry.filename().string());
    REQUIRE(fs::exists(expected_path));
    ScratchDir plans, io;
    Stage(entry, plans.path());
    Outcome r = Validate(plans.path(), io.path());
    CHECK(r.exit_code == 2);
    CHECK(r.out.empty());
    CHECK(r.err == ReadAll(expected_path));
  }
}

TEST_CASE("every .err file in the corpus belongs to an entry") {
  std::set<std::string> stems;
  for (const fs::path& entry : Entries()) stems.insert(entry.stem().string());
  for (const auto& e : fs::directory_iterator(CorpusDir())) {
    INFO("file: " << e.path().filename().string());
    const bool is_err = e.path().extension() == ".err";
    CHECK((is_err || e.is_directory() || e.path().extension() == ".yaml"));
    if (is_err) CHECK(stems.count(e.path().stem().string()) == 1);
  }
}

TEST_CASE("a 5 MiB plan file is refused before parsing") {
  ScratchDir plans, io;
  std::string text = "version: 1\nname: huge\nsteps: [{id: a, sql: {up: SELECT 1}}]\n";
  const std::string comment = "# " + std::string(77, 'x') + "\n";
  while (text.size() + comment.size() <= (5u << 20)) text += comment;
  text.resize(5u << 20, '\n');
  std::ofstream(plans.path() / "plan.yaml", std::ios::binary) << text;
  REQUIRE(fs::file_size(plans.path() / "plan.yaml") == 5242880);
  Outcome r = Validate(plans.path(), io.path());
  CHECK(r.exit_code == 2);
  CHECK(r.out.empty());
  CHECK(r.err ==
        "./plan.yaml: error: plan file is 5242880 bytes, over the limit of 4194304; split it "
        "into smaller plans\n");
}

}  // namespace
}  // namespace planrun
