#include "net/http_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <deque>
#include <memory>
#include <mutex>
#include <random>

#include "util/redact.h"
#include "util/sha256.h"
#include "util/strings.h"

namespace planrun {
namespace net {

namespace {

using Clock = std::chrono::steady_clock;

constexpr int64_t kMemoryCap = 1 << 20;

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

/// One request in flight (or waiting for its next attempt).
struct Transfer {
  size_t index = 0;
  const Request* req = nullptr;
  Response resp;
  CURL* easy = nullptr;
  curl_slist* headers = nullptr;
  FILE* out = nullptr;
  FILE* in = nullptr;
  size_t body_pos = 0;
  std::unique_ptr<Sha256> hash;
  bool over_cap = false;
  char errbuf[CURL_ERROR_SIZE] = "";
  Clock::time_point not_before;

  ~Transfer() { Close(); }
  void Close() {
    if (easy) curl_easy_cleanup(easy);
    easy = nullptr;
    if (headers) curl_slist_free_all(headers);
    headers = nullptr;
    if (out) std::fclose(out);
    out = nullptr;
    if (in) std::fclose(in);
    in = nullptr;
  }
};

size_t OnBody(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t len = size * n;
  const int64_t cap = t->req->max_bytes;
  if (cap > 0 && t->resp.bytes + static_cast<int64_t>(len) > cap) {
    t->over_cap = true;
    return 0;
  }
  t->resp.bytes += static_cast<int64_t>(len);
  t->hash->Update(std::string_view(data, len));
  if (t->req->sink == Sink::kFile) {
    if (std::fwrite(data, 1, len, t->out) != len) return 0;
  } else if (t->req->sink == Sink::kMemory) {
    const int64_t keep = cap > 0 ? cap : kMemoryCap;
    const int64_t room = keep - static_cast<int64_t>(t->resp.body.size());
    if (room > 0) t->resp.body.append(data, std::min<size_t>(len, static_cast<size_t>(room)));
  }
  return len;
}

size_t OnHeader(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t len = size * n;
  std::string line(data, len);
  if (StartsWith(line, "HTTP/")) {
    t->resp.headers.clear();  // a new response (after a redirect or a 100 Continue)
  } else if (const size_t colon = line.find(':'); colon != std::string::npos) {
    t->resp.headers[Lower(Trim(line.substr(0, colon)))] = Trim(line.substr(colon + 1));
  }
  return len;
}

size_t OnRead(char* buf, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  if (t->in) return std::fread(buf, 1, size * n, t->in);
  const size_t len = std::min(size * n, t->req->body.size() - t->body_pos);
  std::copy_n(t->req->body.data() + t->body_pos, len, buf);
  t->body_pos += len;
  return len;
}

int OnSeek(void* user, curl_off_t offset, int origin) {
  auto* t = static_cast<Transfer*>(user);
  if (origin != SEEK_SET) return CURL_SEEKFUNC_CANTSEEK;
  if (t->in)
    return std::fseek(t->in, offset, SEEK_SET) == 0 ? CURL_SEEKFUNC_OK : CURL_SEEKFUNC_FAIL;
  if (offset < 0 || static_cast<size_t>(offset) > t->req->body.size()) return CURL_SEEKFUNC_FAIL;
  t->body_pos = static_cast<size_t>(offset);
  return CURL_SEEKFUNC_OK;
}

bool RetryableCurl(CURLcode code) {
  switch (code) {
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_PARTIAL_FILE:
    case CURLE_GOT_NOTHING:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_SSL_CONNECT_ERROR:
      return true;
    default:
      return false;
  }
}

}  // namespace

Request MakeRequest(std::string method, std::string url) {
  Request r;
  r.method = std::move(method);
  r.url = std::move(url);
  return r;
}

std::string Response::Describe() const {
  std::string what = error.empty() ? "HTTP " + std::to_string(http_status) : error;
  if (attempts > 1) what += " after " + std::to_string(attempts) + " attempts";
  return what;
}

void RegisterRequestSecrets(const Request& request) {
  for (const auto& [name, value] : request.headers) {
    const std::string n = Lower(name);
    if (n == "authorization" || n == "proxy-authorization") {
      RegisterSecret(value);
      const size_t space = value.find(' ');
      if (space != std::string::npos) RegisterSecret(value.substr(space + 1));
    }
  }
  if (const size_t colon = request.aws_credentials.find(':'); colon != std::string::npos) {
    RegisterSecret(request.aws_credentials.substr(colon + 1));
  }
  if (const size_t colon = request.userpwd.find(':'); colon != std::string::npos) {
    RegisterSecret(request.userpwd.substr(colon + 1));
  }
  const size_t scheme = request.url.find("://");
  const size_t at = request.url.find('@');
  if (scheme != std::string::npos && at != std::string::npos && at > scheme) {
    const std::string userinfo = request.url.substr(scheme + 3, at - scheme - 3);
    if (const size_t colon = userinfo.find(':'); colon != std::string::npos) {
      RegisterSecret(userinfo.substr(colon + 1));
    }
  }
}

std::string EscapePath(const std::string& s) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || c == '/') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

struct Client::Impl {
  ClientOptions options;
  CURLM* multi = nullptr;
  std::mt19937_64 rng{std::random_device{}()};

  /// Sets up `t` for its next attempt; false with t->resp.error on failure.
  bool Start(Transfer* t) {
    t->Close();
    const Request& r = *t->req;
    t->resp.body.clear();
    t->resp.headers.clear();
    t->resp.bytes = 0;
    t->resp.http_status = 0;
    t->resp.error.clear();
    t->over_cap = false;
    t->body_pos = 0;
    t->errbuf[0] = 0;
    t->hash = std::make_unique<Sha256>();
    if (r.sink == Sink::kFile && !(t->out = std::fopen(r.download_file.c_str(), "wb"))) {
      t->resp.error = "cannot write " + r.download_file;
      return false;
    }
    if (!r.upload_file.empty() && !(t->in = std::fopen(r.upload_file.c_str(), "rb"))) {
      t->resp.error = "cannot read " + r.upload_file;
      return false;
    }
    CURL* e = t->easy = curl_easy_init();
    curl_easy_setopt(e, CURLOPT_URL, r.url.c_str());
    curl_easy_setopt(e, CURLOPT_PRIVATE, t);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->errbuf);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, OnBody);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, t);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, OnHeader);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, t);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options.connect_timeout_ms));
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(options.timeout_ms));
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, static_cast<long>(options.low_speed_bytes));
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME,
                     static_cast<long>(std::max<int64_t>(1, options.low_speed_time_ms / 1000)));
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, r.protocols.c_str());
    curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    if (r.method == "GET" || r.method == "HEAD") {
      curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
      curl_easy_setopt(e, CURLOPT_MAXREDIRS, static_cast<long>(options.max_redirects));
    }
    if (r.method == "HEAD") curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    const bool sends = r.method == "PUT" || r.method == "POST";
    if (sends) {
      int64_t size = static_cast<int64_t>(r.body.size());
      if (t->in) {
        std::fseek(t->in, 0, SEEK_END);
        size = std::ftell(t->in);
        std::fseek(t->in, 0, SEEK_SET);
      }
      curl_easy_setopt(e, CURLOPT_READFUNCTION, OnRead);
      curl_easy_setopt(e, CURLOPT_READDATA, t);
      curl_easy_setopt(e, CURLOPT_SEEKFUNCTION, OnSeek);
      curl_easy_setopt(e, CURLOPT_SEEKDATA, t);
      if (r.method == "PUT") {
        curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(size));
      } else {
        curl_easy_setopt(e, CURLOPT_POST, 1L);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(size));
      }
      t->headers = curl_slist_append(t->headers, "Expect:");
    } else if (r.method == "DELETE") {
      curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, "DELETE");
    }
    for (const auto& [name, value] : r.headers) {
      t->headers = curl_slist_append(t->headers, (name + ": " + value).c_str());
    }
    if (t->headers) curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->headers);
    if (!r.aws_sigv4.empty()) {
      curl_easy_setopt(e, CURLOPT_AWS_SIGV4, r.aws_sigv4.c_str());
      curl_easy_setopt(e, CURLOPT_USERPWD, r.aws_credentials.c_str());
    } else if (!r.userpwd.empty()) {
      curl_easy_setopt(e, CURLOPT_USERPWD, r.userpwd.c_str());
    }
    ++t->resp.attempts;
    curl_multi_add_handle(multi, e);
    return true;
  }

  /// Fills the response of a finished attempt; true when it should be retried.
  bool Finish(Transfer* t, CURLcode code) {
    long status = 0;
    curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
    t->resp.http_status = static_cast<int>(status);
    char* ct = nullptr;
    curl_easy_getinfo(t->easy, CURLINFO_CONTENT_TYPE, &ct);
    t->resp.content_type = ct ? ct : "";
    t->resp.sha256 = t->hash->HexDigest();
    curl_multi_remove_handle(multi, t->easy);
    if (t->out && std::fflush(t->out) != 0 && code == CURLE_OK) code = CURLE_WRITE_ERROR;
    bool retry = false;
    if (t->over_cap) {
      t->resp.error = "body larger than max_bytes (" + std::to_string(t->req->max_bytes) + ")";
    } else if (code != CURLE_OK) {
      std::string detail = t->errbuf[0] ? t->errbuf : curl_easy_strerror(code);
      t->resp.error = Redact(detail);
      retry = RetryableCurl(code);
    } else {
      retry = RetryableStatus(t->resp.http_status);
    }
    t->resp.retryable = retry;
    t->Close();
    return retry && t->resp.attempts <= options.retries;
  }

  std::optional<int64_t> RetryAfter(const Transfer& t) {
    auto it = t.resp.headers.find("retry-after");
    if (it == t.resp.headers.end()) return std::nullopt;
    return ParseRetryAfter(it->second, static_cast<int64_t>(std::time(nullptr)));
  }
};

Client::Client(ClientOptions options) : impl_(new Impl) {
  GlobalInit();
  impl_->options = std::move(options);
  impl_->options.concurrency = std::max(1, impl_->options.concurrency);
  impl_->multi = curl_multi_init();
  curl_multi_setopt(impl_->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS,
                    static_cast<long>(impl_->options.concurrency));
}

Client::~Client() {
  curl_multi_cleanup(impl_->multi);
  delete impl_;
}

Status Client::RunAll(const std::vector<Request>& requests,
                      const std::function<void(size_t, Response&&)>& done) {
  Impl& m = *impl_;
  std::vector<std::unique_ptr<Transfer>> all(requests.size());
  std::deque<Transfer*> ready;
  std::vector<Transfer*> waiting;  // retries not yet due
  for (size_t i = 0; i < requests.size(); ++i) {
    all[i] = std::make_unique<Transfer>();
    all[i]->index = i;
    all[i]->req = &requests[i];
    RegisterRequestSecrets(requests[i]);
    ready.push_back(all[i].get());
  }
  std::uniform_real_distribution<double> jitter(0.0, 1.0);
  int active = 0;
  size_t finished = 0;
  while (finished < requests.size()) {
    const auto now = Clock::now();
    for (auto it = waiting.begin(); it != waiting.end();) {
      if ((*it)->not_before <= now) {
        ready.push_back(*it);
        it = waiting.erase(it);
      } else {
        ++it;
      }
    }
    while (active < m.options.concurrency && !ready.empty()) {
      Transfer* t = ready.front();
      ready.pop_front();
      if (m.Start(t)) {
        ++active;
      } else {
        ++finished;
        done(t->index, std::move(t->resp));
        all[t->index].reset();
      }
    }
    int running = 0;
    if (curl_multi_perform(m.multi, &running) != CURLM_OK) {
      return Status::Internal("libcurl multi interface failed");
    }
    int left = 0;
    while (CURLMsg* msg = curl_multi_info_read(m.multi, &left)) {
      if (msg->msg != CURLMSG_DONE) continue;
      Transfer* t = nullptr;
      curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &t);
      --active;
      const CURLcode code = msg->data.result;
      if (m.Finish(t, code)) {
        const int64_t delay =
            RetryDelayMs(m.options.backoff, t->resp.attempts, jitter(m.rng), m.RetryAfter(*t));
        if (m.options.on_retry) {
          m.options.on_retry(t->req->method + " " + Redact(t->req->url) + ": " +
                             t->resp.Describe() + "; retry " + std::to_string(t->resp.attempts) +
                             " in " + HumanDuration(delay));
        }
        t->not_before = Clock::now() + std::chrono::milliseconds(delay);
        waiting.push_back(t);
      } else {
        ++finished;
        done(t->index, std::move(t->resp));
        all[t->index].reset();
      }
    }
    if (finished == requests.size()) break;
    if (active < m.options.concurrency && !ready.empty()) continue;  // start the next at once
    int64_t wait_ms = 100;
    if (active == 0 && ready.empty() && !waiting.empty()) {
      auto next = waiting.front()->not_before;
      for (Transfer* t : waiting) next = std::min(next, t->not_before);
      wait_ms = std::clamp<int64_t>(
          std::chrono::duration_cast<std::chrono::milliseconds>(next - Clock::now()).count(), 0,
          1000);
    }
    if (curl_multi_poll(m.multi, nullptr, 0, static_cast<int>(wait_ms), nullptr) != CURLM_OK) {
      return Status::Internal("libcurl multi interface failed while waiting");
    }
  }
  return Status::OK();
}

Response Client::Run(const Request& request) {
  Response out;
  Status st = RunAll({request}, [&](size_t, Response&& r) { out = std::move(r); });
  if (!st.ok()) out.error = st.message();
  return out;
}

}  // namespace net
}  // namespace planrun
