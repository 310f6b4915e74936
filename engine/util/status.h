// Status: the result of an operation that can fail, in the style of LevelDB's
// Status. Cheap on success (no allocation); on failure it carries a kind, a
// message written for the user and, for database errors, the SQLSTATE.
// Nothing in planrun throws across a folder boundary: adapters for libraries
// that throw (yaml-cpp) catch and convert to Status.
#pragma once

#include <memory>
#include <string>

namespace planrun {

/// What went wrong; each kind maps to one process exit code (see ExitCode).
enum class StatusCode {
  kOk = 0,
  kFailed,       // a step or an assertion failed (exit 1)
  kInvalid,      // bad plan or bad usage (exit 2)
  kLockTimeout,  // the migration lock was not acquired in time (exit 3)
  kRefused,      // drift, out of order, irreversible (exit 4)
  kDatabase,     // an error reported by PostgreSQL or libpq (exit 1)
  kIo,           // a file could not be read or written (exit 1)
  kInternal,     // a bug in planrun (exit 1)
};

/// The outcome of an operation: ok, or a kind and a user-facing message.
class Status {
 public:
  Status() = default;
  static Status OK() { return Status(); }
  static Status Failed(std::string msg, std::string sqlstate = "") {
    return Status(StatusCode::kFailed, std::move(msg), std::move(sqlstate));
  }
  static Status Invalid(std::string msg) { return Status(StatusCode::kInvalid, std::move(msg)); }
  static Status LockTimeout(std::string msg) {
    return Status(StatusCode::kLockTimeout, std::move(msg));
  }
  static Status Refused(std::string msg) { return Status(StatusCode::kRefused, std::move(msg)); }
  static Status Database(std::string msg, std::string sqlstate = "") {
    return Status(StatusCode::kDatabase, std::move(msg), std::move(sqlstate));
  }
  static Status Io(std::string msg) { return Status(StatusCode::kIo, std::move(msg)); }
  static Status Internal(std::string msg) { return Status(StatusCode::kInternal, std::move(msg)); }

  bool ok() const { return rep_ == nullptr; }
  StatusCode code() const { return rep_ ? rep_->code : StatusCode::kOk; }
  /// The message; empty when ok().
  const std::string& message() const;
  /// The five-character SQLSTATE of a database error, else empty.
  const std::string& sqlstate() const;
  /// A copy whose message reads "<context>: <message>"; ok stays ok.
  Status WithContext(const std::string& context) const;
  /// The same kind of error (code, SQLSTATE) with another message.
  Status WithMessage(std::string message) const;

 private:
  struct Rep {
    StatusCode code;
    std::string message;
    std::string sqlstate;
  };
  Status(StatusCode code, std::string msg, std::string sqlstate = "");
  std::shared_ptr<const Rep> rep_;
};

/// The process exit code for a status: 0 ok, 1 failed, 2 invalid, 3 lock, 4 refused.
int ExitCode(const Status& s);

}  // namespace planrun

/// Returns from the enclosing function when `expr` yields a non-ok Status.
#define PLANRUN_RETURN_IF_ERROR(expr)                  \
  do {                                                 \
    ::planrun::Status planrun_status_ = (expr);        \
    if (!planrun_status_.ok()) return planrun_status_; \
  } while (0)
