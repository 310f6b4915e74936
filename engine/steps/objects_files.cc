#include "steps/objects_files.h"

#include <dirent.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <nlohmann/json.hpp>

#include "steps/objects_spec.h"
#include "util/sha256.h"
#include "util/strings.h"

namespace planrun {

namespace {

/// Files up to this size are also tried as JSON.
constexpr int64_t kMaxJsonBytes = 16 << 20;

std::string Errno(const std::string& what) { return what + ": " + std::strerror(errno); }

/// Closes a file descriptor when it goes out of scope.
class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  /// Closes the one held and holds `fd` instead.
  void reset(int fd) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_;
};

/// GlobMatch over parts: glob parts from `gi` against path parts from `pi`.
bool MatchParts(const std::vector<std::string>& g, size_t gi, const std::vector<std::string>& p,
                size_t pi) {
  if (gi == g.size()) return pi == p.size();
  if (g[gi] == "**") {
    for (size_t k = pi; k <= p.size(); ++k) {
      if (MatchParts(g, gi + 1, p, k)) return true;
    }
    return false;
  }
  return pi < p.size() && ::fnmatch(g[gi].c_str(), p[pi].c_str(), 0) == 0 &&
         MatchParts(g, gi + 1, p, pi + 1);
}

/// GlobCouldEnter over parts.
bool EnterParts(const std::vector<std::string>& g, size_t gi, const std::vector<std::string>& p,
                size_t pi) {
  if (gi == g.size()) return false;
  if (g[gi] == "**") return true;
  if (pi == p.size()) return true;
  return ::fnmatch(g[gi].c_str(), p[pi].c_str(), 0) == 0 && EnterParts(g, gi + 1, p, pi + 1);
}

/// "2026-01-02T03:04:05Z".
std::string IsoUtc(const struct timespec& t) {
  struct tm tm;
  ::gmtime_r(&t.tv_sec, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

/// Reads the open regular file `fd` to its end: hash, size, and the JSON
/// content when it parses as JSON.
Status HashFile(int fd, const std::string& shown, ScannedFile* f) {
  Sha256 h;
  std::string content;
  char buf[1 << 16];
  ssize_t n;
  int64_t size = 0;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) {
    h.Update(std::string_view(buf, static_cast<size_t>(n)));
    size += n;
    if (size <= kMaxJsonBytes) content.append(buf, static_cast<size_t>(n));
  }
  if (n < 0) return Status::Io(Errno("cannot read " + shown));
  f->size = size;
  f->sha256 = h.HexDigest();
  if (size <= kMaxJsonBytes) {
    const nlohmann::json j = nlohmann::json::parse(content, nullptr, false);
    if (!j.is_discarded())
      f->json = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  return Status::OK();
}

/// Scans the folder open at `dir` (relative path `prefix`, "" or ending in '/').
Status ScanDir(int dir, const std::string& root, const std::string& prefix, const std::string& glob,
               std::vector<ScannedFile>* out) {
  const int dup = ::dup(dir);
  DIR* d = dup < 0 ? nullptr : ::fdopendir(dup);
  if (!d) {
    if (dup >= 0) ::close(dup);
    return Status::Io(Errno("cannot list " + root + "/" + prefix));
  }
  std::vector<std::string> names;
  errno = 0;
  while (struct dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (name != "." && name != "..") names.push_back(name);
  }
  const int read_errno = errno;
  ::closedir(d);
  if (read_errno != 0) {
    errno = read_errno;
    return Status::Io(Errno("cannot list " + root + "/" + prefix));
  }
  std::sort(names.begin(), names.end());
  for (const std::string& name : names) {
    const std::string rel = prefix + name;
    struct stat st;
    if (::fstatat(dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT) continue;  // gone while listing
      return Status::Io(Errno("cannot stat " + root + "/" + rel));
    }
    const bool matches = GlobMatch(glob, rel);
    ScannedFile f;
    f.path = rel;
    f.name = name;
    f.size = st.st_size;
    f.mtime = IsoUtc(st.st_mtim);
    if (S_ISDIR(st.st_mode)) {
      if (!GlobCouldEnter(glob, rel)) continue;
      Fd sub(::openat(dir, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (sub.get() < 0) return Status::Io(Errno("cannot open " + root + "/" + rel));
      PLANRUN_RETURN_IF_ERROR(ScanDir(sub.get(), root, rel + "/", glob, out));
    } else if (S_ISLNK(st.st_mode)) {
      // Only looked at, never read or entered: a link is listed when its
      // path matches, or when it leads to a folder the glob could enter.
      struct stat target;
      const bool to_dir = ::fstatat(dir, name.c_str(), &target, 0) == 0 && S_ISDIR(target.st_mode);
      if (!matches && !(to_dir && GlobCouldEnter(glob, rel))) continue;
      f.refused = "a symbolic link; a files source never follows links";
      out->push_back(f);
    } else if (S_ISREG(st.st_mode)) {
      if (!matches) continue;
      Fd fd(::openat(dir, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
      if (fd.get() < 0) return Status::Io(Errno("cannot read " + root + "/" + rel));
      PLANRUN_RETURN_IF_ERROR(HashFile(fd.get(), root + "/" + rel, &f));
      out->push_back(f);
    } else if (matches) {
      f.refused = "not a regular file";
      out->push_back(f);
    }
  }
  return Status::OK();
}

}  // namespace

bool CheckFilesGlob(const std::string& glob, std::string* why) {
  if (glob.empty()) {
    *why = "is empty; write one relative to 'root', like packages/**/*.taptik";
    return false;
  }
  if (glob[0] == '/') {
    *why = "is absolute; write it relative to 'root'";
    return false;
  }
  for (const std::string& part : Split(glob, '/')) {
    if (part.empty() || part == "." || part == "..") {
      *why = "has an empty, '.' or '..' part; it must stay inside 'root'";
      return false;
    }
    if (part != "**" && part.find("**") != std::string::npos) {
      *why = "has '**' inside a part; '**' must be a whole part, as in a/**/b";
      return false;
    }
  }
  return true;
}

bool GlobMatch(const std::string& glob, const std::string& path) {
  return MatchParts(Split(glob, '/'), 0, Split(path, '/'), 0);
}

bool GlobCouldEnter(const std::string& glob, const std::string& dir) {
  return EnterParts(Split(glob, '/'), 0, Split(dir, '/'), 0);
}

Status ScanFiles(const std::string& root, const std::string& glob, std::vector<ScannedFile>* out) {
  out->clear();
  Fd dir(::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir.get() < 0) return Status::Io(Errno("cannot open " + root));
  PLANRUN_RETURN_IF_ERROR(ScanDir(dir.get(), root, "", glob, out));
  std::sort(out->begin(), out->end(),
            [](const ScannedFile& a, const ScannedFile& b) { return a.path < b.path; });
  return Status::OK();
}

Status CopyFileBeneath(const std::string& root, const std::string& path, const std::string& to,
                       std::string* sha256, int64_t* size) {
  Fd dir(::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir.get() < 0) return Status::Io(Errno("cannot open " + root));
  const std::vector<std::string> parts = Split(path, '/');
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    const int sub =
        ::openat(dir.get(), parts[i].c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (sub < 0) return Status::Io(Errno("cannot open " + path));
    dir.reset(sub);
  }
  Fd in(::openat(dir.get(), parts.back().c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (in.get() < 0) return Status::Io(Errno("cannot read " + path));
  struct stat st;
  if (::fstat(in.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return Status::Io("cannot read " + path + ": not a regular file");
  }
  Fd out(::open(to.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (out.get() < 0) return Status::Io(Errno("cannot write " + to));
  Sha256 h;
  char buf[1 << 16];
  ssize_t n;
  *size = 0;
  while ((n = ::read(in.get(), buf, sizeof buf)) > 0) {
    h.Update(std::string_view(buf, static_cast<size_t>(n)));
    if (::write(out.get(), buf, static_cast<size_t>(n)) != n) {
      return Status::Io(Errno("cannot write " + to));
    }
    *size += n;
  }
  if (n < 0) return Status::Io(Errno("cannot read " + path));
  *sha256 = h.HexDigest();
  return Status::OK();
}

void AddJsonVars(const std::optional<std::string>& json, const std::vector<std::string>& names,
                 std::map<std::string, std::string>* vars) {
  if (!json || names.empty()) return;
  const nlohmann::json doc = nlohmann::json::parse(*json, nullptr, false);
  if (doc.is_discarded()) return;
  for (const std::string& name : names) {
    const std::vector<std::string> path = Split(name, '.');
    const nlohmann::json* v = &doc;
    for (size_t i = 1; v && i < path.size(); ++i) {
      if (v->is_object()) {
        auto it = v->find(path[i]);
        v = it == v->end() ? nullptr : &*it;
      } else if (v->is_array() && !path[i].empty() &&
                 std::all_of(path[i].begin(), path[i].end(),
                             [](char c) { return c >= '0' && c <= '9'; }) &&
                 path[i].size() < 9 && std::stoul(path[i]) < v->size()) {
        v = &(*v)[std::stoul(path[i])];
      } else {
        v = nullptr;
      }
    }
    if (!v || v->is_null()) continue;
    (*vars)[name] = v->is_string() && path.size() > 1
                        ? v->get<std::string>()
                        : v->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
}

Status ResolveSourceRoot(const std::string& root, const std::string& what, std::string* out) {
  std::string path;
  PLANRUN_RETURN_IF_ERROR(ExpandEnv(root, what + ": 'from.root'", &path));
  char real[PATH_MAX];
  struct stat st;
  if (!::realpath(path.c_str(), real) || ::stat(real, &st) != 0 || !S_ISDIR(st.st_mode)) {
    return Status::Failed(what + ": 'from.root' " + path +
                          " is not a folder; create it or fix the setting");
  }
  *out = real;
  return Status::OK();
}

}  // namespace planrun
