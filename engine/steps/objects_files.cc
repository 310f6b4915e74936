#include "steps/objects_files.h"

#include <dirent.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <climits>
#include <cstdio>
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

/// True when `s` is valid UTF-8 (no overlong forms, surrogates or code points past U+10FFFF).
bool IsUtf8(const std::string& s) {
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    size_t n;
    uint32_t cp;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      n = 1, cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      n = 2, cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      n = 3, cp = c & 0x07;
    } else {
      return false;
    }
    if (i + n >= s.size()) return false;
    for (size_t k = 1; k <= n; ++k) {
      const unsigned char d = static_cast<unsigned char>(s[i + k]);
      if ((d & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (d & 0x3F);
    }
    const uint32_t min = n == 1 ? 0x80 : n == 2 ? 0x800 : 0x10000;
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += n + 1;
  }
  return true;
}

/// `name` with each byte that is not part of valid UTF-8 written as \xNN.
std::string EscapeName(const std::string& name) {
  std::string out;
  for (size_t i = 0; i < name.size(); ++i) {
    bool valid = false;
    for (size_t len = 1; len <= 4 && i + len <= name.size() && !valid; ++len) {
      if (IsUtf8(name.substr(i, len))) {
        out += name.substr(i, len);
        i += len - 1;
        valid = true;
      }
    }
    if (!valid) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02x", static_cast<unsigned char>(name[i]));
      out += hex;
    }
  }
  return out;
}

/// Reads the open regular file `fd`: hash and size, stopping past `cap`
/// bytes (0: no cap), and with `keep_json`, the JSON content when it
/// parses as JSON. A read error gives the errno text in `*error`.
void HashFile(int fd, int64_t cap, bool keep_json, ScannedFile* f, std::string* error) {
  Sha256 h;
  std::string content;
  char buf[1 << 16];
  ssize_t n = 0;
  int64_t size = 0;
  while ((cap == 0 || size <= cap) && (n = ::read(fd, buf, sizeof buf)) > 0) {
    h.Update(std::string_view(buf, static_cast<size_t>(n)));
    size += n;
    if (keep_json && size <= kMaxJsonBytes) content.append(buf, static_cast<size_t>(n));
  }
  if (n < 0) {
    *error = std::strerror(errno);
    return;
  }
  f->size = size;
  f->sha256 = h.HexDigest();
  if (keep_json && size <= kMaxJsonBytes) {
    const nlohmann::json j = nlohmann::json::parse(content, nullptr, false);
    if (!j.is_discarded())
      f->json = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
}

/// Fills `f` from the regular file `name` in the folder open at `dir`, or
/// sets why it is refused.
void ReadEntry(int dir, const std::string& name, const ScanOptions& opts, ScannedFile* f) {
  const std::string larger = "larger than max_bytes (" + std::to_string(opts.max_bytes) + ")";
  if (opts.max_bytes > 0 && f->size > opts.max_bytes) {
    f->refused = larger;
    return;
  }
  if (!opts.read) return;
  Fd fd(::openat(dir, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  struct stat st;
  if (fd.get() < 0) {
    f->refused = std::string("unreadable: ") + std::strerror(errno);
  } else if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
    f->refused = "not a regular file";
  } else {
    std::string error;
    HashFile(fd.get(), opts.max_bytes, opts.json, f, &error);
    if (!error.empty()) {
      f->refused = "unreadable: " + error;
    } else if (opts.max_bytes > 0 && f->size > opts.max_bytes) {
      f->refused = larger;
    }
  }
  if (!f->refused.empty()) {
    f->sha256.clear();
    f->json.reset();
  }
}

/// Scans the folder open at `dir` (relative path `prefix`, "" or ending in
/// '/'); an error means the folder could not be listed.
Status ScanDir(int dir, const std::string& root, const std::string& prefix, const std::string& glob,
               const ScanOptions& opts, std::vector<ScannedFile>* out) {
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
    const bool matches = GlobMatch(glob, rel);
    ScannedFile f;
    f.path = prefix + EscapeName(name);
    f.name = EscapeName(name);
    const bool utf8 = f.name == name;
    struct stat st;
    if (::fstatat(dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT || !matches) continue;  // gone while listing, or not asked for
      f.refused = std::string("unreadable: ") + std::strerror(errno);
      f.mtime = IsoUtc(timespec{0, 0});
      out->push_back(f);
      continue;
    }
    f.size = st.st_size;
    f.mtime = IsoUtc(st.st_mtim);
    if (S_ISDIR(st.st_mode)) {
      if (!GlobCouldEnter(glob, rel)) continue;
      f.size = 0;
      if (!utf8) {
        f.refused = "a folder whose name is not valid UTF-8; it is not entered";
        out->push_back(f);
        continue;
      }
      Fd sub(::openat(dir, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      const Status listed = sub.get() < 0 ? Status::Io(Errno("cannot open " + root + "/" + rel))
                                          : ScanDir(sub.get(), root, rel + "/", glob, opts, out);
      if (!listed.ok()) {
        f.refused = "a folder that cannot be listed (" + listed.message() + ")";
        out->push_back(f);
      }
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
      if (!utf8) {
        f.refused = "a file whose name is not valid UTF-8";
      } else {
        ReadEntry(dir, name, opts, &f);
      }
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

Status ScanFiles(const std::string& root, const std::string& glob, const ScanOptions& opts,
                 std::vector<ScannedFile>* out) {
  out->clear();
  Fd dir(::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir.get() < 0) return Status::Io(Errno("cannot open " + root));
  PLANRUN_RETURN_IF_ERROR(ScanDir(dir.get(), root, "", glob, opts, out));
  std::stable_sort(out->begin(), out->end(),
                   [](const ScannedFile& a, const ScannedFile& b) { return a.path < b.path; });
  // A name written with \xNN could equal a real one: the path is the list's key.
  out->erase(
      std::unique(out->begin(), out->end(),
                  [](const ScannedFile& a, const ScannedFile& b) { return a.path == b.path; }),
      out->end());
  return Status::OK();
}

Status CopyFileBeneath(const std::string& root, const std::string& path, int64_t scanned_size,
                       const std::string& to, std::string* sha256, int64_t* size) {
  Fd dir(::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir.get() < 0) return Status::Io(Errno("cannot open " + root));
  const std::vector<std::string> parts = Split(path, '/');
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    const int sub =
        ::openat(dir.get(), parts[i].c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (sub < 0) return Status::Io(Errno("cannot open " + path));
    dir.reset(sub);
  }
  Fd in(::openat(dir.get(), parts.back().c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  if (in.get() < 0) return Status::Io(Errno("cannot read " + path));
  struct stat st;
  if (::fstat(in.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return Status::Io("cannot read " + path + ": not a regular file");
  }
  Fd out(::open(to.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (out.get() < 0) return Status::Io(Errno("cannot write " + to));
  Sha256 h;
  char buf[1 << 16];
  ssize_t n = 0;
  *size = 0;
  while (*size <= scanned_size) {
    const int64_t want = std::min<int64_t>(sizeof buf, scanned_size + 1 - *size);
    if ((n = ::read(in.get(), buf, static_cast<size_t>(want))) <= 0) break;
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

std::vector<size_t> ListChunkEnds(const std::vector<ScannedFile>& list, size_t max_rows,
                                  size_t max_bytes) {
  std::vector<size_t> ends;
  size_t rows = 0, bytes = 0;
  for (size_t i = 0; i < list.size(); ++i) {
    const ScannedFile& f = list[i];
    ++rows;
    bytes += f.path.size() + f.name.size() + f.refused.size() + (f.json ? f.json->size() : 0);
    if (rows == max_rows || bytes >= max_bytes || i + 1 == list.size()) {
      ends.push_back(i + 1);
      rows = bytes = 0;
    }
  }
  return ends;
}

std::string ContentTypeForName(const std::string& name) {
  static const std::map<std::string, std::string> kTypes = {
      {"css", "text/css"},         {"gif", "image/gif"},         {"gz", "application/gzip"},
      {"html", "text/html"},       {"jpeg", "image/jpeg"},       {"jpg", "image/jpeg"},
      {"js", "text/javascript"},   {"json", "application/json"}, {"pdf", "application/pdf"},
      {"png", "image/png"},        {"svg", "image/svg+xml"},     {"tar", "application/x-tar"},
      {"tgz", "application/gzip"}, {"txt", "text/plain"},        {"webp", "image/webp"},
      {"zip", "application/zip"}};
  const size_t dot = name.rfind('.');
  std::string ext = dot == std::string::npos ? "" : name.substr(dot + 1);
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  auto it = kTypes.find(ext);
  return it == kTypes.end() ? "application/octet-stream" : it->second;
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
