// Reconnecting after the server went away: `apply --retry N` and
// `rollback --retry N` run the whole command again on new connections, which
// resumes it from what the tracking tables say committed (every step and
// batch commits together with its tracking row, so a re-run neither repeats
// nor skips work).
#pragma once

#include <functional>
#include <string>

#include "report/reporter.h"
#include "util/status.h"

namespace planrun {

/// Whether `st` says the connection to PostgreSQL broke or the server is
/// going away or not accepting connections yet (SQLSTATE class 08, 57P01,
/// 57P02, 57P03).
bool IsConnectionLoss(const Status& st);

/// The wait before reconnect number `retry` (0-based): 1s, 2s, 4s ... capped
/// at 30s, plus up to 20% jitter drawn from `jitter` in [0, 1).
int64_t ReconnectDelayMs(int retry, double jitter);

/// Runs `run`; while it ends in a connection loss and fewer than `retries`
/// retries were made, waits ReconnectDelayMs and runs it again. A connection
/// loss that is not retried gets a hint on how to resume. `command` names
/// what is retried ("apply").
Status RunWithReconnect(int retries, Reporter& out, const std::string& command,
                        const std::function<Status()>& run);

}  // namespace planrun
