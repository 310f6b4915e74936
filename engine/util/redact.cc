#include "util/redact.h"

#include <algorithm>
#include <cctype>
#include <mutex>
#include <vector>

namespace planrun {

namespace {

constexpr char kMask[] = "***";

std::mutex& Mu() {
  static std::mutex* mu = new std::mutex;
  return *mu;
}
std::vector<std::string>& Secrets() {
  static std::vector<std::string>* secrets = new std::vector<std::string>;
  return *secrets;
}

bool IsSpace(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }

/// Masks the password of every "scheme://user:PASSWORD@host". The password
/// runs to the last '@' before white space, since it may itself hold '@'.
/// Hand-written rather than std::regex, whose recursive matcher overflows the
/// stack on long texts.
void MaskUrlPasswords(std::string* out) {
  for (size_t pos = out->find("://"); pos != std::string::npos; pos = out->find("://", pos)) {
    size_t i = pos + 3;
    while (i < out->size() && !IsSpace((*out)[i]) &&
           std::string_view(":/@").find((*out)[i]) == std::string_view::npos) {
      ++i;
    }
    pos = i;
    if (i >= out->size() || (*out)[i] != ':') continue;
    size_t start = i + 1;
    size_t end = start;
    while (end < out->size() && !IsSpace((*out)[end])) ++end;
    size_t at = end == start ? std::string::npos : out->rfind('@', end - 1);
    if (at == std::string::npos || at < start) {
      pos = end;  // no '@' left in this run of text, so no later URL in it has a password
      continue;
    }
    out->replace(start, at - start, kMask);
    pos = start + sizeof(kMask) - 1;
  }
}

/// Masks the value of every "password=VALUE" (any case, blanks around '=');
/// VALUE is a single-quoted string with backslash escapes (to the end of the
/// text when unterminated), or the text up to white space or '&'.
void MaskKeyValuePasswords(std::string* out) {
  std::string lower = *out;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  // Masking changes lengths; walk from the end so earlier offsets stay valid.
  std::vector<std::pair<size_t, size_t>> values;  // [start, end) to mask
  size_t next = 0;
  for (size_t pos = lower.find("password"); pos != std::string::npos;
       pos = lower.find("password", next)) {
    next = pos + 1;
    size_t i = pos + 8;
    while (i < lower.size() && IsSpace(lower[i])) ++i;
    if (i >= lower.size() || lower[i] != '=') continue;
    ++i;
    while (i < lower.size() && IsSpace(lower[i])) ++i;
    size_t end = i;
    if (i < lower.size() && lower[i] == '\'') {
      for (end = i + 1; end < lower.size() && lower[end] != '\''; ++end) {
        if (lower[end] == '\\') ++end;
      }
      end = std::min(end + 1, lower.size());  // unterminated: mask to the end
    }
    if (end == i) {
      while (end < lower.size() && !IsSpace(lower[end]) && lower[end] != '&') ++end;
    }
    if (end > i) {
      values.emplace_back(i, end);
      next = end;
    }
  }
  for (auto it = values.rbegin(); it != values.rend(); ++it) {
    out->replace(it->first, it->second - it->first, kMask);
  }
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
           pos = out.find(secret, pos + sizeof(kMask) - 1)) {
        out.replace(pos, secret.size(), kMask);
      }
    }
  }
  MaskUrlPasswords(&out);
  MaskKeyValuePasswords(&out);
  return out;
}

void ClearSecretsForTesting() {
  std::lock_guard<std::mutex> lock(Mu());
  Secrets().clear();
}

}  // namespace planrun
