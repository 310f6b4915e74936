// SHA-256 for plan checksums and backup files; the only code that talks to
// OpenSSL. Not thread-safe per object; separate objects are independent.
#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace planrun {

/// Incremental SHA-256.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  /// Feeds more bytes.
  void Update(std::string_view bytes);
  /// The lower-case hex digest; the object is spent afterwards.
  std::string HexDigest();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// Hex SHA-256 of `bytes` in one call.
std::string Sha256Hex(std::string_view bytes);

}  // namespace planrun
