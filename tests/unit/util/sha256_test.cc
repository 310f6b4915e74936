#include "util/sha256.h"

#include <catch2/catch.hpp>

namespace planrun {
namespace {

TEST_CASE("Sha256Hex matches the standard test vectors") {
  CHECK(Sha256Hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(Sha256Hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(Sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  CHECK(Sha256Hex(std::string(1000000, 'a')) ==
        "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST_CASE("Sha256 fed in pieces equals one call") {
  Sha256 h;
  h.Update("ab");
  h.Update("");
  h.Update("c");
  CHECK(h.HexDigest() == Sha256Hex("abc"));
}

TEST_CASE("Sha256 hashes binary bytes including NUL") {
  CHECK(Sha256Hex(std::string("a\0b", 3)) != Sha256Hex("ab"));
  CHECK(Sha256Hex(std::string("a\0b", 3)).size() == 64);
}

TEST_CASE("Separate Sha256 objects are independent") {
  Sha256 a, b;
  a.Update("abc");
  b.Update("xyz");
  CHECK(a.HexDigest() == Sha256Hex("abc"));
  CHECK(b.HexDigest() == Sha256Hex("xyz"));
}

}  // namespace
}  // namespace planrun
