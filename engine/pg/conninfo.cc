#include "pg/conninfo.h"

#include <libpq-fe.h>
#include <pg_config_manual.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <map>

#include "util/redact.h"
#include "util/strings.h"

namespace planrun {
namespace pg {

namespace {

/// Every option libpq parses from `conninfo` that has a non-empty value;
/// false when libpq rejects the string.
bool ParseConninfo(const std::string& conninfo, std::map<std::string, std::string>* values) {
  if (conninfo.empty()) return true;
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(conninfo.c_str(), &error);
  if (options == nullptr) {
    PQfreemem(error);
    return false;
  }
  for (PQconninfoOption* o = options; o->keyword != nullptr; ++o) {
    if (o->val != nullptr && o->val[0] != '\0') (*values)[o->keyword] = o->val;
  }
  PQconninfoFree(options);
  return true;
}

/// The password in a URL's userinfo as written ("postgresql://u:PASSWORD@h"),
/// or empty.
std::string RawUrlPassword(const std::string& conninfo) {
  size_t scheme = conninfo.find("://");
  if (scheme == std::string::npos) return "";
  size_t start = scheme + 3;
  size_t at = conninfo.find('@', start);
  if (at == std::string::npos) return "";
  size_t path = conninfo.find_first_of("/?#", start);
  if (path != std::string::npos && path < at) return "";
  size_t colon = conninfo.find(':', start);
  if (colon == std::string::npos || colon > at) return "";
  return conninfo.substr(colon + 1, at - colon - 1);
}

/// True for a non-empty run of decimal digits.
bool AllDigits(const std::string& s) {
  return !s.empty() && s.find_first_not_of("0123456789") == std::string::npos;
}

/// Registers `text` and its pieces between the characters of `separators`.
void RegisterWithPieces(const std::string& text, const char* separators) {
  RegisterSecret(text);
  size_t start = 0;
  for (size_t end = text.find_first_of(separators); end != std::string::npos;
       start = end + 1, end = text.find_first_of(separators, start)) {
    RegisterSecret(text.substr(start, end - start));
  }
  RegisterSecret(text.substr(start));
}

/// A password libpq cannot read as one, and so quotes in pieces in its
/// errors: a URL whose password holds an unencoded '/', '?' or '#'
/// ("postgresql://u:ab/cd@h/db" is read as host u, port ab, database cd@h/db),
/// or an unquoted key=value password with spaces ("password=ab cd" makes
/// libpq report 'missing "=" after "cd"'). Registers the password as the
/// user meant it and each of its pieces.
void RegisterMisreadPassword(const std::string& conninfo) {
  size_t scheme = conninfo.find("://");
  if (scheme != std::string::npos) {
    size_t start = scheme + 3;
    size_t end = conninfo.find_first_of(" \t\n", start);
    if (end == std::string::npos) end = conninfo.size();
    size_t at = conninfo.rfind('@', end - 1);
    size_t colon = conninfo.find(':', start);
    size_t path = conninfo.find_first_of("/?#", start);
    if (at == std::string::npos || at < start || colon > path || path > at) return;
    std::string password = conninfo.substr(colon + 1, at - colon - 1);
    // "h:5432/db?x=a@b" has a port, not a password, before the path.
    if (AllDigits(password.substr(0, password.find_first_of("/?#")))) return;
    RegisterWithPieces(password, "/?#");
    RegisterWithPieces(PercentDecode(password), "/?#");
    return;
  }
  std::string lower = conninfo;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  for (size_t pos = lower.find("password"); pos != std::string::npos;
       pos = lower.find("password", pos + 1)) {
    size_t i = lower.find_first_not_of(" \t\n", pos + 8);
    if (i == std::string::npos || lower[i] != '=') continue;
    i = lower.find_first_not_of(" \t\n", i + 1);
    if (i == std::string::npos || lower[i] == '\'') continue;
    // The words up to the next keyword=value pair.
    size_t end = i;
    while (end < lower.size()) {
      size_t word_end = lower.find_first_of(" \t\n", end);
      if (word_end == std::string::npos) word_end = lower.size();
      if (end > i && lower.find('=', end) < word_end) break;
      end = lower.find_first_not_of(" \t\n", word_end);
      if (end == std::string::npos) end = lower.size();
    }
    std::string words = conninfo.substr(i, end - i);
    words.erase(words.find_last_not_of(" \t\n") + 1);
    if (words.find_first_of(" \t\n") != std::string::npos) RegisterWithPieces(words, " \t\n");
  }
}

}  // namespace

std::string ResolveConninfo(const std::string& flag_db) {
  if (!flag_db.empty()) return flag_db;
  const char* url = std::getenv("DATABASE_URL");
  return url != nullptr ? url : "";
}

std::string FormatTarget(const std::string& host, const std::string& port,
                         const std::string& dbname) {
  bool ipv6 = host.find(':') != std::string::npos && host.find('/') == std::string::npos &&
              host.find(',') == std::string::npos;
  return (ipv6 ? "[" + host + "]" : host) + ":" + port + "/" + dbname;
}

std::string DescribeTarget(const std::string& conninfo) {
  std::map<std::string, std::string> values;
  if (PQconninfoOption* defaults = PQconndefaults()) {
    for (PQconninfoOption* o = defaults; o->keyword != nullptr; ++o) {
      if (o->val != nullptr && o->val[0] != '\0') values[o->keyword] = o->val;
    }
    PQconninfoFree(defaults);
  }
  if (!ParseConninfo(conninfo, &values)) return "(invalid connection string)";
  std::string host = values.count("host") ? values["host"] : values["hostaddr"];
  if (host.empty()) host = DEFAULT_PGSOCKET_DIR;
  std::string dbname = values.count("dbname") ? values["dbname"] : values["user"];
  return FormatTarget(host, values["port"], dbname);
}

void RegisterConninfoSecrets(const std::string& conninfo) {
  if (const char* env = std::getenv("PGPASSWORD")) RegisterSecret(env);
  std::string raw = RawUrlPassword(conninfo);
  RegisterSecret(raw);
  RegisterSecret(PercentDecode(raw));
  std::map<std::string, std::string> values;
  if (ParseConninfo(conninfo, &values) && values.count("password")) {
    RegisterSecret(values["password"]);
  }
  RegisterMisreadPassword(conninfo);
}

}  // namespace pg
}  // namespace planrun
