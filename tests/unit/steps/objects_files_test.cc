#include "steps/objects_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "util/sha256.h"

namespace planrun {
namespace {

namespace fs = std::filesystem;

/// A fresh folder, removed with its content at the end of the test.
class Folder {
 public:
  Folder() {
    std::string tmpl = (fs::temp_directory_path() / "objects_files_test.XXXXXX").string();
    REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    path_ = fs::canonical(tmpl).string();
  }
  ~Folder() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  /// Writes `rel` (creating its folders) with `content`.
  void Write(const std::string& rel, const std::string& content) const {
    fs::create_directories(fs::path(path_ + "/" + rel).parent_path());
    std::ofstream(path_ + "/" + rel, std::ios::binary) << content;
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::vector<std::string> Paths(const std::vector<ScannedFile>& files) {
  std::vector<std::string> out;
  for (const auto& f : files) out.push_back(f.path);
  return out;
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST_CASE("globs match within a part with * ? [..], across parts with **") {
  CHECK(GlobMatch("packages/**/*.taptik", "packages/a.taptik"));
  CHECK(GlobMatch("packages/**/*.taptik", "packages/x/y/z.taptik"));
  CHECK_FALSE(GlobMatch("packages/**/*.taptik", "other/a.taptik"));
  CHECK_FALSE(GlobMatch("packages/**/*.taptik", "packages/a.taptik.bak"));
  CHECK_FALSE(GlobMatch("packages/*.taptik", "packages/x/a.taptik"));
  CHECK(GlobMatch("*.json", ".hidden.json"));
  CHECK(GlobMatch("v?/[ab]*", "v1/beta"));
  CHECK_FALSE(GlobMatch("v?/[ab]*", "v10/beta"));
  CHECK(GlobMatch("**", "a/b/c"));
  CHECK(GlobMatch("a/**", "a/b"));
  CHECK_FALSE(GlobMatch("a/**", "b/a"));
  CHECK(GlobCouldEnter("packages/**/*.taptik", "packages"));
  CHECK(GlobCouldEnter("packages/**/*.taptik", "packages/deep/er"));
  CHECK_FALSE(GlobCouldEnter("packages/**/*.taptik", "docs"));
  CHECK(GlobCouldEnter("a/b/*.x", "a"));
  CHECK(GlobCouldEnter("a/b/*.x", "a/b"));
  CHECK_FALSE(GlobCouldEnter("a/b/*.x", "a/b/c"));
}

TEST_CASE("a files glob must be relative, inside root, with ** as a whole part") {
  std::string why;
  CHECK(CheckFilesGlob("packages/**/*.taptik", &why));
  CHECK_FALSE(CheckFilesGlob("", &why));
  CHECK(why == "is empty; write one relative to 'root', like packages/**/*.taptik");
  CHECK_FALSE(CheckFilesGlob("/srv/*.taptik", &why));
  CHECK(why == "is absolute; write it relative to 'root'");
  CHECK_FALSE(CheckFilesGlob("packages/../*.taptik", &why));
  CHECK(why == "has an empty, '.' or '..' part; it must stay inside 'root'");
  CHECK_FALSE(CheckFilesGlob("a//b", &why));
  CHECK_FALSE(CheckFilesGlob("a/**.taptik", &why));
  CHECK(why == "has '**' inside a part; '**' must be a whole part, as in a/**/b");
}

TEST_CASE("a scan lists matching files in byte order with size, sha256, mtime and JSON") {
  Folder root;
  root.Write("packages/b.taptik", "{\"name\": \"b\", \"meta\": {\"platform\": \"linux\"}}");
  root.Write("packages/a/z.taptik", "binary\x01\x02");
  root.Write("packages/B.taptik", "[1, 2]");
  root.Write("packages/a.taptik.bak", "not matched");
  root.Write("docs/c.taptik", "not under packages");
  const std::string a = root.path() + "/packages/a/z.taptik";
  struct timespec times[2] = {{1700000000, 0}, {1700000000, 0}};
  REQUIRE(::utimensat(AT_FDCWD, a.c_str(), times, 0) == 0);
  std::vector<ScannedFile> files;
  ScanOptions with_json;
  with_json.json = true;
  REQUIRE(ScanFiles(root.path(), "packages/**/*.taptik", with_json, &files).ok());
  // Byte order: 'B' (0x42) < 'a' (0x61), and "a/z" < "b".
  CHECK(Paths(files) ==
        std::vector<std::string>{"packages/B.taptik", "packages/a/z.taptik", "packages/b.taptik"});
  const ScannedFile& z = files[1];
  CHECK(z.name == "z.taptik");
  CHECK(z.size == 8);
  CHECK(z.sha256 == Sha256Hex("binary\x01\x02"));
  CHECK(z.mtime == "2023-11-14T22:13:20Z");
  CHECK_FALSE(z.json.has_value());
  CHECK(z.refused.empty());
  REQUIRE(files[2].json.has_value());
  CHECK(*files[2].json == "{\"meta\":{\"platform\":\"linux\"},\"name\":\"b\"}");
  CHECK(*files[0].json == "[1,2]");

  // Without a template that names {json...}, no content is kept.
  REQUIRE(ScanFiles(root.path(), "packages/**/*.taptik", ScanOptions(), &files).ok());
  CHECK(files[2].sha256 == Sha256Hex("{\"name\": \"b\", \"meta\": {\"platform\": \"linux\"}}"));
  CHECK_FALSE(files[2].json.has_value());
  CHECK_FALSE(files[0].json.has_value());

  // The dry run lists only: no file is opened.
  ScanOptions listing;
  listing.read = false;
  listing.json = true;
  REQUIRE(ScanFiles(root.path(), "packages/**/*.taptik", listing, &files).ok());
  CHECK(Paths(files) ==
        std::vector<std::string>{"packages/B.taptik", "packages/a/z.taptik", "packages/b.taptik"});
  CHECK(files[1].size == 8);
  CHECK(files[1].sha256.empty());
  CHECK_FALSE(files[2].json.has_value());
}

TEST_CASE("a name that is not UTF-8, a file over max_bytes, an unreadable one are refused") {
  Folder root;
  root.Write("packages/caf\xc3\xa9.taptik", "utf8");
  root.Write("packages/bad\xff\xfe.taptik", "latin-1 name");
  root.Write("packages/big.taptik", "0123456789");
  root.Write("packages/small.taptik", "0123");
  root.Write("packages/\xe9t\xe9/x.taptik", "in a folder named in latin-1");
  ScanOptions opts;
  opts.max_bytes = 9;
  std::vector<ScannedFile> files;
  REQUIRE(ScanFiles(root.path(), "packages/**/*.taptik", opts, &files).ok());
  CHECK(Paths(files) ==
        std::vector<std::string>{"packages/\\xe9t\\xe9", "packages/bad\\xff\\xfe.taptik",
                                 "packages/big.taptik", "packages/caf\xc3\xa9.taptik",
                                 "packages/small.taptik"});
  CHECK(files[0].refused == "a folder whose name is not valid UTF-8; it is not entered");
  CHECK(files[1].name == "bad\\xff\\xfe.taptik");
  CHECK(files[1].refused == "a file whose name is not valid UTF-8");
  CHECK(files[1].sha256.empty());
  CHECK(files[2].refused == "larger than max_bytes (9)");
  CHECK(files[2].sha256.empty());
  CHECK(files[3].refused.empty());
  CHECK(files[3].sha256 == Sha256Hex("utf8"));
  CHECK(files[4].refused.empty());
  CHECK(files[4].size == 4);

  // A listing-only scan refuses by the listed size too.
  opts.read = false;
  REQUIRE(ScanFiles(root.path(), "packages/**/*.taptik", opts, &files).ok());
  CHECK(files[2].refused == "larger than max_bytes (9)");
  CHECK(files[4].refused.empty());
}

/// Scans `root` as the user nobody when run as root (root reads whatever
/// the mode says), as the current user otherwise: "path|refused|sha256" lines.
std::string ScanWithoutRoot(const std::string& root, const std::string& glob) {
  auto scan = [&] {
    std::vector<ScannedFile> files;
    const Status st = ScanFiles(root, glob, ScanOptions(), &files);
    std::string out = st.ok() ? "" : "error: " + st.message() + "\n";
    for (const auto& f : files) out += f.path + "|" + f.refused + "|" + f.sha256 + "\n";
    return out;
  };
  if (::geteuid() != 0) return scan();
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::close(fds[0]);
    if (::setgid(65534) != 0 || ::setuid(65534) != 0) ::_exit(2);
    const std::string out = scan();
    const bool written =
        ::write(fds[1], out.data(), out.size()) == static_cast<ssize_t>(out.size());
    ::_exit(written ? 0 : 3);
  }
  ::close(fds[1]);
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fds[0], buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  ::close(fds[0]);
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
  return out;
}

TEST_CASE("an unreadable file or folder is refused and the scan goes on") {
  Folder root;
  root.Write("packages/locked.taptik", "secret");
  root.Write("packages/sealed/x.taptik", "sealed");
  root.Write("packages/open.taptik", "open");
  for (const char* rel : {"", "/packages", "/packages/open.taptik"}) {
    REQUIRE(::chmod((root.path() + rel).c_str(), 0755) == 0);
  }
  REQUIRE(::chmod((root.path() + "/packages/locked.taptik").c_str(), 0) == 0);
  REQUIRE(::chmod((root.path() + "/packages/sealed").c_str(), 0) == 0);
  const std::string listed = ScanWithoutRoot(root.path(), "packages/**/*.taptik");
  REQUIRE(::chmod((root.path() + "/packages/sealed").c_str(), 0700) == 0);
  CHECK(listed ==
        "packages/locked.taptik|unreadable: Permission denied|\n"
        "packages/open.taptik||" +
            Sha256Hex("open") +
            "\n"
            "packages/sealed|a folder that cannot be listed (cannot open " +
            root.path() + "/packages/sealed: Permission denied)|\n");
}

TEST_CASE("a copy opens no pipe and reads no more than the scanned size + 1") {
  Folder root;
  root.Write("packages/grown.taptik", "0123456789");
  REQUIRE(::mkfifo((root.path() + "/packages/pipe.taptik").c_str(), 0600) == 0);
  const std::string tmp = root.path() + "/copy";
  std::string sha;
  int64_t size = 0;
  // A path swapped for a FIFO after the scan: refused at once, no wait for a writer.
  CHECK(CopyFileBeneath(root.path(), "packages/pipe.taptik", 4, tmp, &sha, &size).message() ==
        "cannot read packages/pipe.taptik: not a regular file");
  REQUIRE(CopyFileBeneath(root.path(), "packages/grown.taptik", 4, tmp, &sha, &size).ok());
  CHECK(size == 5);
  CHECK(ReadAll(tmp) == "01234");
  CHECK(sha == Sha256Hex("01234"));
  REQUIRE(CopyFileBeneath(root.path(), "packages/grown.taptik", 10, tmp, &sha, &size).ok());
  CHECK(size == 10);
  CHECK(sha == Sha256Hex("0123456789"));
}

TEST_CASE("the list goes in by runs of at most N rows and under M bytes of values") {
  auto entry = [](const std::string& path, size_t json_bytes) {
    ScannedFile f;
    f.path = path;
    f.name = path;
    if (json_bytes > 0) f.json = std::string(json_bytes, '1');
    return f;
  };
  // Values: 2 + 2 + json bytes each.
  const std::vector<ScannedFile> list = {entry("a", 0),   entry("b", 96), entry("c", 0),
                                         entry("d", 0),   entry("e", 0),  entry("f", 0),
                                         entry("g", 300), entry("h", 0)};
  CHECK(ListChunkEnds(list, 3, 100) == std::vector<size_t>{2, 5, 7, 8});
  CHECK(ListChunkEnds(list, 500, 1 << 20) == std::vector<size_t>{8});
  CHECK(ListChunkEnds(list, 1, 1 << 20) == std::vector<size_t>{1, 2, 3, 4, 5, 6, 7, 8});
  CHECK(ListChunkEnds({}, 500, 100).empty());
}

TEST_CASE("a file's Content-Type comes from its extension") {
  CHECK(ContentTypeForName("a.png") == "image/png");
  CHECK(ContentTypeForName("A.JPG") == "image/jpeg");
  CHECK(ContentTypeForName("b.jpeg") == "image/jpeg");
  CHECK(ContentTypeForName("x.tar.gz") == "application/gzip");
  CHECK(ContentTypeForName("x.tgz") == "application/gzip");
  CHECK(ContentTypeForName("data.json") == "application/json");
  CHECK(ContentTypeForName("logo.svg") == "image/svg+xml");
  CHECK(ContentTypeForName("pkg.taptik") == "application/octet-stream");
  CHECK(ContentTypeForName("README") == "application/octet-stream");
}

TEST_CASE("links are refused, never followed, even into a folder outside root") {
  Folder root, outside;
  outside.Write("secret.taptik", "secret");
  outside.Write("deep/x.taptik", "outside");
  root.Write("packages/real.taptik", "real");
  REQUIRE(::symlink((outside.path() + "/secret.taptik").c_str(),
                    (root.path() + "/packages/link.taptik").c_str()) == 0);
  REQUIRE(::symlink((outside.path() + "/deep").c_str(), (root.path() + "/packages/dir").c_str()) ==
          0);
  REQUIRE(::symlink("real.taptik", (root.path() + "/packages/inside.txt").c_str()) == 0);
  REQUIRE(::mkfifo((root.path() + "/packages/pipe.taptik").c_str(), 0600) == 0);
  std::vector<ScannedFile> files;
  REQUIRE(ScanFiles(root.path(), "packages/**/*.taptik", ScanOptions(), &files).ok());
  CHECK(Paths(files) == std::vector<std::string>{"packages/dir", "packages/link.taptik",
                                                 "packages/pipe.taptik", "packages/real.taptik"});
  CHECK(files[0].refused == "a symbolic link; a files source never follows links");
  CHECK(files[1].refused == "a symbolic link; a files source never follows links");
  CHECK(files[1].sha256.empty());
  CHECK(files[2].refused == "not a regular file");
  CHECK(files[3].refused.empty());

  // Reading a listed path again follows no link either.
  const std::string tmp = root.path() + "/copy";
  std::string sha;
  int64_t size = 0;
  REQUIRE(CopyFileBeneath(root.path(), "packages/real.taptik", 4, tmp, &sha, &size).ok());
  CHECK(ReadAll(tmp) == "real");
  CHECK((sha == Sha256Hex("real") && size == 4));
  CHECK(CopyFileBeneath(root.path(), "packages/link.taptik", 6, tmp, &sha, &size).message() ==
        "cannot read packages/link.taptik: Too many levels of symbolic links");
  CHECK(CopyFileBeneath(root.path(), "packages/dir/x.taptik", 7, tmp, &sha, &size).message() ==
        "cannot open packages/dir/x.taptik: Not a directory");
}

TEST_CASE("JSON fields: strings as text, other values as JSON, missing ones absent") {
  const std::optional<std::string> json =
      "{\"name\":\"pkg\",\"version\":3,\"tags\":[\"a\",\"b\"],\"meta\":{\"os\":\"linux\",\"x\":"
      "null},\"ok\":true}";
  std::map<std::string, std::string> vars;
  AddJsonVars(json,
              {"json.name", "json.version", "json.tags", "json.tags.1", "json.meta.os",
               "json.meta.x", "json.missing", "json.name.deeper", "json.ok"},
              &vars);
  CHECK(vars == std::map<std::string, std::string>{{"json.name", "pkg"},
                                                   {"json.version", "3"},
                                                   {"json.tags", "[\"a\",\"b\"]"},
                                                   {"json.tags.1", "b"},
                                                   {"json.meta.os", "linux"},
                                                   {"json.ok", "true"}});
  vars.clear();
  AddJsonVars(std::string("\"just text\""), {"json", "json.a"}, &vars);
  CHECK(vars == std::map<std::string, std::string>{{"json", "\"just text\""}});
  vars.clear();
  AddJsonVars(std::nullopt, {"json.name"}, &vars);
  CHECK(vars.empty());
}

TEST_CASE("a files source root must be a folder; env: names it") {
  Folder root;
  setenv("PLANRUN_T_PACKAGES", root.path().c_str(), 1);
  std::string real;
  REQUIRE(ResolveSourceRoot("env:PLANRUN_T_PACKAGES", "objects step up", &real).ok());
  CHECK(real == root.path());
  root.Write("file", "x");
  CHECK(ResolveSourceRoot(root.path() + "/file", "objects step up", &real).message() ==
        "objects step up: 'from.root' " + root.path() +
            "/file is not a folder; create it or fix the setting");
  unsetenv("PLANRUN_T_UNSET_ROOT");
  CHECK(ResolveSourceRoot("env:PLANRUN_T_UNSET_ROOT", "objects step up", &real).message() ==
        "objects step up: 'from.root' reads the environment variable PLANRUN_T_UNSET_ROOT, which "
        "is not set");
}

}  // namespace
}  // namespace planrun
