// pg::Session over libpq. Statements go through the asynchronous API
// (PQsendQuery + a PQgetResult loop) so that multi-statement strings, errors
// in the middle of them and stray COPY statements all leave the connection
// ready for the next call.
#include <libpq-fe.h>

#include <cstdlib>

#include "pg/conninfo.h"
#include "pg/session.h"
#include "util/redact.h"
#include "util/strings.h"

namespace planrun {
namespace pg {

std::string Result::get(size_t row, size_t col, const std::string& fallback) const {
  const Value& v = rows[row][col];
  return v ? *v : fallback;
}

namespace {

constexpr size_t kCopyBatchBytes = 64 * 1024;

/// Settings every session gets so text values round-trip exactly.
constexpr char kSessionSetup[] =
    "SET standard_conforming_strings = on; SET client_encoding = 'UTF8'; "
    "SET DateStyle = 'ISO, YMD'; SET IntervalStyle = 'iso_8601'; SET extra_float_digits = 3";

// SQLSTATEs planrun gives errors libpq reports without one: the connection
// broke (08006), or no connection could be made (08001).
constexpr char kConnectionFailure[] = "08006";
constexpr char kCannotConnect[] = "08001";

struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using ResultPtr = std::unique_ptr<PGresult, ResultDeleter>;

/// PostgreSQL's error for `res`: the message without its "ERROR:  " prefix,
/// then any LINE/DETAIL/HINT/CONTEXT lines, and the SQLSTATE.
Status ErrorFromResult(const PGresult* res) {
  std::string text = PQresultErrorMessage(res);
  if (const char* severity = PQresultErrorField(res, PG_DIAG_SEVERITY)) {
    std::string prefix = std::string(severity) + ":  ";
    if (StartsWith(text, prefix)) text.erase(0, prefix.size());
  }
  const char* state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
  return Status::Database(Redact(Trim(text)), state != nullptr ? state : "");
}

/// Copies the rows, columns and command tag of `res` into `out`.
void FillResult(PGresult* res, Result* out) {
  int fields = PQnfields(res);
  int tuples = PQntuples(res);
  out->columns.clear();
  out->column_types.clear();
  for (int f = 0; f < fields; ++f) {
    out->columns.emplace_back(PQfname(res, f));
    out->column_types.push_back(PQftype(res, f));
  }
  out->rows.assign(tuples, {});
  for (int r = 0; r < tuples; ++r) {
    auto& row = out->rows[r];
    row.reserve(fields);
    for (int f = 0; f < fields; ++f) {
      if (PQgetisnull(res, r, f)) {
        row.emplace_back(std::nullopt);
      } else {
        row.emplace_back(std::string(PQgetvalue(res, r, f), PQgetlength(res, r, f)));
      }
    }
  }
  out->command = PQcmdStatus(res);
  // A plain SELECT reports its row count as the tag; it affected nothing.
  bool select = PQresultStatus(res) == PGRES_TUPLES_OK && StartsWith(out->command, "SELECT");
  const char* count = PQcmdTuples(res);
  out->affected = select || count[0] == '\0' ? 0 : std::strtoll(count, nullptr, 10);
}

/// One libpq connection.
class LibpqSession : public Session {
 public:
  explicit LibpqSession(PGconn* conn) : conn_(conn) {}
  ~LibpqSession() override { PQfinish(conn_); }
  LibpqSession(const LibpqSession&) = delete;
  LibpqSession& operator=(const LibpqSession&) = delete;

  Status Exec(const std::string& sql, Result* out) override {
    if (!PQsendQuery(conn_, sql.c_str())) return ConnectionError();
    return Finish(out);
  }

  Status Query(const std::string& sql, const std::vector<Value>& params, Result* out) override {
    std::vector<const char*> values;
    values.reserve(params.size());
    for (const Value& p : params) values.push_back(p ? p->c_str() : nullptr);
    if (!PQsendQueryParams(conn_, sql.c_str(), static_cast<int>(values.size()), nullptr,
                           values.data(), nullptr, nullptr, 0)) {
      return ConnectionError();
    }
    return Finish(out);
  }

  Status CopyOut(const std::string& copy_sql,
                 const std::function<Status(std::string_view)>& on_data) override {
    PLANRUN_RETURN_IF_ERROR(StartCopy(copy_sql, PGRES_COPY_OUT));
    std::string batch;
    Status failed;
    char* line = nullptr;
    int n;
    while ((n = PQgetCopyData(conn_, &line, 0)) > 0) {
      if (failed.ok()) batch.append(line, n);
      PQfreemem(line);
      if (failed.ok() && batch.size() >= kCopyBatchBytes) {
        failed = on_data(batch);
        batch.clear();
        if (!failed.ok()) Cancel();
      }
    }
    if (failed.ok() && !batch.empty() && n == -1) failed = on_data(batch);
    Status finished = n == -2 ? FinishAfterBrokenCopy() : Finish(nullptr);
    return failed.ok() ? finished : failed;
  }

  Status CopyIn(const std::string& copy_sql,
                const std::function<Status(std::string* chunk, bool* done)>& next,
                int64_t* rows) override {
    PLANRUN_RETURN_IF_ERROR(StartCopy(copy_sql, PGRES_COPY_IN));
    std::string chunk;
    for (bool done = false; !done;) {
      chunk.clear();
      Status st = next(&chunk, &done);
      if (!st.ok()) {
        PQputCopyEnd(conn_, "aborted by planrun");
        Finish(nullptr);
        return st;
      }
      if (!chunk.empty() &&
          PQputCopyData(conn_, chunk.data(), static_cast<int>(chunk.size())) != 1) {
        return FinishAfterBrokenCopy();
      }
    }
    if (PQputCopyEnd(conn_, nullptr) != 1) return FinishAfterBrokenCopy();
    Result result;
    PLANRUN_RETURN_IF_ERROR(Finish(&result));
    if (rows != nullptr) *rows = result.affected;
    return Status::OK();
  }

  int BackendPid() const override { return PQbackendPID(conn_); }

  bool IsOpen() const override { return PQstatus(conn_) == CONNECTION_OK; }

 private:
  /// The error of `res`; one libpq made up without a SQLSTATE because the
  /// connection broke gets 08006.
  Status ResultError(const PGresult* res) const {
    Status st = ErrorFromResult(res);
    if (st.sqlstate().empty() && PQstatus(conn_) == CONNECTION_BAD) {
      return Status::Database(st.message(), kConnectionFailure);
    }
    return st;
  }

  /// libpq's message for a failure outside any statement result.
  Status ConnectionError() const {
    return Status::Database(Redact(Trim(PQerrorMessage(conn_))), kConnectionFailure);
  }

  /// Reads every result of what was sent last; `out` (may be null) gets the
  /// last statement's result. The first error wins, but every result is read
  /// so the connection is ready for the next statement.
  Status Finish(Result* out) {
    Status first;
    ResultPtr last;
    while (ResultPtr res{PQgetResult(conn_)}) {
      switch (PQresultStatus(res.get())) {
        case PGRES_COMMAND_OK:
        case PGRES_TUPLES_OK:
        case PGRES_EMPTY_QUERY:
          last = std::move(res);
          break;
        case PGRES_COPY_IN:
          PQputCopyEnd(conn_, "COPY FROM STDIN needs Session::CopyIn");
          break;
        case PGRES_COPY_OUT:
          DiscardCopyData();
          if (first.ok()) first = Status::Invalid("COPY TO STDOUT needs Session::CopyOut");
          break;
        default:
          if (first.ok()) first = ResultError(res.get());
          break;
      }
    }
    if (!first.ok()) return first;
    if (last == nullptr) return ConnectionError();
    if (out != nullptr) FillResult(last.get(), out);
    return Status::OK();
  }

  /// Sends a COPY statement and checks that the server entered `expected`
  /// mode; anything else (an error, a statement that is not such a COPY) is
  /// read to its end and reported.
  Status StartCopy(const std::string& copy_sql, ExecStatusType expected) {
    if (!PQsendQuery(conn_, copy_sql.c_str())) return ConnectionError();
    ResultPtr res{PQgetResult(conn_)};
    ExecStatusType got = res != nullptr ? PQresultStatus(res.get()) : PGRES_FATAL_ERROR;
    if (got == expected) return Status::OK();
    const char* wanted = expected == PGRES_COPY_IN ? "COPY FROM STDIN" : "COPY TO STDOUT";
    Status st =
        res == nullptr ? ConnectionError()
        : got == PGRES_FATAL_ERROR
            ? ResultError(res.get())
            : Status::Invalid(std::string("not a ") + wanted + " statement: " + Redact(copy_sql));
    if (got == PGRES_COPY_IN) PQputCopyEnd(conn_, "not a COPY FROM STDIN statement");
    if (got == PGRES_COPY_OUT) DiscardCopyData();
    Finish(nullptr);
    return st;
  }

  /// Reads and drops the rest of a COPY TO STDOUT.
  void DiscardCopyData() {
    char* line = nullptr;
    while (PQgetCopyData(conn_, &line, 0) > 0) PQfreemem(line);
  }

  /// After PQputCopyData/PQputCopyEnd failed: the server's error if it sent
  /// one (bad data ends the COPY early), else libpq's.
  Status FinishAfterBrokenCopy() {
    Status connection = ConnectionError();
    Status st = Finish(nullptr);
    return st.ok() ? connection : st;
  }

  /// Asks the server to cancel the running statement.
  void Cancel() {
    PGcancel* cancel = PQgetCancel(conn_);
    if (cancel == nullptr) return;
    char error[256];
    PQcancel(cancel, error, sizeof error);
    PQfreeCancel(cancel);
  }

  PGconn* conn_;
};

/// Keeps server notices (e.g. "schema already exists, skipping") off stderr.
void IgnoreNotice(void*, const char*) {}

}  // namespace

Status Connect(const ConnectOptions& options, std::unique_ptr<Session>* out) {
  RegisterConninfoSecrets(options.conninfo);
  if (!options.conninfo.empty()) {
    char* error = nullptr;
    PQconninfoOption* parsed = PQconninfoParse(options.conninfo.c_str(), &error);
    if (parsed == nullptr) {
      std::string message = error != nullptr ? Trim(error) : "out of memory";
      PQfreemem(error);
      return Status::Invalid(Redact("invalid connection string: " + message));
    }
    PQconninfoFree(parsed);
  }
  // Later entries override the expanded conninfo, earlier ones are overridden by it.
  std::string timeout = std::to_string(options.connect_timeout_s);
  // TCP keepalives notice a dead server or network within about a minute
  // instead of the kernel's two hours; the conninfo may override them.
  const char* keys[] = {"connect_timeout",  "keepalives", "keepalives_idle",  "keepalives_interval",
                        "keepalives_count", "dbname",     "application_name", nullptr};
  const char* values[] = {timeout.c_str(),
                          "1",
                          "30",
                          "10",
                          "3",
                          options.conninfo.c_str(),
                          options.application_name.c_str(),
                          nullptr};
  PGconn* conn = PQconnectdbParams(keys, values, /*expand_dbname=*/1);
  if (conn == nullptr) return Status::Database("cannot connect to PostgreSQL: out of memory");
  if (PQstatus(conn) != CONNECTION_OK) {
    auto part = [](const char* s) { return std::string(s != nullptr ? s : ""); };
    std::string message = "cannot connect to PostgreSQL (" +
                          FormatTarget(part(PQhost(conn)), part(PQport(conn)), part(PQdb(conn))) +
                          " as " + part(PQuser(conn)) + "): " + Trim(PQerrorMessage(conn));
    PQfinish(conn);
    // Refused, timed out, starting up or shutting down may pass; a bad
    // password or a missing database will not.
    const bool transient = message.find("authentication") == std::string::npos &&
                           message.find("does not exist") == std::string::npos &&
                           message.find("permission denied") == std::string::npos &&
                           message.find("no pg_hba.conf entry") == std::string::npos &&
                           message.find("certificate") == std::string::npos &&
                           message.find("SSL") == std::string::npos;
    return Status::Database(Redact(message), transient ? kCannotConnect : "");
  }
  PQsetNoticeProcessor(conn, IgnoreNotice, nullptr);
  auto session = std::make_unique<LibpqSession>(conn);
  std::string setup = kSessionSetup;
  // A session holding the migration lock sits idle while steps run on other
  // sessions; a server-wide idle_session_timeout (PostgreSQL 14+) must not
  // end it and free the lock under a running plan.
  if (PQserverVersion(conn) >= 140000) setup += "; SET idle_session_timeout = 0";
  Status st = session->Exec(setup, nullptr);
  if (!st.ok()) return st.WithContext("cannot set up the PostgreSQL session");
  *out = std::move(session);
  return Status::OK();
}

SessionFactory MakeSessionFactory(ConnectOptions options) {
  return [options](const std::string& application_name, std::unique_ptr<Session>* out) {
    ConnectOptions o = options;
    o.application_name = application_name;
    return Connect(o, out);
  };
}

}  // namespace pg
}  // namespace planrun
