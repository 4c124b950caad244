// Karyon's reader against openslide-python on the real slides of shared/data (reference written by
// openslide_reference.py in the ctest fixture).
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>

#include "karyon/tiling/slide.hpp"
#include "test_support.hpp"

using namespace karyon;

namespace {

std::vector<std::uint8_t> base64_decode(const std::string& in) {
  static const std::string chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::vector<std::uint8_t> out;
  int val = 0, bits = -8;
  for (char c : in) {
    const auto pos = chars.find(c);
    if (pos == std::string::npos) break;
    val = (val << 6) + static_cast<int>(pos);
    bits += 6;
    if (bits >= 0) {
      out.push_back(static_cast<std::uint8_t>((val >> bits) & 0xff));
      bits -= 8;
    }
  }
  return out;
}

nlohmann::json load_reference() {
  const char* path = std::getenv("KARYON_OPENSLIDE_REFERENCE");
  if (!path) return nullptr;
  std::ifstream in(path);
  if (!in) return nullptr;
  return nlohmann::json::parse(in);
}

class OpenSlideParity : public ::testing::TestWithParam<std::string> {};

TEST_P(OpenSlideParity, geometry_mpp_and_pixels_equal_openslide_python) {
  const auto ref_all = load_reference();
  if (ref_all.is_null()) GTEST_SKIP() << "no openslide-python reference (run through ctest)";
  const auto& ref = ref_all.at(GetParam());
  KARYON_SHARED_FILE(path, ref.at("path").get<std::string>());
  const auto slide = tiling::Slide::open(path);
  const auto& m = slide->metadata();

  ASSERT_EQ(m.levels.size(), ref["level_dimensions"].size());
  for (std::size_t i = 0; i < m.levels.size(); ++i) {
    EXPECT_EQ(m.levels[i].width, ref["level_dimensions"][i][0].get<std::int64_t>());
    EXPECT_EQ(m.levels[i].height, ref["level_dimensions"][i][1].get<std::int64_t>());
    EXPECT_NEAR(m.levels[i].downsample, ref["level_downsamples"][i].get<double>(), 1e-9);
  }
  EXPECT_EQ(m.format, ref["vendor"].get<std::string>());
  if (ref["mpp_x"].is_null()) {
    EXPECT_FALSE(m.mpp_x.has_value()) << "Karyon invented a µm/px: " << *m.mpp_x;
  } else {
    ASSERT_TRUE(m.mpp_x.has_value());
    EXPECT_NEAR(*m.mpp_x, std::stod(ref["mpp_x"].get<std::string>()), 1e-9);
    EXPECT_NEAR(*m.mpp_y, std::stod(ref["mpp_y"].get<std::string>()), 1e-9);
  }
  if (!ref["objective_power"].is_null()) {
    ASSERT_TRUE(m.objective_power.has_value());
    EXPECT_NEAR(*m.objective_power, std::stod(ref["objective_power"].get<std::string>()), 1e-9);
  }
  auto assoc = m.associated_images;
  std::sort(assoc.begin(), assoc.end());
  EXPECT_EQ(assoc, ref["associated_images"].get<std::vector<std::string>>());

  for (const auto& r : ref["regions"]) {
    core::RgbImage img;
    slide->read_region(r["level"], r["x"], r["y"], r["w"], r["h"], img);
    const auto expected = base64_decode(r["rgb"].get<std::string>());
    ASSERT_EQ(img.pixels.size(), expected.size());
    std::size_t exact = 0;
    int max_diff = 0;
    for (std::size_t i = 0; i < expected.size(); ++i) {
      const int d = std::abs(int(img.pixels[i]) - int(expected[i]));
      exact += d == 0;
      max_diff = std::max(max_diff, d);
    }
    // Identical but for ±1 from premultiplied vs straight alpha at partially transparent edges.
    EXPECT_LE(max_diff, 1) << GetParam() << " region " << r.dump(-1).substr(0, 60);
    EXPECT_GE(exact, expected.size() * 99 / 100) << GetParam();
  }
}

INSTANTIATE_TEST_SUITE_P(RealSlides, OpenSlideParity,
                         ::testing::Values("cmu-1-small-region.svs", "tcga-cr-7395-01a-01-ts1.svs", "small.svs",
                                           "boxes.tiff"),
                         [](const auto& info) {
                           std::string n = info.param;
                           for (auto& c : n) if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           return n;
                         });

}  // namespace
