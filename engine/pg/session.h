// pg::Session: the one interface through which planrun talks to PostgreSQL.
// pg/ is the only folder that includes libpq; everything else sees
// this interface, so unit tests can use a recording fake (tests/) and
// integration tests a real server.
//
// Contract: one Session is one connection. It is not thread-safe; give each
// thread its own. Nothing throws: every failure comes back as
// Status::Database with PostgreSQL's message (and SQLSTATE), with any secret
// redacted. Transactions are plain statements: Exec("BEGIN") ... Exec("COMMIT").
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/status.h"

namespace planrun {
namespace pg {

/// A value as text; nullopt is SQL NULL.
using Value = std::optional<std::string>;

/// The rows a statement returned, as text, and how many rows it affected.
struct Result {
  std::vector<std::string> columns;
  std::vector<uint32_t> column_types;  // type OID of each column
  std::vector<std::vector<Value>> rows;
  int64_t affected = 0;  // rows inserted/updated/deleted/copied, else 0
  /// The status tag of the last statement ("UPDATE 42", "CREATE TABLE").
  std::string command;

  /// rows[row][col]; REQUIRES: in range.
  const Value& at(size_t row, size_t col) const { return rows[row][col]; }
  /// rows[row][col] or `fallback` when NULL.
  std::string get(size_t row, size_t col, const std::string& fallback = "") const;
};

/// One connection to PostgreSQL.
class Session {
 public:
  virtual ~Session() = default;

  /// Runs `sql` (one or more statements, no parameters). `out` may be null;
  /// when several statements run, `out` gets the last one's result.
  virtual Status Exec(const std::string& sql, Result* out = nullptr) = 0;

  /// Runs one statement with $1, $2... bound to `params` (sent as text).
  virtual Status Query(const std::string& sql, const std::vector<Value>& params,
                       Result* out = nullptr) = 0;

  /// Runs a `COPY ... TO STDOUT` statement and calls `on_data` with chunks of
  /// COPY text as they arrive (each chunk is one or more whole lines).
  /// An error returned by `on_data` stops the copy and is returned.
  virtual Status CopyOut(const std::string& copy_sql,
                         const std::function<Status(std::string_view)>& on_data) = 0;

  /// Runs a `COPY ... FROM STDIN` statement, sending what `next` produces:
  /// `next` appends COPY text to *chunk and sets *done when there is no more.
  /// Returns the number of rows copied in *rows (may be null).
  virtual Status CopyIn(const std::string& copy_sql,
                        const std::function<Status(std::string* chunk, bool* done)>& next,
                        int64_t* rows = nullptr) = 0;

  /// The server process id of this connection.
  virtual int BackendPid() const = 0;
  /// False once the connection is known to be broken.
  virtual bool IsOpen() const = 0;
};

/// Connection settings. `conninfo` is a URL ("postgresql://..."), a libpq
/// key=value string, or empty to use libpq's PG* environment variables.
struct ConnectOptions {
  std::string conninfo;
  std::string application_name = "planrun";  // shown in pg_stat_activity
  int connect_timeout_s = 10;
};

/// Opens a session. Sets standard_conforming_strings = on, client_encoding =
/// UTF8 and DateStyle = ISO so text values round-trip exactly. Registers any
/// password found in `conninfo` with RegisterSecret before connecting.
Status Connect(const ConnectOptions& options, std::unique_ptr<Session>* out);

/// Makes new sessions with fixed options; the executor uses one per worker.
using SessionFactory =
    std::function<Status(const std::string& application_name, std::unique_ptr<Session>* out)>;

/// A factory that calls Connect with `options` (application_name replaced).
SessionFactory MakeSessionFactory(ConnectOptions options);

}  // namespace pg
}  // namespace planrun
