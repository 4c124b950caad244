// Bad model files and bad tiles give clear errors (ModelError / InvalidArgument naming the file
// and the reason), never a crash.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "karyon/inference/model.hpp"
#include "safetensors.hpp"
#include "test_util.hpp"

namespace karyon::inference {
namespace {
namespace fs = std::filesystem;

std::string model_error(const std::string& path) {
  try {
    Model::load(path);
  } catch (const core::ModelError& e) {
    return e.what();
  }
  return "(no ModelError)";
}

class BadInput : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("karyon_bad_input_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Writes a card (from r18.json, edited by `edit`) pointing at `weights`.
  std::string card(const std::string& name, const std::string& weights,
                   const std::function<void(nlohmann::json&)>& edit = {}) {
    std::ifstream in(test::refdata("r18.json"));
    nlohmann::json j = nlohmann::json::parse(in);
    j["weights"] = weights;
    if (edit) edit(j);
    const auto p = (dir_ / (name + ".json")).string();
    std::ofstream(p) << j.dump(2);
    return p;
  }
  // Copies r18's weights with tensors changed by `edit` (return false to drop a tensor).
  std::string weights(const std::string& name,
                      const std::function<bool(const std::string&, TensorToWrite&)>& edit) {
    SafetensorsFile f(test::refdata("r18.safetensors"));
    std::vector<TensorToWrite> out;
    for (const auto& [n, rec] : f.tensors()) {
      TensorToWrite t{n, rec.dtype, rec.shape, f.data(rec), rec.nbytes};
      if (edit(n, t)) out.push_back(t);
    }
    const auto p = (dir_ / (name + ".safetensors")).string();
    write_safetensors(p, out);
    return p;
  }
  fs::path dir_;
};

TEST_F(BadInput, missing_model_file) {
  const auto e = model_error((dir_ / "nope.json").string());
  EXPECT_NE(e.find("nope.json"), std::string::npos) << e;
  EXPECT_NE(e.find("cannot open"), std::string::npos) << e;
  EXPECT_NE(model_error(card("c", "absent.safetensors")).find("absent.safetensors"), std::string::npos);
  EXPECT_NE(model_error((dir_ / "x.onnx").string()).find("expected a model card"), std::string::npos);
}

TEST_F(BadInput, corrupt_and_truncated_weights) {
  {
    std::ifstream in(test::refdata("r18.safetensors"), std::ios::binary);
    std::vector<char> head(1 << 20);
    in.read(head.data(), static_cast<std::streamsize>(head.size()));
    std::ofstream(dir_ / "trunc.safetensors", std::ios::binary).write(head.data(), static_cast<std::streamsize>(head.size()));
  }
  const auto e = model_error(card("t", "trunc.safetensors"));
  EXPECT_NE(e.find("trunc.safetensors"), std::string::npos) << e;
  EXPECT_NE(e.find("truncated"), std::string::npos) << e;
  std::ofstream(dir_ / "garbage.safetensors") << "this is not a model";
  const auto g = model_error(card("g", "garbage.safetensors"));
  EXPECT_NE(g.find("garbage.safetensors"), std::string::npos) << g;
  std::ofstream(dir_ / "badcard.json") << "{ \"format\": ";
  EXPECT_NE(model_error((dir_ / "badcard.json").string()).find("not valid JSON"), std::string::npos);
}

TEST_F(BadInput, wrong_architecture_for_the_weights) {
  const auto e = model_error(card("arch", test::refdata("r18.safetensors"),
                                  [](nlohmann::json& j) { j["architecture"]["backbone"] = "resnet50"; }));
  EXPECT_NE(e.find("do not match"), std::string::npos) << e;
  EXPECT_NE(e.find("look like resnet18"), std::string::npos) << e;
  EXPECT_NE(e.find("Missing"), std::string::npos) << e;
}

TEST_F(BadInput, card_disagrees_with_weights_on_classes) {
  const auto e = model_error(card("cls", test::refdata("r18.safetensors"), [](nlohmann::json& j) {
    j["architecture"]["num_classes"] = 3;
    j["class_names"] = {"background", "a", "b"};
  }));
  EXPECT_NE(e.find("Wrong shape"), std::string::npos) << e;
  EXPECT_NE(e.find("roi_heads.box_predictor.cls_score.weight is [2, 256], expected [3, 256]"), std::string::npos) << e;
  EXPECT_NE(e.find("num_classes 2"), std::string::npos) << e;
  const auto n = model_error(card("names", test::refdata("r18.safetensors"),
                                  [](nlohmann::json& j) { j["class_names"] = {"background", "a", "b"}; }));
  EXPECT_NE(n.find("class_names has 3 names"), std::string::npos) << n;
}

TEST_F(BadInput, wrong_dtype_missing_and_unexpected_tensors) {
  std::vector<std::int32_t> ints(64, 1);
  const auto w = weights("dtype", [&](const std::string& n, TensorToWrite& t) {
    if (n == "backbone.body.bn1.bias") {
      t.dtype = "I32";
      t.data = ints.data();
      t.nbytes = 64 * 4;
    }
    return n != "rpn.head.cls_logits.bias";
  });
  const auto e = model_error(card("dtype", w));
  EXPECT_NE(e.find("Wrong dtype: backbone.body.bn1.bias is I32"), std::string::npos) << e;
  EXPECT_NE(e.find("Missing 1 tensor(s): rpn.head.cls_logits.bias"), std::string::npos) << e;
  float extra = 1.f;
  const auto w2 = weights("extra", [&](const std::string& n, TensorToWrite& t) {
    if (n == "rpn.head.cls_logits.bias") {  // renamed: one missing, one unexpected
      t.name = "rpn.head.cls_logits.bias_typo";
      (void)extra;
    }
    return true;
  });
  const auto u = model_error(card("extra", w2));
  EXPECT_NE(u.find("Unexpected 1 tensor(s): rpn.head.cls_logits.bias_typo"), std::string::npos) << u;
}

TEST_F(BadInput, nan_weights_are_refused) {
  std::vector<float> nan(3, std::nanf(""));
  const auto w = weights("nan", [&](const std::string& n, TensorToWrite& t) {
    if (n == "rpn.head.cls_logits.bias") t.data = nan.data();
    return true;
  });
  EXPECT_NE(model_error(card("nan", w)).find("NaN"), std::string::npos);
}

TEST(BadTiles, empty_one_pixel_and_wrong_channel_tiles) {
  const Model m = Model::load(test::refdata("r18.json"));
  EXPECT_THROW(m.detect(core::RgbImage{}), core::InvalidArgument);
  EXPECT_THROW(m.detect(core::RgbImage(1, 1)), core::InvalidArgument);
  std::vector<std::uint8_t> rgba(16 * 16 * 4, 128);
  try {
    m.detect(std::vector<TileView>{TileView{rgba.data(), 16, 16, 4, rgba.size()}});
    FAIL() << "no exception";
  } catch (const core::InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("expected 3 channels"), std::string::npos);
  }
  core::RgbImage short_buf(16, 16);
  short_buf.pixels.resize(100);
  EXPECT_THROW(m.detect(short_buf), core::InvalidArgument);
  // A small but valid tile works (and may have no detections).
  core::RgbImage tiny(2, 2);
  EXPECT_NO_THROW(m.detect(tiny));
  core::RgbImage odd(37, 45);
  EXPECT_NO_THROW(m.detect(odd));
}

}  // namespace
}  // namespace karyon::inference
