#include "log.hpp"

#include <spdlog/spdlog.h>

namespace karyon::inference::log {

void debug(const std::string& msg) { spdlog::debug("{}", msg); }
void info(const std::string& msg) { spdlog::info("{}", msg); }
void warn(const std::string& msg) { spdlog::warn("{}", msg); }
void error(const std::string& msg) { spdlog::error("{}", msg); }

}  // namespace karyon::inference::log
