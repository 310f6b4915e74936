// The files source of the `objects` step: glob matching, the scan that lists
// the files under a root (hashed, in byte order of their relative paths), and
// reading a listed file again without following a symbolic link. The scan
// never follows links: a link the glob could reach is listed as refused, so
// nothing outside the root is ever read. Functions are thread-compatible.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "util/status.h"

namespace planrun {

/// One entry of a files source as the scan found it.
struct ScannedFile {
  std::string path;                 // relative to the root, '/'-separated
  std::string name;                 // the last part of path
  int64_t size = 0;                 // bytes
  std::string sha256;               // hex of the content
  std::string mtime;                // last modification, ISO 8601 UTC ("2026-01-02T03:04:05Z")
  std::optional<std::string> json;  // the content (compact) when it parses as JSON
  std::string refused;              // not empty: why the entry is not read (a link, ...)
};

/// What a scan reads of each file.
struct ScanOptions {
  bool read = true;       // open and hash each file; false: list names and sizes only (dry run)
  bool json = false;      // keep the content of a file that parses as JSON (with read)
  int64_t max_bytes = 0;  // a file larger than this is refused; 0: no cap
};

/// Checks a files glob: not empty, relative, no empty, "." or ".." part, and
/// "**" only as a whole part; `*why` completes "the glob ...": "is empty; ...".
bool CheckFilesGlob(const std::string& glob, std::string* why);

/// True when `path` (relative, '/'-separated) matches `glob`: "*", "?" and
/// "[...]" within one part (as fnmatch), "**" any number of parts.
bool GlobMatch(const std::string& glob, const std::string& path);

/// True when a folder at `dir` could hold a path that matches `glob`.
bool GlobCouldEnter(const std::string& glob, const std::string& dir);

/// Lists the entries under `root` (a real path to a folder) that match
/// `glob`, in byte order of path: regular files read as `opts` says; links,
/// other non-regular entries, files larger than max_bytes, unreadable ones,
/// names that are not UTF-8 (their path shows each bad byte as \xNN) and
/// folders that cannot be listed are refused with the reason. A link to a
/// folder the glob could enter is refused too (and not entered). Only a
/// root that cannot be listed is an error.
Status ScanFiles(const std::string& root, const std::string& glob, const ScanOptions& opts,
                 std::vector<ScannedFile>* out);

/// Copies `path` under `root` to `to`, following no symbolic link on the
/// way and opening nothing that blocks (a link or a non-regular file is an
/// error), reading at most `scanned_size` + 1 bytes, and gives the sha256
/// and size of what was copied.
Status CopyFileBeneath(const std::string& root, const std::string& path, int64_t scanned_size,
                       const std::string& to, std::string* sha256, int64_t* size);

/// Splits `list` into runs of at most `max_rows` entries whose values
/// (path, name, refused, JSON) add up to less than `max_bytes` (a run ends
/// with the entry that reaches it): the end index of each run, in order.
std::vector<size_t> ListChunkEnds(const std::vector<ScannedFile>& list, size_t max_rows,
                                  size_t max_bytes);

/// The Content-Type of a file by the extension of `name`
/// ("application/octet-stream" for others).
std::string ContentTypeForName(const std::string& name);

/// Adds to `vars` each of `names` ("json" or "json.a.b") that `json` holds:
/// the whole content for "json"; a field's text for a string, its JSON
/// text for other values. Missing fields, nulls and a missing `json` add
/// nothing (the template then names a NULL).
void AddJsonVars(const std::optional<std::string>& json, const std::vector<std::string>& names,
                 std::map<std::string, std::string>* vars);

/// The real path of a files source root (`root` after env: expansion);
/// `what` names the step in the error about a root that is not a folder.
Status ResolveSourceRoot(const std::string& root, const std::string& what, std::string* out);

}  // namespace planrun
