#pragma once
// Where a slide's results live when the user does not choose a folder: one rule for the app and any
// script, so that both find the same results again.
#include <filesystem>
#include <optional>

#include "karyon/core/geometry.hpp"

namespace karyon::postprocess {

// SLIDE.karyon beside the slide when that folder can be written (or created); otherwise, for a read-only
// archive or share, PER_USER_DIR/results/<slide file name>-<first 10 hex digits of SHA-1 of the slide's
// absolute path>.karyon, so two slides with the same name do not collide. A region's results go to
// regions/x<X>_y<Y>_w<W>_h<H> inside it (level-0 px).
std::filesystem::path default_results_folder(const std::filesystem::path& slide,
                                             const std::optional<core::Level0Rect>& region,
                                             const std::filesystem::path& per_user_dir);

}  // namespace karyon::postprocess
