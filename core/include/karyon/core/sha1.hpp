#pragma once
// SHA-1 through OpenSSL, for names and ids derived from text (UUID v5, per-slide folder names); never for
// integrity or security (the weights use SHA-256).
#include <openssl/evp.h>

#include <array>
#include <cstdio>
#include <initializer_list>
#include <stdexcept>
#include <string>
#include <string_view>

namespace karyon::core {

using Sha1Digest = std::array<unsigned char, 20>;

// SHA-1 of the concatenation of `parts`.
inline Sha1Digest sha1(std::initializer_list<std::string_view> parts) {
  Sha1Digest d{};
  unsigned int length = 0;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  bool ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha1(), nullptr) == 1;
  for (const auto& p : parts) ok = ok && EVP_DigestUpdate(ctx, p.data(), p.size()) == 1;
  ok = ok && EVP_DigestFinal_ex(ctx, d.data(), &length) == 1 && length == d.size();
  EVP_MD_CTX_free(ctx);
  if (!ok) throw std::runtime_error("SHA-1 failed (OpenSSL)");
  return d;
}

inline std::string sha1_hex(std::string_view text) {
  const Sha1Digest d = sha1({text});
  std::string hex;
  char b[3];
  for (unsigned char c : d) {
    std::snprintf(b, sizeof b, "%02x", c);
    hex += b;
  }
  return hex;
}

}  // namespace karyon::core
