#include "karyon/postprocess/results_folder.hpp"

#include <unistd.h>

#include <string>

#include "karyon/core/sha1.hpp"

namespace karyon::postprocess {
namespace fs = std::filesystem;

namespace {
bool writable(const fs::path& p) { return ::access(p.c_str(), W_OK) == 0; }
}  // namespace

fs::path default_results_folder(const fs::path& slide, const std::optional<core::Level0Rect>& region,
                                const fs::path& per_user_dir) {
  const fs::path absolute = fs::absolute(slide).lexically_normal();
  fs::path base = absolute.string() + ".karyon";
  std::error_code ec;
  const bool usable = fs::exists(base, ec) ? fs::is_directory(base, ec) && writable(base) : writable(absolute.parent_path());
  if (!usable)
    base = per_user_dir / "results" /
           (absolute.filename().string() + "-" + core::sha1_hex(absolute.string()).substr(0, 10) + ".karyon");
  if (!region) return base;
  const auto& r = *region;
  return base / "regions" /
         ("x" + std::to_string(r.x) + "_y" + std::to_string(r.y) + "_w" + std::to_string(r.width) + "_h" +
          std::to_string(r.height));
}

}  // namespace karyon::postprocess
