#include "run/control.h"

#include <string>

namespace planrun {

Status ControlSession::Open(RunEnv* env, int64_t lock_timeout_ms) {
  PLANRUN_RETURN_IF_ERROR(env->sessions(env->AppName(), &session_));
  lock_ = std::make_unique<MigrationLock>(session_.get(), env->names.tracking);
  PLANRUN_RETURN_IF_ERROR(lock_->Acquire(lock_timeout_ms));
  const int holder_pid = session_->BackendPid();
  const std::string tracking = env->names.tracking;
  env->check_lock = [holder_pid, tracking](pg::Session& s) {
    return MigrationLock::CheckHeld(s, tracking, holder_pid);
  };
  return Status::OK();
}

}  // namespace planrun
