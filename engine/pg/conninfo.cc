#include "pg/conninfo.h"

#include <libpq-fe.h>
#include <pg_config_manual.h>

#include <cctype>
#include <cstdlib>
#include <map>

#include "util/redact.h"

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

/// `text` with %XX escapes decoded; malformed escapes are kept as written.
std::string PercentDecode(const std::string& text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() &&
        std::isxdigit(static_cast<unsigned char>(text[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(text[i + 2]))) {
      out.push_back(static_cast<char>(std::stoi(text.substr(i + 1, 2), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
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
}

}  // namespace pg
}  // namespace planrun
