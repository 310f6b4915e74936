#include "steps/backup_files.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <nlohmann/json.hpp>

namespace planrun {

namespace {

/// Size of the pieces ReadFileChunks hands out.
constexpr size_t kChunkBytes = 1 << 20;

std::string Errno() { return std::strerror(errno); }

Status SyncDirectory(const std::string& file) {
  std::string dir = std::filesystem::path(file).parent_path().string();
  if (dir.empty()) dir = ".";
  int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) return Status::Io("cannot open directory " + dir + ": " + Errno());
  int rc = fsync(fd);
  std::string err = rc != 0 ? Errno() : "";
  close(fd);
  if (rc != 0) return Status::Io("cannot sync directory " + dir + ": " + err);
  return Status::OK();
}

}  // namespace

Status AtomicFile::Create(const std::string& path, std::unique_ptr<AtomicFile>* out) {
  std::string tmp = path + ".tmp";
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Status::Io("cannot create " + tmp + ": " + Errno());
  out->reset(new AtomicFile(path, fd));
  return Status::OK();
}

AtomicFile::~AtomicFile() {
  if (fd_ >= 0) close(fd_);
  if (!committed_) unlink((path_ + ".tmp").c_str());
}

Status AtomicFile::Fail(const std::string& what) const {
  return Status::Io("cannot " + what + " " + path_ + ".tmp: " + Errno());
}

Status AtomicFile::Write(std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = write(fd_, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Fail("write");
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return Status::OK();
}

Status AtomicFile::Commit() {
  if (fsync(fd_) != 0) return Fail("sync");
  int rc = close(fd_);
  fd_ = -1;
  if (rc != 0) return Fail("close");
  if (rename((path_ + ".tmp").c_str(), path_.c_str()) != 0) {
    return Status::Io("cannot rename " + path_ + ".tmp to " + path_ + ": " + Errno());
  }
  committed_ = true;
  return SyncDirectory(path_);
}

Status WriteFileAtomically(const std::string& path, std::string_view text) {
  std::unique_ptr<AtomicFile> f;
  PLANRUN_RETURN_IF_ERROR(AtomicFile::Create(path, &f));
  PLANRUN_RETURN_IF_ERROR(f->Write(text));
  return f->Commit();
}

Status FileReader::Open(const std::string& path, std::unique_ptr<FileReader>* out) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::Io("cannot open " + path + ": " + Errno());
  out->reset(new FileReader(path, fd));
  return Status::OK();
}

FileReader::~FileReader() { close(fd_); }

Status FileReader::Next(std::string* chunk, bool* eof) {
  const size_t old_size = chunk->size();
  chunk->resize(old_size + kChunkBytes);
  for (;;) {
    ssize_t n = read(fd_, chunk->data() + old_size, kChunkBytes);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      chunk->resize(old_size);
      return Status::Io("cannot read " + path_ + ": " + Errno());
    }
    chunk->resize(old_size + static_cast<size_t>(n));
    *eof = n == 0;
    return Status::OK();
  }
}

Status ReadFileChunks(const std::string& path,
                      const std::function<Status(std::string_view)>& on_chunk) {
  std::unique_ptr<FileReader> reader;
  PLANRUN_RETURN_IF_ERROR(FileReader::Open(path, &reader));
  std::string chunk;
  for (;;) {
    chunk.clear();
    bool eof = false;
    PLANRUN_RETURN_IF_ERROR(reader->Next(&chunk, &eof));
    if (eof) return Status::OK();
    PLANRUN_RETURN_IF_ERROR(on_chunk(chunk));
  }
}

std::string MetadataJson(const BackupMetadata& m) {
  nlohmann::json tables = nlohmann::json::array();
  for (const BackupFileEntry& e : m.tables) {
    nlohmann::json columns = nlohmann::json::array();
    for (const ColumnInfo& c : e.columns) {
      columns.push_back({{"name", c.name}, {"type", c.type}, {"generated", c.generated}});
    }
    tables.push_back({{"table", e.table},
                      {"file", e.file},
                      {"rows", e.rows},
                      {"sha256", e.sha256},
                      {"checksum", e.checksum},
                      {"columns", columns}});
  }
  nlohmann::json j = {{"plan", m.plan},
                      {"version", m.version},
                      {"step_id", m.step_id},
                      {"created_at", m.created_at},
                      {"tables", tables}};
  return j.dump(2) + "\n";
}

Status ParseMetadataJson(const std::string& path, const std::string& text, BackupMetadata* out) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return Status::Io(path + " is not valid JSON");
  }
  try {
    *out = BackupMetadata();
    out->plan = j.at("plan").get<std::string>();
    out->version = j.at("version").get<std::string>();
    out->step_id = j.at("step_id").get<std::string>();
    out->created_at = j.at("created_at").get<std::string>();
    for (const nlohmann::json& t : j.at("tables")) {
      BackupFileEntry e;
      e.table = t.at("table").get<std::string>();
      e.file = t.at("file").get<std::string>();
      e.rows = t.at("rows").get<int64_t>();
      e.sha256 = t.at("sha256").get<std::string>();
      e.checksum = t.at("checksum").get<std::string>();
      for (const nlohmann::json& c : t.at("columns")) {
        ColumnInfo col;
        col.name = c.at("name").get<std::string>();
        col.type = c.at("type").get<std::string>();
        col.generated = c.at("generated").get<bool>();
        e.columns.push_back(std::move(col));
      }
      out->tables.push_back(std::move(e));
    }
  } catch (const nlohmann::json::exception& e) {
    return Status::Io(path + " is not a planrun backup metadata file: " + e.what());
  }
  return Status::OK();
}

std::string UtcNow() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace planrun
