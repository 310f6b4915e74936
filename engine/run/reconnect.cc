#include "run/reconnect.h"

#include <chrono>
#include <random>
#include <thread>

#include "util/strings.h"

namespace planrun {

bool IsConnectionLoss(const Status& st) {
  const std::string& state = st.sqlstate();
  return !st.ok() &&
         (StartsWith(state, "08") || state == "57P01" || state == "57P02" || state == "57P03");
}

int64_t ReconnectDelayMs(int retry, double jitter) {
  const int64_t base = std::min<int64_t>(30000, 1000LL << std::min(retry, 5));
  return base + static_cast<int64_t>(static_cast<double>(base) * 0.2 * jitter);
}

Status RunWithReconnect(int retries, Reporter& out, const std::string& command,
                        const std::function<Status()>& run) {
  std::mt19937_64 rng(std::random_device{}());
  std::uniform_real_distribution<double> jitter(0.0, 1.0);
  for (int retry = 0;; ++retry) {
    Status st = run();
    if (!IsConnectionLoss(st)) return st;
    if (retry >= retries) {
      // Never connected at all (the server is down, a wrong host): nothing
      // was lost, and the error says why.
      if (retry == 0 && st.sqlstate() == "08001") return st;
      const std::string how = retries > 0 ? "; it was lost again after " + std::to_string(retries) +
                                                (retries == 1 ? " reconnect" : " reconnects")
                                          : "";
      return Status::Failed(st.message() + "\nthe connection to PostgreSQL was lost" + how +
                                ". Everything committed before that is kept (planrun status "
                                "shows where it stopped): run planrun " +
                                command +
                                " again to resume, or pass --retry N to reconnect "
                                "on its own",
                            st.sqlstate());
    }
    const int64_t delay = ReconnectDelayMs(retry, jitter(rng));
    out.Warn(
        "lost the connection to PostgreSQL: " + st.message().substr(0, st.message().find('\n')) +
        "; reconnecting in " + HumanDuration(delay) + " (retry " + std::to_string(retry + 1) +
        " of " + std::to_string(retries) + ")");
    std::this_thread::sleep_for(std::chrono::milliseconds(delay));
  }
}

}  // namespace planrun
