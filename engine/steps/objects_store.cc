#include "steps/objects_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <functional>

#include "util/redact.h"
#include "util/sha256.h"
#include "util/strings.h"

namespace planrun {

namespace {

std::string Errno(const std::string& what) { return what + ": " + std::strerror(errno); }

/// http and s3: PUT/POST to a URL per key, HEAD to check, DELETE to remove.
class HttpStore : public ObjectStore {
 public:
  HttpStore(const StoreSpec& spec, std::string base,
            std::vector<std::pair<std::string, std::string>> headers)
      : spec_(spec), base_(std::move(base)), headers_(std::move(headers)) {
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
        if (sha->second == it->sha256) it->state = ObjectItem::State::kExisting;
        return;
      }
      // No checksum header (nginx, plain WebDAV): same size, then hash the object.
      auto len = r.headers.find("content-length");
      if (len != r.headers.end() && len->second == std::to_string(it->size)) {
        to_hash.push_back(it);
        net::Request get = Make("GET", it->location);
        get.sink = net::Sink::kDiscard;
        gets.push_back(get);
      }
    });
    Run(client, gets, [&](size_t i, net::Response&& r) {
      if (r.ok() && r.sha256 == to_hash[i]->sha256) {
        to_hash[i]->state = ObjectItem::State::kExisting;
      }
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
    Status st = client.RunAll(reqs, done);
    if (!st.ok()) {
      for (size_t i = 0; i < reqs.size(); ++i) {
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
      if (::stat(it->location.c_str(), &st) == 0 && st.st_size == it->size &&
          FileSha256(it->location) == it->sha256) {
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

}  // namespace

void TransferBatch(const ObjectsSpec& spec, ObjectStore& store, net::Client& client,
                   const std::vector<ObjectItem*>& items) {
  std::vector<net::Request> gets;
  for (ObjectItem* it : items) {
    net::Request get = net::MakeRequest("GET", it->source_url);
    get.sink = net::Sink::kFile;
    get.download_file = it->temp_file;
    get.max_bytes = spec.max_bytes;
    gets.push_back(get);
  }
  Status st = client.RunAll(gets, [&](size_t i, net::Response&& r) {
    ObjectItem* it = items[i];
    if (!r.ok()) return it->Reject("download " + Redact(it->source_url) + ": " + r.Describe());
    it->sha256 = r.sha256;
    it->size = r.bytes;
    it->content_type = r.content_type;
  });
  if (!st.ok()) {
    for (ObjectItem* it : items) it->Reject(st.message());
  }
  std::vector<ObjectItem*> pending;
  for (ObjectItem* it : items) {
    if (it->state != ObjectItem::State::kPending) continue;
    std::string name, ext;
    UrlFields(it->source_url, &name, &ext);
    it->vars["sha256"] = it->sha256;
    it->vars["size"] = std::to_string(it->size);
    it->vars["content_type"] = it->content_type;
    it->vars["name"] = name;
    it->vars["ext"] = ext;
    std::string missing, why;
    if (!spec.store.key.Expand(it->vars, &it->key, &missing)) {
      it->Reject("the key template names '" + missing + "', which is NULL");
      continue;
    }
    if (!CheckKey(it->key, &why)) {
      it->Reject(why);
      continue;
    }
    it->location = store.Location(it->key);
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
