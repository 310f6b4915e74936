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

/// Checks a files glob: not empty, relative, no empty, "." or ".." part, and
/// "**" only as a whole part; `*why` completes "the glob ...": "is empty; ...".
bool CheckFilesGlob(const std::string& glob, std::string* why);

/// True when `path` (relative, '/'-separated) matches `glob`: "*", "?" and
/// "[...]" within one part (as fnmatch), "**" any number of parts.
bool GlobMatch(const std::string& glob, const std::string& path);

/// True when a folder at `dir` could hold a path that matches `glob`.
bool GlobCouldEnter(const std::string& glob, const std::string& dir);

/// Lists the entries under `root` (a real path to a folder) that match
/// `glob`, in byte order of path: regular files hashed and parsed, links
/// and other non-regular entries refused with the reason. A link to a
/// folder the glob could enter is refused too (and not entered).
Status ScanFiles(const std::string& root, const std::string& glob, std::vector<ScannedFile>* out);

/// Copies `path` under `root` to `to`, following no symbolic link on the
/// way (a link or a non-regular file is an error), and gives the sha256
/// and size of what was copied.
Status CopyFileBeneath(const std::string& root, const std::string& path, const std::string& to,
                       std::string* sha256, int64_t* size);

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
