#include "util/status.h"

namespace planrun {

namespace {
const std::string& Empty() {
  static const std::string* empty = new std::string();
  return *empty;
}
}  // namespace

Status::Status(StatusCode code, std::string msg, std::string sqlstate)
    : rep_(std::make_shared<const Rep>(Rep{code, std::move(msg), std::move(sqlstate)})) {}

const std::string& Status::message() const { return rep_ ? rep_->message : Empty(); }

const std::string& Status::sqlstate() const { return rep_ ? rep_->sqlstate : Empty(); }

Status Status::WithContext(const std::string& context) const {
  if (ok()) return *this;
  return Status(rep_->code, context + ": " + rep_->message, rep_->sqlstate);
}

Status Status::WithMessage(std::string message) const {
  if (ok()) return *this;
  return Status(rep_->code, std::move(message), rep_->sqlstate);
}

int ExitCode(const Status& s) {
  switch (s.code()) {
    case StatusCode::kOk:
      return 0;
    case StatusCode::kInvalid:
      return 2;
    case StatusCode::kLockTimeout:
      return 3;
    case StatusCode::kRefused:
      return 4;
    case StatusCode::kFailed:
    case StatusCode::kDatabase:
    case StatusCode::kIo:
    case StatusCode::kInternal:
      return 1;
  }
  return 1;
}

}  // namespace planrun
