// Connection strings: which database a command talks to, how that database is
// named in messages, and which secrets a connection string carries. A
// conninfo is a URL ("postgresql://user:pw@host:5432/db"), a libpq key=value
// string ("host=h dbname=db"), or empty for libpq's PG* variables. Pure
// functions over libpq's parser; thread-safe.
#pragma once

#include <string>

namespace planrun {
namespace pg {

/// The conninfo to use: `flag_db` (--db) if non-empty, else $DATABASE_URL,
/// else "" (libpq's PG* variables).
std::string ResolveConninfo(const std::string& flag_db);

/// "host:port/dbname" of `conninfo` with libpq's defaults filled in, for
/// messages; never contains a password. "(invalid connection string)" when
/// libpq cannot parse it.
std::string DescribeTarget(const std::string& conninfo);

/// "host:port/dbname" from parts as libpq reports them; an IPv6 address is
/// bracketed ("[::1]:5432/db").
std::string FormatTarget(const std::string& host, const std::string& port,
                         const std::string& dbname);

/// Registers with RegisterSecret every password `conninfo` carries (the URL
/// userinfo password, raw and percent-decoded, or password=...) and
/// $PGPASSWORD.
void RegisterConninfoSecrets(const std::string& conninfo);

}  // namespace pg
}  // namespace planrun
