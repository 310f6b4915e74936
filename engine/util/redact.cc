#include "util/redact.h"

#include <algorithm>
#include <cctype>
#include <mutex>
#include <regex>
#include <vector>

namespace planrun {

namespace {
std::mutex& Mu() {
  static std::mutex* mu = new std::mutex;
  return *mu;
}
std::vector<std::string>& Secrets() {
  static std::vector<std::string>* secrets = new std::vector<std::string>;
  return *secrets;
}
}  // namespace

void RegisterSecret(std::string_view secret) {
  if (secret.size() < 3) return;
  std::lock_guard<std::mutex> lock(Mu());
  auto& s = Secrets();
  if (std::find(s.begin(), s.end(), secret) == s.end()) s.emplace_back(secret);
  // Longest first, so a secret that contains another is replaced whole.
  std::sort(s.begin(), s.end(), [](const auto& a, const auto& b) { return a.size() > b.size(); });
}

std::string Redact(std::string_view text) {
  std::string out(text);
  {
    std::lock_guard<std::mutex> lock(Mu());
    for (const std::string& secret : Secrets()) {
      for (size_t pos = out.find(secret); pos != std::string::npos;
           pos = out.find(secret, pos + 3)) {
        out.replace(pos, secret.size(), "***");
      }
    }
  }
  if (out.find("://") != std::string::npos) {
    // Up to the last '@' before white space: a password may itself hold '@'.
    static const std::regex url_password(R"((://[^:/@\s]*:)\S*@)");
    out = std::regex_replace(out, url_password, "$1***@");
  }
  std::string lower = out;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  if (lower.find("password") != std::string::npos) {
    static const std::regex kv_password(R"((password\s*=\s*)('(\\.|[^'])*'|[^\s&]+))",
                                        std::regex::icase);
    out = std::regex_replace(out, kv_password, "$1***");
  }
  return out;
}

void ClearSecretsForTesting() {
  std::lock_guard<std::mutex> lock(Mu());
  Secrets().clear();
}

}  // namespace planrun
