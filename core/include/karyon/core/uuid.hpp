#pragma once
// UUIDs for nuclei (GeoJSON feature ids, QuPath object ids): RFC 4122 version-4 layout over 128 bits
// that the caller supplies (random, or hashed from stable inputs when ids must be reproducible).
#include <cstdint>
#include <cstdio>
#include <string>

namespace karyon::core {

inline std::string format_uuid_v4(std::uint64_t a, std::uint64_t b) {
  char s[37];
  std::snprintf(s, sizeof s, "%08x-%04x-4%03x-%04x-%012llx", static_cast<unsigned>(a >> 32),
                static_cast<unsigned>((a >> 16) & 0xffff), static_cast<unsigned>(a & 0xfff),
                static_cast<unsigned>(0x8000 | ((b >> 48) & 0x3fff)),
                static_cast<unsigned long long>(b & 0xffffffffffffULL));
  return s;
}

}  // namespace karyon::core
