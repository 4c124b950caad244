#pragma once
// UUIDs for nuclei (GeoJSON feature ids, QuPath object ids), RFC 9562 (formerly 4122):
//   random_uuid()       version 4, for nuclei a person draws or imports without an id;
//   name_based_uuid()   version 5 (SHA-1 of a namespace and a name), for ids that must come out the same
//                       when the same input is processed again (a resumed run, the synthetic truth).
#include <array>
#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <string_view>

#include "karyon/core/sha1.hpp"

namespace karyon::core {

using UuidBytes = std::array<unsigned char, 16>;

inline std::string format_uuid(const UuidBytes& u) {
  char s[37];
  std::snprintf(s, sizeof s, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", u[0], u[1], u[2],
                u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15]);
  return s;
}

// Sets the version nibble and the RFC variant bits.
inline void stamp_uuid_version(UuidBytes& u, int version) {
  u[6] = static_cast<unsigned char>((u[6] & 0x0f) | (version << 4));
  u[8] = static_cast<unsigned char>((u[8] & 0x3f) | 0x80);
}

inline std::string random_uuid() {
  static thread_local std::mt19937_64 rng{(static_cast<std::uint64_t>(std::random_device{}()) << 32) ^
                                          std::random_device{}()};
  UuidBytes u;
  for (int half = 0; half < 2; ++half) {
    const std::uint64_t r = rng();
    for (int i = 0; i < 8; ++i) u[half * 8 + i] = static_cast<unsigned char>(r >> (8 * i));
  }
  stamp_uuid_version(u, 4);
  return format_uuid(u);
}

// The namespace of Karyon's name-based ids: uuid5(NAMESPACE_URL, "https://github.com/karyon/nucleus").
inline constexpr UuidBytes kKaryonUuidNamespace = {0xe6, 0x15, 0x02, 0xb9, 0x27, 0x82, 0x51, 0x4c,
                                                   0xb7, 0x3d, 0xd1, 0x78, 0x00, 0xb0, 0xd6, 0x30};

// Version 5: the first 16 bytes of SHA-1(namespace || name) with version and variant stamped.
inline std::string name_based_uuid(std::string_view name, const UuidBytes& name_space = kKaryonUuidNamespace) {
  const Sha1Digest digest =
      sha1({std::string_view(reinterpret_cast<const char*>(name_space.data()), name_space.size()), name});
  UuidBytes u;
  for (int i = 0; i < 16; ++i) u[i] = digest[i];
  stamp_uuid_version(u, 5);
  return format_uuid(u);
}

}  // namespace karyon::core
