#pragma once
// Logging shim. spdlog (with Debian's libfmt) cannot be included in a TU that sees LibTorch's
// include directory, which ships its own, newer fmt; so torch TUs log through these functions,
// compiled in a TU without torch include paths.
#include <string>

namespace karyon::inference::log {

void debug(const std::string& msg);
void info(const std::string& msg);
void warn(const std::string& msg);
void error(const std::string& msg);

}  // namespace karyon::inference::log
