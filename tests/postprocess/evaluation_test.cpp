#include <gtest/gtest.h>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <set>

#include "karyon/core/errors.hpp"
#include "karyon/postprocess/annotations.hpp"
#include "karyon/postprocess/evaluation.hpp"
#include "test_support.hpp"

using namespace karyon;
namespace fs = std::filesystem;

namespace {

core::Nucleus square(double x, double y, double size) {
  core::Nucleus n;
  n.polygon.outer = {{x, y}, {x + size, y}, {x + size, y + size}, {x, y + size}};
  return n;
}

TEST(Evaluation, identical_sets_score_one) {
  std::vector<core::Nucleus> a{square(0, 0, 10), square(20, 0, 10), square(0, 40, 6)};
  const auto r = postprocess::evaluate(a, a);
  EXPECT_EQ(r.matched, 3);
  EXPECT_DOUBLE_EQ(r.f1, 1.0);
  EXPECT_DOUBLE_EQ(r.pq, 1.0);
  EXPECT_DOUBLE_EQ(r.aji, 1.0);
  EXPECT_DOUBLE_EQ(r.dice, 1.0);
}

TEST(Evaluation, known_overlaps_give_the_textbook_numbers) {
  // Truth 10x10; prediction shifted by 5 px: intersection 50, union 150.
  const auto r = postprocess::evaluate({square(0, 0, 10)}, {square(5, 0, 10)});
  EXPECT_EQ(r.matched, 0);  // IoU 1/3 is not a match
  EXPECT_DOUBLE_EQ(r.f1, 0.0);
  EXPECT_NEAR(r.aji, 50.0 / 150.0, 1e-12);
  EXPECT_NEAR(r.dice, 100.0 / 200.0, 1e-12);
  // Shift by 2: IoU 80/120 = 2/3, a match; one missed truth nucleus and one false positive.
  const auto s = postprocess::evaluate({square(0, 0, 10), square(100, 100, 10)}, {square(2, 0, 10), square(50, 50, 10)});
  EXPECT_EQ(s.matched, 1);
  EXPECT_DOUBLE_EQ(s.precision, 0.5);
  EXPECT_DOUBLE_EQ(s.recall, 0.5);
  EXPECT_DOUBLE_EQ(s.f1, 0.5);
  EXPECT_NEAR(s.sq, 80.0 / 120.0, 1e-12);
  EXPECT_NEAR(s.pq, 0.5 * 80.0 / 120.0, 1e-12);
  EXPECT_NEAR(s.aji, 80.0 / (120.0 + 100.0 + 100.0), 1e-12);  // unmatched truth and prediction join the union
}

TEST(Annotations, imagescope_xml_of_monuseg) {
  KARYON_SHARED_FILE(xml, "monuseg2018/train/annotations/TCGA-21-5784-01Z-00-DX1.xml");
  const auto nuclei = postprocess::read_annotations(xml);
  EXPECT_GT(nuclei.size(), 100u);
  for (const auto& n : nuclei) {
    EXPECT_GE(n.polygon.outer.size(), 3u);
    EXPECT_GE(n.bbox.x0, -1);
    EXPECT_LE(n.bbox.x1, 1001);
  }
  const auto self = postprocess::evaluate(nuclei, nuclei);
  EXPECT_DOUBLE_EQ(self.aji, 1.0);
}

TEST(Annotations, label_map_gives_one_nucleus_per_label) {
  KARYON_SHARED_FILE(dir, "monuseg2018/train_extra/labels");
  fs::path first;
  for (const auto& e : fs::directory_iterator(dir)) first = e.path();
  ASSERT_FALSE(first.empty());
  const cv::Mat labels = cv::imread(first.string(), cv::IMREAD_ANYDEPTH | cv::IMREAD_GRAYSCALE);
  std::set<int> distinct;
  for (int y = 0; y < labels.rows; ++y)
    for (int x = 0; x < labels.cols; ++x) {
      const int v = labels.depth() == CV_16U ? labels.at<std::uint16_t>(y, x) : labels.at<std::uint8_t>(y, x);
      if (v) distinct.insert(v);
    }
  const auto nuclei = postprocess::read_annotations(first);
  EXPECT_EQ(nuclei.size(), distinct.size());
  EXPECT_GT(nuclei.size(), 100u);
}

TEST(Annotations, mask_folder_gives_one_nucleus_per_png) {
  KARYON_SHARED_FILE(root, "dsb2018_bbbc038_he_subset/stage1_train");
  fs::path sample;
  for (const auto& e : fs::directory_iterator(root)) {
    sample = e.path();
    break;
  }
  std::size_t pngs = 0;
  for (const auto& e : fs::directory_iterator(sample / "masks")) pngs += e.path().extension() == ".png";
  const auto nuclei = postprocess::read_annotations(sample);
  EXPECT_EQ(nuclei.size(), pngs);
}

TEST(Annotations, bad_files_are_named_with_the_problem) {
  const auto bad = test::scratch_dir() / "broken.xml";
  test::write_bytes(bad, "<Annotations><Annotation><Regions><Region>");
  try {
    postprocess::read_annotations(bad);
    FAIL();
  } catch (const core::InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("broken.xml"), std::string::npos) << e.what();
  }
  EXPECT_THROW(postprocess::read_annotations(test::scratch_dir() / "absent.geojson"), core::InvalidArgument);
  test::write_bytes(test::scratch_dir() / "notes.txt", "x");
  EXPECT_THROW(postprocess::read_annotations(test::scratch_dir() / "notes.txt"), core::InvalidArgument);
  test::write_bytes(test::scratch_dir() / "labels.png", test::random_bytes(3000, 5));
  EXPECT_THROW(postprocess::read_annotations(test::scratch_dir() / "labels.png"), core::InvalidArgument);
}

// Found by tools/fuzz (fuzz_label_map, after fuzz_slide_open found it in the slide reader): label maps and
// masks went to every OpenCV decoder, e.g. a 1 KB "DICM" file whose first element claims 3 GB (GDCM allocated
// it, or aborted the process on an assertion). Label maps and masks are PNG or TIFF, whatever the name says.
TEST(Annotations, label_maps_and_masks_in_other_image_formats_are_refused) {
  cv::Mat one(16, 16, CV_8UC3, cv::Scalar(0, 0, 0));  // one colour nucleus on black (3 channels: HDR needs them)
  one(cv::Rect(4, 4, 6, 6)).setTo(cv::Scalar(40, 80, 120));
  const auto dir = test::scratch_dir() / "other_formats";
  fs::create_directories(dir);
  for (const char* ext : {".bmp", ".ppm", ".hdr", ".ras"}) {
    const auto real = dir / (std::string("labels") + ext), named_png = dir / (std::string("labels_") + (ext + 1) + ".png");
    ASSERT_TRUE(cv::imwrite(real.string(), one)) << ext;
    fs::copy_file(real, named_png, fs::copy_options::overwrite_existing);
    try {
      postprocess::read_label_map(named_png);
      FAIL() << named_png << " read as a label map";
    } catch (const core::InvalidArgument& e) {
      EXPECT_NE(std::string(e.what()).find("not a PNG or TIFF"), std::string::npos) << e.what();
    }
  }
  std::string dicom(128, '\0');  // DICOM preamble, magic, then (0002,0001) OB with a length of 0xB1000000
  dicom += std::string("DICM\x02\x00\x01\x00OB\x00\x00\x00\x00\x00\xb1", 16) + std::string(900, '\x26');
  const auto masks = dir / "masks_folder" / "masks";
  fs::create_directories(masks);
  test::write_bytes(masks / "a.png", dicom);
  EXPECT_THROW(postprocess::read_label_map(masks / "a.png"), core::InvalidArgument);
  try {
    postprocess::read_mask_folder(masks.parent_path());
    FAIL() << "a DICOM file read as a mask";
  } catch (const core::InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("not a PNG or TIFF"), std::string::npos) << e.what();
  }
}

}  // namespace
