#include "steps/objects_store.h"

#include <fcntl.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <functional>

#include "util/redact.h"
#include "util/sha256.h"
#include "util/strings.h"

namespace planrun {

namespace {

std::string Errno(const std::string& what) { return what + ": " + std::strerror(errno); }

/// Rejects `it`: the store holds other bytes (sha256 `theirs`) at its location.
void RejectOther(ObjectItem* it, const std::string& theirs) {
  it->Reject("the store already holds different bytes at " + it->location + " (sha256 " + theirs +
             "); remove it or change the key template");
}

/// `url` without its userinfo ("https://user:pw@host/b" -> "https://host/b");
/// the userinfo, percent-decoded, goes to `*userinfo` (empty when none).
std::string StripUserinfo(const std::string& url, std::string* userinfo) {
  userinfo->clear();
  const size_t scheme = url.find("://");
  if (scheme == std::string::npos) return url;
  const size_t host = scheme + 3;
  const size_t end = url.find_first_of("/?#", host);
  const size_t at = url.rfind('@', end == std::string::npos ? url.size() : end);
  if (at == std::string::npos || at < host) return url;
  *userinfo = PercentDecode(url.substr(host, at - host));
  return url.substr(0, host) + url.substr(at + 1);
}

/// Sets header `name` to `value`, replacing one of that name in any case.
void SetHeader(std::vector<std::pair<std::string, std::string>>* headers, const std::string& name,
               const std::string& value) {
  headers->erase(std::remove_if(headers->begin(), headers->end(),
                                [&](const auto& h) {
                                  return ::strcasecmp(h.first.c_str(), name.c_str()) == 0;
                                }),
                 headers->end());
  headers->emplace_back(name, value);
}

/// http and s3: PUT/POST to a URL per key, HEAD to check, DELETE to remove.
class HttpStore : public ObjectStore {
 public:
  HttpStore(const StoreSpec& spec, std::string base,
            std::vector<std::pair<std::string, std::string>> headers)
      : spec_(spec), headers_(std::move(headers)) {
    base_ = StripUserinfo(base, &userpwd_);
    if (const size_t colon = userpwd_.find(':'); colon != std::string::npos) {
      RegisterSecret(userpwd_.substr(colon + 1));
    }
    while (!base_.empty() && base_.back() == '/') base_.pop_back();
    sha_header_ = spec.kind == "s3" ? "x-amz-meta-sha256" : "x-planrun-sha256";
  }
  void SetSigning(std::string sigv4, std::string credentials) {
    sigv4_ = std::move(sigv4);
    credentials_ = std::move(credentials);
  }

  std::string Location(const std::string& key) const override {
    return base_ + "/" + net::EscapePath(key);
  }
  std::string Describe() const override { return spec_.kind + " store " + base_; }

  void Check(net::Client& client, const std::vector<ObjectItem*>& items) override {
    std::vector<net::Request> heads;
    for (ObjectItem* it : items) heads.push_back(Make("HEAD", it->location));
    std::vector<ObjectItem*> to_hash;
    std::vector<net::Request> gets;
    Run(client, heads, [&](size_t i, net::Response&& r) {
      ObjectItem* it = items[i];
      if (r.http_status == 404) return;
      if (!r.ok()) return it->Reject("check " + it->location + ": " + r.Describe());
      auto sha = r.headers.find(sha_header_);
      if (sha != r.headers.end()) {
        if (sha->second != it->sha256) return RejectOther(it, sha->second);
        it->state = ObjectItem::State::kExisting;
        return;
      }
      // No checksum header (nginx, plain WebDAV): another size is other
      // bytes; otherwise hash the object.
      auto len = r.headers.find("content-length");
      if (len != r.headers.end() && len->second != std::to_string(it->size)) {
        return RejectOther(it, "unknown");
      }
      to_hash.push_back(it);
      net::Request get = Make("GET", it->location);
      get.sink = net::Sink::kDiscard;
      gets.push_back(get);
    });
    Run(client, gets, [&](size_t i, net::Response&& r) {
      ObjectItem* it = to_hash[i];
      if (!r.ok()) return it->Reject("check " + it->location + ": " + r.Describe());
      if (r.sha256 != it->sha256) return RejectOther(it, r.sha256);
      it->state = ObjectItem::State::kExisting;
    });
  }

  void Upload(net::Client& client, const std::vector<ObjectItem*>& items) override {
    std::vector<net::Request> puts;
    for (ObjectItem* it : items) {
      net::Request put = Make(spec_.method, it->location);
      put.upload_file = it->temp_file;
      put.headers.emplace_back(sha_header_, it->sha256);
      put.headers.emplace_back(
          "Content-Type", it->content_type.empty() ? "application/octet-stream" : it->content_type);
      if (!sigv4_.empty()) put.headers.emplace_back("x-amz-content-sha256", it->sha256);
      for (const auto& [name, value] : it->headers) SetHeader(&put.headers, name, value);
      puts.push_back(put);
    }
    Run(client, puts, [&](size_t i, net::Response&& r) {
      if (r.ok()) {
        items[i]->state = ObjectItem::State::kUploaded;
      } else {
        items[i]->Reject("upload " + items[i]->location + ": " + r.Describe());
      }
    });
  }

  Status Delete(net::Client& client, const std::vector<std::string>& locations,
                int64_t* deleted) override {
    std::vector<net::Request> dels;
    for (const auto& loc : locations) dels.push_back(Make("DELETE", loc));
    Status first;
    Run(client, dels, [&](size_t i, net::Response&& r) {
      if (r.ok() || r.http_status == 404) {
        ++*deleted;
      } else if (first.ok()) {
        first = Status::Failed("delete " + locations[i] + ": " + r.Describe());
      }
    });
    return first;
  }

 private:
  net::Request Make(const std::string& method, const std::string& url) const {
    net::Request r = net::MakeRequest(method, url);
    r.headers = headers_;
    r.aws_sigv4 = sigv4_;
    r.aws_credentials = credentials_;
    r.userpwd = userpwd_;
    if (method == "HEAD" || method == "DELETE") {
      r.headers.erase(std::remove_if(r.headers.begin(), r.headers.end(),
                                     [](const auto& h) { return h.first == "Content-Type"; }),
                      r.headers.end());
    }
    return r;
  }
  void Run(net::Client& client, const std::vector<net::Request>& reqs,
           const std::function<void(size_t, net::Response&&)>& done) {
    if (reqs.empty()) return;
    std::vector<bool> reported(reqs.size(), false);
    Status st = client.RunAll(reqs, [&](size_t i, net::Response&& r) {
      reported[i] = true;
      done(i, std::move(r));
    });
    if (!st.ok()) {
      for (size_t i = 0; i < reqs.size(); ++i) {
        if (reported[i]) continue;
        net::Response r;
        r.error = st.message();
        done(i, std::move(r));
      }
    }
  }

  const StoreSpec& spec_;
  std::string base_;
  std::vector<std::pair<std::string, std::string>> headers_;
  std::string sha_header_;
  std::string sigv4_, credentials_;
  std::string userpwd_;  // from base_url's userinfo, sent with CURLOPT_USERPWD
};

/// Hex sha256 of a file's contents, or empty when it cannot be read.
std::string FileSha256(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "";
  Sha256 h;
  char buf[1 << 16];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) h.Update(std::string_view(buf, n));
  ::close(fd);
  return n < 0 ? "" : h.HexDigest();
}

Status MakeDirs(const std::string& dir) {
  std::string sofar;
  for (const std::string& part : Split(dir, '/')) {
    sofar += part + "/";
    if (part.empty()) continue;
    if (::mkdir(sofar.c_str(), 0755) != 0 && errno != EEXIST) {
      return Status::Io(Errno("cannot create " + sofar));
    }
  }
  return Status::OK();
}

/// Copies `from` to `to` through a temp file in the same folder, fsynced,
/// then renamed into place, and the folder fsynced.
Status PlaceFile(const std::string& from, const std::string& to) {
  const size_t slash = to.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : to.substr(0, slash);
  PLANRUN_RETURN_IF_ERROR(MakeDirs(dir));
  const std::string tmp = to + ".planrun-tmp-" + std::to_string(::getpid());
  const int in = ::open(from.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) return Status::Io(Errno("cannot read " + from));
  const int out = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (out < 0) {
    ::close(in);
    return Status::Io(Errno("cannot write " + tmp));
  }
  char buf[1 << 16];
  ssize_t n;
  bool ok = true;
  while (ok && (n = ::read(in, buf, sizeof buf)) > 0) ok = ::write(out, buf, n) == n;
  ok = ok && n == 0 && ::fsync(out) == 0;
  ::close(in);
  ok = ::close(out) == 0 && ok;
  if (!ok || ::rename(tmp.c_str(), to.c_str()) != 0) {
    Status st = Status::Io(Errno("cannot write " + to));
    ::unlink(tmp.c_str());
    return st;
  }
  const int d = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (d >= 0) {
    ::fsync(d);
    ::close(d);
  }
  return Status::OK();
}

/// A local folder; objects are renamed into place.
class DirStore : public ObjectStore {
 public:
  explicit DirStore(std::string path) : path_(std::move(path)) {
    while (path_.size() > 1 && path_.back() == '/') path_.pop_back();
  }
  std::string Location(const std::string& key) const override { return path_ + "/" + key; }
  std::string Describe() const override { return "dir store " + path_; }

  void Check(net::Client&, const std::vector<ObjectItem*>& items) override {
    for (ObjectItem* it : items) {
      struct stat st;
      if (::stat(it->location.c_str(), &st) != 0) {
        if (errno != ENOENT) it->Reject(Errno("check " + it->location));
        continue;
      }
      const std::string theirs = FileSha256(it->location);
      if (theirs.empty()) {
        it->Reject(Errno("check " + it->location + ": cannot read it"));
      } else if (theirs != it->sha256) {
        RejectOther(it, theirs);
      } else {
        it->state = ObjectItem::State::kExisting;
      }
    }
  }
  void Upload(net::Client&, const std::vector<ObjectItem*>& items) override {
    for (ObjectItem* it : items) {
      Status st = PlaceFile(it->temp_file, it->location);
      if (st.ok()) {
        it->state = ObjectItem::State::kUploaded;
      } else {
        it->Reject(st.message());
      }
    }
  }
  Status Delete(net::Client&, const std::vector<std::string>& locations,
                int64_t* deleted) override {
    Status first;
    for (const auto& loc : locations) {
      if (::unlink(loc.c_str()) == 0 || errno == ENOENT) {
        ++*deleted;
      } else if (first.ok()) {
        first = Status::Io(Errno("cannot delete " + loc));
      }
    }
    return first;
  }

 private:
  std::string path_;
};

}  // namespace

Status MakeObjectStore(const StoreSpec& spec, const std::string& what,
                       std::unique_ptr<ObjectStore>* out) {
  std::vector<std::string> secrets;
  if (spec.kind == "dir") {
    std::string path;
    PLANRUN_RETURN_IF_ERROR(ExpandEnv(spec.path, what + ": 'path'", &path));
    *out = std::make_unique<DirStore>(path);
    return Status::OK();
  }
  std::vector<std::pair<std::string, std::string>> headers;
  for (const auto& [name, value] : spec.headers) {
    std::string v;
    PLANRUN_RETURN_IF_ERROR(ExpandEnv(value, what + ": header '" + name + "'", &v, &secrets));
    headers.emplace_back(name, v);
  }
  for (const auto& s : secrets) RegisterSecret(s);
  if (spec.kind == "http") {
    std::string base;
    PLANRUN_RETURN_IF_ERROR(ExpandEnv(spec.base_url, what + ": 'base_url'", &base));
    *out = std::make_unique<HttpStore>(spec, base, headers);
    return Status::OK();
  }
  std::string endpoint, bucket, region, access, secret;
  PLANRUN_RETURN_IF_ERROR(ExpandEnv(spec.endpoint, what + ": 'endpoint'", &endpoint));
  PLANRUN_RETURN_IF_ERROR(ExpandEnv(spec.bucket, what + ": 'bucket'", &bucket));
  PLANRUN_RETURN_IF_ERROR(ExpandEnv(spec.region, what + ": 'region'", &region));
  PLANRUN_RETURN_IF_ERROR(ExpandEnv(spec.access_key, what + ": 'access_key'", &access));
  PLANRUN_RETURN_IF_ERROR(ExpandEnv(spec.secret_key, what + ": 'secret_key'", &secret));
  RegisterSecret(secret);
  while (!endpoint.empty() && endpoint.back() == '/') endpoint.pop_back();
  auto store = std::make_unique<HttpStore>(spec, endpoint + "/" + bucket, headers);
  store->SetSigning("aws:amz:" + region + ":s3", access + ":" + secret);
  *out = std::move(store);
  return Status::OK();
}

bool CheckKey(const std::string& key, std::string* why) {
  if (key.empty()) {
    *why = "the object key is empty";
    return false;
  }
  for (const std::string& seg : Split(key, '/')) {
    if (seg.empty() || seg == "." || seg == "..") {
      *why = "the object key '" + key + "' has an empty, '.' or '..' part";
      return false;
    }
  }
  return true;
}

namespace {

/// "png" for ".../a.png?x=1"; the last path segment for `name`.
void UrlFields(const std::string& url, std::string* name, std::string* ext) {
  std::string path = url.substr(0, url.find_first_of("?#"));
  const size_t scheme = path.find("://");
  if (scheme != std::string::npos) {
    const size_t slash = path.find('/', scheme + 3);
    path = slash == std::string::npos ? "" : path.substr(slash);
  }
  *name = path.substr(path.rfind('/') + 1);
  const size_t dot = name->rfind('.');
  *ext = dot == std::string::npos ? "" : name->substr(dot + 1);
}

/// The GET of a source URL: http and https as they are; a file:// URL only
/// when its real path lies inside `files_root`, then read from that real path.
bool SourceRequest(const std::string& url, const std::string& files_root, net::Request* out,
                   std::string* why) {
  const size_t sep = url.find("://");
  std::string scheme = sep == std::string::npos ? "" : url.substr(0, sep);
  for (char& c : scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (scheme == "http" || scheme == "https") {
    *out = net::MakeRequest("GET", url);
    return true;
  }
  const std::string shown = Redact(url);
  if (scheme != "file") {
    *why = "the source URL " + shown + " is not an http, https or file:// URL";
    return false;
  }
  if (files_root.empty()) {
    *why = "the source URL " + shown +
           " is a file:// URL; set from.files_root to the folder the step may read files from";
    return false;
  }
  std::string path = url.substr(sep + 3);
  if (StartsWith(path, "localhost/")) path = path.substr(9);
  path = PercentDecode(path.substr(0, path.find_first_of("?#")));
  char real[PATH_MAX];
  if (path.empty() || path[0] != '/') {
    *why = "the source URL " + shown + " names no absolute path (file:///path/to/file)";
    return false;
  }
  if (!::realpath(path.c_str(), real)) {
    *why = Errno("download " + shown + ": cannot resolve " + path);
    return false;
  }
  const std::string resolved = real;
  if (!StartsWith(resolved, files_root == "/" ? "/" : files_root + "/")) {
    *why = "the source URL " + shown + " reads " + resolved + ", outside from.files_root " +
           files_root + "; move the file there or change files_root";
    return false;
  }
  *out = net::MakeRequest("GET", "file://" + net::EscapePath(resolved));
  out->protocols = "file";
  return true;
}

/// Fills it->values from the `set` templates (with {key} and {url}); false
/// with `it` rejected when a template names a NULL column.
bool ExpandSet(const ObjectsSpec& spec, ObjectItem* it) {
  it->vars["key"] = it->key;
  std::string url = it->location, missing;
  if (!spec.store.public_url.text.empty() &&
      !spec.store.public_url.Expand(it->vars, &url, &missing)) {
    it->Reject("the 'public_url' template names '" + missing + "', which is NULL");
    return false;
  }
  it->vars["url"] = url;
  const std::string kind = spec.FromFiles() ? "insert" : "set";
  for (const auto& [col, t] : spec.RowTemplates()) {
    std::string v;
    if (!t.Expand(it->vars, &v, &missing)) {
      it->Reject("the '" + kind + "' template of '" + col + "' names '" + missing +
                 "', which is NULL");
      return false;
    }
    it->values.push_back(v);
  }
  return true;
}

}  // namespace

Status ResolveFilesRoot(const std::string& root, const std::string& what, std::string* out) {
  out->clear();
  if (root.empty()) return Status::OK();
  std::string path;
  PLANRUN_RETURN_IF_ERROR(ExpandEnv(root, what + ": 'from.files_root'", &path));
  char real[PATH_MAX];
  struct stat st;
  if (!::realpath(path.c_str(), real) || ::stat(real, &st) != 0 || !S_ISDIR(st.st_mode)) {
    return Status::Failed(what + ": 'from.files_root' " + path +
                          " is not a folder; create it or fix the setting");
  }
  *out = real;
  return Status::OK();
}

void TransferBatch(const ObjectsSpec& spec, const std::string& files_root, ObjectStore& store,
                   net::Client& client, const std::vector<ObjectItem*>& items) {
  std::vector<net::Request> gets;
  std::vector<ObjectItem*> downloading;
  for (ObjectItem* it : items) {
    net::Request get;
    std::string why;
    if (!SourceRequest(it->source_url, files_root, &get, &why)) {
      it->Reject(why);
      continue;
    }
    get.sink = net::Sink::kFile;
    get.download_file = it->temp_file;
    get.max_bytes = spec.max_bytes;
    gets.push_back(get);
    downloading.push_back(it);
  }
  std::vector<bool> reported(gets.size(), false);
  Status st = client.RunAll(gets, [&](size_t i, net::Response&& r) {
    ObjectItem* it = downloading[i];
    reported[i] = true;
    if (!r.ok()) return it->Reject("download " + Redact(it->source_url) + ": " + r.Describe());
    it->sha256 = r.sha256;
    it->size = r.bytes;
    it->content_type = r.content_type;
  });
  if (!st.ok()) {
    for (size_t i = 0; i < downloading.size(); ++i) {
      if (!reported[i])
        downloading[i]->Reject("download " + Redact(downloading[i]->source_url) + ": " +
                               st.message());
    }
  }
  StoreBatch(spec, store, client, items);
}

void StoreBatch(const ObjectsSpec& spec, ObjectStore& store, net::Client& client,
                const std::vector<ObjectItem*>& items) {
  std::vector<ObjectItem*> pending;
  for (ObjectItem* it : items) {
    if (it->state != ObjectItem::State::kPending) continue;
    std::string name, ext;
    if (spec.FromFiles()) {  // a file's name as the scan found it
      name = it->vars["name"];
      const size_t dot = name.rfind('.');
      ext = dot == std::string::npos ? "" : name.substr(dot + 1);
    } else {
      UrlFields(it->source_url, &name, &ext);
    }
    it->vars["sha256"] = it->sha256;
    it->vars["size"] = std::to_string(it->size);
    it->vars["content_type"] = it->content_type;
    it->vars["name"] = name;
    it->vars["ext"] = ext;
    std::string missing, why;
    if (!it->key_given && !spec.store.key.Expand(it->vars, &it->key, &missing)) {
      it->Reject("the key template names '" + missing + "', which is NULL");
      continue;
    }
    if (!CheckKey(it->key, &why)) {
      it->Reject(why);
      continue;
    }
    it->location = store.Location(it->key);
    if (!ExpandSet(spec, it)) continue;
    pending.push_back(it);
  }
  // Rows of one batch that share a key (content-addressed keys, equal files)
  // move once: the first carries the object, the others follow its outcome.
  std::map<std::string, ObjectItem*> first;
  std::vector<std::pair<ObjectItem*, ObjectItem*>> followers;
  std::vector<ObjectItem*> unique;
  for (ObjectItem* it : pending) {
    auto [pos, inserted] = first.emplace(it->location, it);
    if (inserted) {
      unique.push_back(it);
    } else {
      followers.emplace_back(it, pos->second);
    }
  }
  store.Check(client, unique);
  std::vector<ObjectItem*> to_send;
  for (ObjectItem* it : unique) {
    if (it->state == ObjectItem::State::kPending) to_send.push_back(it);
  }
  store.Upload(client, to_send);
  for (auto [it, lead] : followers) {
    if (lead->state == ObjectItem::State::kRejected) {
      it->Reject(lead->reason);
    } else if (lead->sha256 != it->sha256) {
      it->Reject("the key '" + it->key + "' is also the key of another row with other bytes");
    } else {
      it->state = ObjectItem::State::kExisting;
    }
  }
}

}  // namespace planrun
