// Same weights, same images: Karyon's C++ Mask R-CNN must reproduce torchvision's detections
// (references recorded by make_reference.py with the pinned torchvision in the venv).
#include <gtest/gtest.h>

#include "karyon/inference/model.hpp"
#include "parity_util.hpp"
#include "test_util.hpp"

namespace karyon::inference {
namespace {

std::vector<test::RefDet> ref_dets(const std::map<std::string, at::Tensor>& ref, int i, const std::string& prefix = "") {
  const std::string s = std::to_string(i);
  const at::Tensor boxes = ref.at(prefix + "boxes" + s), scores = ref.at(prefix + "scores" + s),
                   labels = ref.at(prefix + "labels" + s);
  const at::Tensor masks = ref.at(prefix + "masks" + s);
  std::vector<test::RefDet> out(static_cast<std::size_t>(boxes.size(0)));
  for (int64_t k = 0; k < boxes.size(0); ++k) {
    auto& d = out[static_cast<std::size_t>(k)];
    for (int c = 0; c < 4; ++c) d.box[c] = boxes[k][c].item<float>();
    d.score = scores[k].item<float>();
    d.label = static_cast<int>(labels[k].item<int64_t>());
    const at::Tensor m = masks[k].contiguous();
    d.mask.assign(m.data_ptr<uint8_t>(), m.data_ptr<uint8_t>() + m.numel());
  }
  return out;
}

core::RgbImage ref_image(const std::map<std::string, at::Tensor>& ref, int i) {
  const at::Tensor img = ref.at("image" + std::to_string(i)).contiguous();
  core::RgbImage tile(static_cast<int>(img.size(1)), static_cast<int>(img.size(0)));
  std::memcpy(tile.pixels.data(), img.data_ptr<uint8_t>(), tile.pixels.size());
  return tile;
}

void expect_parity(const test::ParityStats& st) {
  EXPECT_EQ(st.ours, st.ref);
  EXPECT_EQ(st.matched, st.ref) << "every torchvision detection must have a match within tolerance";
  EXPECT_LE(st.max_box_rel, 1e-3);
  EXPECT_LE(st.max_score_abs, 1e-4);
  EXPECT_GE(st.min_mask_iou, 0.99);
}

void check_model(const std::string& name, int images, int min_per_image = 50) {
  const Model model = Model::load(test::refdata(name + ".json"));
  const auto ref = test::load_tensors(test::refdata(name + "_ref.safetensors"));
  int total_matched = 0;
  for (int i = 0; i < images; ++i) {
    const core::RgbImage tile = ref_image(ref, i);
    const auto ours = model.detect(tile);
    const auto want = ref_dets(ref, i);
    const auto st = test::compare(want, ours, tile.width, tile.height, name + " image " + std::to_string(i));
    expect_parity(st);
    std::int64_t area = 0;
    for (const auto& d : ours) area += d.mask_area;
    EXPECT_GT(area, 0) << "masks are all empty: comparison would be vacuous";
    total_matched += st.matched;
  }
  EXPECT_GE(total_matched, min_per_image * images) << "too few detections compared";
}

TEST(Parity, resnet18_fpn_matches_torchvision) { check_model("r18", 3); }
TEST(Parity, tiles_of_different_sizes_in_one_batch_match_torchvision_batch) {
  const Model model = Model::load(test::refdata("r18.json"));
  const auto ref = test::load_tensors(test::refdata("r18_ref.safetensors"));
  std::vector<core::RgbImage> tiles;
  for (int i = 0; ref.count("image" + std::to_string(i)); ++i) tiles.push_back(ref_image(ref, i));
  ASSERT_EQ(tiles.size(), 3u);
  std::vector<TileView> views;
  for (const auto& t : tiles) views.push_back(TileView::of(t));
  const auto ours = model.detect(views);
  int matched = 0;
  for (std::size_t i = 0; i < tiles.size(); ++i) {
    const auto st = test::compare(ref_dets(ref, static_cast<int>(i), "batch_"), ours[i], tiles[i].width,
                                  tiles[i].height, "r18 batch image " + std::to_string(i));
    expect_parity(st);
    matched += st.matched;
  }
  EXPECT_GE(matched, 150);
}

TEST(Parity, resize_and_more_than_1000_detections_match_torchvision) { check_model("r18_resize", 1, 1000); }

TEST(Parity, top_n_per_content_pixel_matches_torchvision) {
  // Counts per 192² px of content: the half-glass tile gets about half the detections of the tissue one
  // (whose noisy pink background is ~90 % content, so ~55 of the card's 60).
  const Model model = Model::load(test::refdata("r18_content.json"));
  const auto ref = test::load_tensors(test::refdata("r18_content_ref.safetensors"));
  const auto half = model.detect(ref_image(ref, 0)), full = model.detect(ref_image(ref, 1));
  check_model("r18_content", 2, 25);
  EXPECT_LE(full.size(), 60u);
  EXPECT_GE(full.size(), 50u);
  EXPECT_NEAR(static_cast<double>(half.size()) / static_cast<double>(full.size()), 0.5, 0.08);
}

TEST(Parity, resnet50_fpn_matches_torchvision) { check_model("r50", 2); }
TEST(Parity, resnet34_fp16_storage_matches_torchvision) { check_model("r34_fp16", 1); }

}  // namespace
}  // namespace karyon::inference
