// Where results go when the user does not choose (issue 15 item 1: the rule left ui/ for postprocess/).
#include <gtest/gtest.h>

#include "karyon/postprocess/results_folder.hpp"
#include "test_support.hpp"

using namespace karyon;
namespace fs = std::filesystem;

TEST(ResultsFolder, beside_the_slide_when_writable_else_per_user_with_a_path_hash) {
  const fs::path dir = test::scratch_dir() / "results_folder";
  fs::create_directories(dir);
  const fs::path slide = dir / "slide.svs";
  EXPECT_EQ(postprocess::default_results_folder(slide, std::nullopt, "/per/user"), fs::path(slide.string() + ".karyon"));
  EXPECT_EQ(postprocess::default_results_folder(slide, core::Level0Rect{1, 2, 3, 4}, "/per/user"),
            fs::path(slide.string() + ".karyon") / "regions" / "x1_y2_w3_h4");
  // A folder that cannot be written (here: one that does not exist, which even root cannot write to).
  // python3 -c "import hashlib; print(hashlib.sha1(b'/nonexistent/archive/case 7.svs').hexdigest()[:10])"
  EXPECT_EQ(postprocess::default_results_folder("/nonexistent/archive/case 7.svs", std::nullopt, "/per/user"),
            fs::path("/per/user/results/case 7.svs-c35f2c3d4b.karyon"));
  // A file where the results folder would be: not usable, so the per-user folder is used.
  const fs::path blocked = dir / "blocked.svs";
  test::write_bytes(fs::path(blocked.string() + ".karyon"), "x");
  EXPECT_EQ(postprocess::default_results_folder(blocked, std::nullopt, "/per/user").parent_path(),
            fs::path("/per/user/results"));
}
