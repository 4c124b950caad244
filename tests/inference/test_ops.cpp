// nms, batched_nms and roi_align against torchvision.ops outputs recorded by make_reference.py.
#include <gtest/gtest.h>

#include "ops.hpp"
#include "test_util.hpp"

namespace karyon::inference {
namespace {

class Ops : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { ref_ = new std::map<std::string, at::Tensor>(test::load_tensors(test::refdata("ops_ref.safetensors"))); }
  static void TearDownTestSuite() { delete ref_; }
  static const at::Tensor& r(const std::string& k) { return ref_->at(k); }
  static std::map<std::string, at::Tensor>* ref_;
};
std::map<std::string, at::Tensor>* Ops::ref_ = nullptr;

void expect_same_indices(const at::Tensor& got, const at::Tensor& want, const std::string& what) {
  ASSERT_EQ(got.numel(), want.numel()) << what;
  EXPECT_TRUE(at::equal(got.cpu(), want)) << what;
}

TEST_F(Ops, nms_matches_torchvision_cpu_kernel_and_generic) {
  int cases = 0;
  for (const char* c : {"random", "dense", "empty", "ties", "degenerate"}) {
    const std::string p = std::string("nms_") + c + "_";
    const double thr = r(p + "thr").item<float>();
    const at::Tensor& want = r(p + "keep");
    expect_same_indices(ops::nms_cpu_kernel(r(p + "boxes"), r(p + "scores"), thr), want, p + " cpu");
    expect_same_indices(ops::nms_generic(r(p + "boxes"), r(p + "scores"), thr), want, p + " generic");
    ++cases;
  }
  EXPECT_EQ(cases, 5);
  EXPECT_GT(r("nms_random_keep").numel(), 10);  // not vacuous
}

TEST_F(Ops, batched_nms_matches_torchvision_on_both_strategies) {
  for (const char* c : {"small", "large"}) {
    const std::string p = std::string("bnms_") + c + "_";
    const at::Tensor got = ops::batched_nms(r(p + "boxes"), r(p + "scores"), r(p + "idxs"), 0.5);
    EXPECT_GT(got.numel(), 10) << p;
    expect_same_indices(got, r(p + "keep"), p);
  }
  const at::Tensor e = ops::batched_nms(at::zeros({0, 4}), at::zeros({0}), at::zeros({0}, at::kLong), 0.5);
  EXPECT_EQ(e.numel(), 0);
}

TEST_F(Ops, roi_align_matches_torchvision_including_boxes_outside_the_image) {
  const at::Tensor& feat = r("roi_feat");
  const at::Tensor& rois = r("roi_rois");
  for (const char* c : {"a", "b", "c", "d", "e"}) {
    const std::string p = std::string("roi_") + c + "_";
    const at::Tensor prm = r(p + "params");
    const double scale = prm[0].item<float>();
    const int64_t out = static_cast<int64_t>(prm[1].item<float>());
    const int64_t sr = static_cast<int64_t>(prm[2].item<float>());
    const bool aligned = prm[3].item<float>() != 0;
    const at::Tensor& want = r(p + "out");
    ASSERT_GT(want.abs().sum().item<float>(), 1.0f) << p;  // not all zeros
    const at::Tensor cpu = ops::roi_align_cpu_kernel(feat, rois, scale, out, out, sr, aligned);
    EXPECT_TRUE(at::allclose(cpu, want, 1e-5, 1e-5)) << p << " cpu max diff " << (cpu - want).abs().max().item<float>();
    // The engine's features are channels-last (NHWC in memory): same values, same summation order, same bits.
    const at::Tensor nhwc = ops::roi_align_cpu_kernel(feat.contiguous(at::MemoryFormat::ChannelsLast), rois, scale, out,
                                                      out, sr, aligned);
    ASSERT_FALSE(feat.contiguous(at::MemoryFormat::ChannelsLast).is_contiguous()) << "the NHWC path must be taken";
    EXPECT_TRUE(at::equal(nhwc, cpu)) << p << " channels-last max diff " << (nhwc - cpu).abs().max().item<float>();
    if (sr > 0) {
      const at::Tensor gen = ops::roi_align_generic(feat, rois, scale, out, out, sr, aligned);
      EXPECT_TRUE(at::allclose(gen, want, 1e-5, 1e-5)) << p << " generic max diff " << (gen - want).abs().max().item<float>();
    }
  }
  const at::Tensor empty_rois = at::zeros({0, 5});
  EXPECT_EQ(ops::roi_align_cpu_kernel(feat, empty_rois, 0.25, 7, 7, 2, false).sizes(), r("roi_empty_out").sizes());
  EXPECT_EQ(ops::roi_align_generic(feat, empty_rois, 0.25, 7, 7, 2, false).sizes(), r("roi_empty_out").sizes());
}

}  // namespace
}  // namespace karyon::inference
