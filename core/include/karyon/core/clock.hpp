#pragma once
// The one timestamp format of Karyon's records (store edits, batch reports and logs): ISO 8601 in UTC with
// milliseconds, e.g. 2026-12-01T19:29:54.123Z, so that records written within one second still sort.
#include <chrono>
#include <cstdio>
#include <ctime>
#include <string>

namespace karyon::core {

inline std::string utc_timestamp() {
  const auto now = std::chrono::system_clock::now();
  const auto t = std::chrono::system_clock::to_time_t(now);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char date[32];
  std::strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm);
  char buf[48];
  std::snprintf(buf, sizeof buf, "%s.%03dZ", date, static_cast<int>(ms));
  return buf;
}

}  // namespace karyon::core
