// Secrets: passwords and tokens that must never appear in any output. Code
// that learns a secret registers it; every text bound for a terminal, a log,
// a file or a tracking table passes through Redact(). Thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace planrun {

/// Remembers `secret` (ignored when shorter than 3 bytes) for Redact().
void RegisterSecret(std::string_view secret);

/// `text` with every registered secret, and any password written in a
/// connection URL ("://user:PASSWORD@") or key=value string ("password=..."),
/// replaced by "***".
std::string Redact(std::string_view text);

/// Forgets every registered secret (tests only).
void ClearSecretsForTesting();

}  // namespace planrun
