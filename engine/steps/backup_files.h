// Files of a backup step with `to: <dir>`: one COPY text file per table and a
// metadata.json describing them, all written atomically (a temp file, fsync,
// rename, fsync of the directory), so a crash or a full disk never leaves a
// file that looks complete but is not. Not thread-safe per object.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "steps/table_info.h"
#include "util/status.h"

namespace planrun {

/// A file written under "<path>.tmp" and renamed to `path` by Commit; the
/// temp file is removed when the object dies uncommitted.
class AtomicFile {
 public:
  /// Creates the temp file (and truncates an old one).
  static Status Create(const std::string& path, std::unique_ptr<AtomicFile>* out);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  /// Appends `bytes`.
  Status Write(std::string_view bytes);
  /// fsync, close, rename over `path`, fsync the directory.
  Status Commit();

 private:
  AtomicFile(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  Status Fail(const std::string& what) const;
  std::string path_;
  int fd_ = -1;
  bool committed_ = false;
};

/// Writes `text` to `path` atomically.
Status WriteFileAtomically(const std::string& path, std::string_view text);

/// Reads a file in pieces of up to 1 MiB.
class FileReader {
 public:
  /// Opens `path` for reading.
  static Status Open(const std::string& path, std::unique_ptr<FileReader>* out);
  ~FileReader();
  FileReader(const FileReader&) = delete;
  FileReader& operator=(const FileReader&) = delete;

  /// Appends the next piece to *chunk; sets *eof (and appends nothing) at the end.
  Status Next(std::string* chunk, bool* eof);

 private:
  FileReader(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  std::string path_;
  int fd_ = -1;
};

/// Calls `on_chunk` with the content of `path`, piece by piece.
Status ReadFileChunks(const std::string& path,
                      const std::function<Status(std::string_view)>& on_chunk);

/// One table in metadata.json.
struct BackupFileEntry {
  std::string table;  // TableName::Key(), e.g. "public.packages"
  std::string file;   // file name inside the version directory
  int64_t rows = 0;
  std::string sha256;    // of the file
  std::string checksum;  // TableChecksum of the table when it was saved
  /// Every column of the table then, in order; COPY wrote the non-generated ones.
  std::vector<ColumnInfo> columns;
};

/// The content of metadata.json.
struct BackupMetadata {
  std::string plan;     // plan name
  std::string version;  // plan version
  std::string step_id;
  std::string created_at;  // UTC, ISO 8601
  std::vector<BackupFileEntry> tables;
};

/// metadata.json text for `m` (pretty-printed).
std::string MetadataJson(const BackupMetadata& m);

/// Parses metadata.json text; `path` names the file in errors.
Status ParseMetadataJson(const std::string& path, const std::string& text, BackupMetadata* out);

/// The current time, UTC, as "2026-11-21T19:40:00Z".
std::string UtcNow();

}  // namespace planrun
