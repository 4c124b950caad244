// UUIDs and timestamps against their standards: RFC 9562's own version-5 example, and Python's uuid module
// for Karyon's namespace (python3 -c "import uuid; ns = uuid.uuid5(uuid.NAMESPACE_URL,
// 'https://github.com/karyon/nucleus'); print(ns, uuid.uuid5(ns, 'run 12345/tile 7/nucleus 3'))").
#include <gtest/gtest.h>

#include <regex>
#include <set>

#include "karyon/core/clock.hpp"
#include "karyon/core/hash.hpp"
#include "karyon/core/uuid.hpp"

using namespace karyon;

TEST(Uuid, name_based_is_rfc_version_5) {
  // RFC 9562 appendix A.4: "www.example.com" in the DNS namespace.
  const core::UuidBytes dns = {0x6b, 0xa7, 0xb8, 0x10, 0x9d, 0xad, 0x11, 0xd1,
                               0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8};
  EXPECT_EQ(core::name_based_uuid("www.example.com", dns), "2ed6657d-e927-568b-95e1-2665a8aea6a2");
  EXPECT_EQ(core::name_based_uuid("run 12345/tile 7/nucleus 3"), "1629af45-57e9-5800-92f3-0e9c8b053163");
  EXPECT_EQ(core::name_based_uuid("https://github.com/karyon/nucleus",
                                  {0x6b, 0xa7, 0xb8, 0x11, 0x9d, 0xad, 0x11, 0xd1, 0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4,
                                   0x30, 0xc8}),  // NAMESPACE_URL
            core::format_uuid(core::kKaryonUuidNamespace));
  EXPECT_NE(core::name_based_uuid("run 12345/tile 7/nucleus 3"), core::name_based_uuid("run 12345/tile 7/nucleus 4"));
}

TEST(Uuid, random_is_version_4_and_does_not_repeat) {
  const std::regex v4("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    const std::string u = core::random_uuid();
    ASSERT_TRUE(std::regex_match(u, v4)) << u;
    seen.insert(u);
  }
  EXPECT_EQ(seen.size(), 1000u);
}

TEST(Hash, mix64_is_splitmix64) {
  // splitmix64 seeded with 0 yields 0xe220a8397b1dcdaf first (Vigna's reference generator adds the
  // increment before mixing, as mix64 does).
  EXPECT_EQ(core::mix64(0), 0xe220a8397b1dcdafULL);
  EXPECT_NE(core::mix64(1), core::mix64(2));
}

TEST(Clock, utc_timestamp_is_iso_8601_with_milliseconds) {
  const std::string t = core::utc_timestamp();
  EXPECT_TRUE(std::regex_match(t, std::regex(R"(20\d\d-[01]\d-[0-3]\dT[0-2]\d:[0-5]\d:[0-6]\d\.\d{3}Z)"))) << t;
}
