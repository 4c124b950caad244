#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "karyon/core/errors.hpp"
#include "karyon/inference/model_card.hpp"
#include "safetensors.hpp"

namespace karyon::inference {
namespace {

std::vector<std::uint8_t> file_with_header(const std::string& json, std::size_t data_bytes) {
  std::vector<std::uint8_t> b(8);
  const std::uint64_t n = json.size();
  for (int i = 0; i < 8; ++i) b[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>((n >> (8 * i)) & 0xff);
  b.insert(b.end(), json.begin(), json.end());
  b.resize(b.size() + data_bytes, 0);
  return b;
}

std::string error_of(std::vector<std::uint8_t> bytes) {
  try {
    SafetensorsFile f(std::move(bytes), "x.safetensors");
  } catch (const core::ModelError& e) {
    return e.what();
  }
  return "";
}

TEST(Safetensors, parses_a_valid_file_with_metadata) {
  const auto b = file_with_header(
      R"({"__metadata__":{"k":"v"},"a":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},"b":{"dtype":"F16","shape":[4],"data_offsets":[24,32]}})",
      32);
  SafetensorsFile f(b, "ok");
  ASSERT_EQ(f.tensors().size(), 2u);
  EXPECT_EQ(f.tensors().at("a").shape, (std::vector<std::int64_t>{2, 3}));
  EXPECT_EQ(f.tensors().at("b").nbytes, 8u);
  EXPECT_EQ(f.metadata().at("k"), "v");
}

TEST(Safetensors, round_trips_through_the_writer) {
  const auto path = (std::filesystem::temp_directory_path() / "karyon_st_roundtrip.safetensors").string();
  const float data[3] = {1.f, 2.f, 3.f};
  write_safetensors(path, {{"x", "F32", {3}, data, sizeof data}}, {{"m", "1"}});
  SafetensorsFile f(path);
  ASSERT_EQ(f.tensors().count("x"), 1u);
  float back[3];
  std::memcpy(back, f.data(f.tensors().at("x")), sizeof back);
  EXPECT_EQ(back[2], 3.f);
  std::filesystem::remove(path);
}

TEST(Safetensors, rejects_corrupt_and_truncated_files_with_a_reason) {
  EXPECT_NE(error_of({1, 2, 3}).find("truncated"), std::string::npos);
  auto huge = file_with_header("{}", 0);
  huge[0] = 0xff;
  huge[4] = 0x7f;
  EXPECT_NE(error_of(huge).find("runs past the end"), std::string::npos);
  EXPECT_NE(error_of(file_with_header("{not json", 0)).find("not valid JSON"), std::string::npos);
  EXPECT_NE(error_of(file_with_header(R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", 8))
                .find("truncated"),
            std::string::npos);
  EXPECT_NE(error_of(file_with_header(R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,12]}})", 16))
                .find("need 16"),
            std::string::npos);
  EXPECT_NE(error_of(file_with_header(R"({"a":{"dtype":"Q7","shape":[4],"data_offsets":[0,4]}})", 4))
                .find("unknown dtype"),
            std::string::npos);
  EXPECT_NE(error_of(file_with_header(
                R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[4],"data_offsets":[2,6]}})",
                8))
                .find("overlap"),
            std::string::npos);
  EXPECT_NE(error_of(file_with_header(R"({"a":{"dtype":"U8","shape":"x","data_offsets":[0,4]}})", 4))
                .find("malformed"),
            std::string::npos);
}

TEST(Safetensors, missing_file_names_the_file) {
  try {
    SafetensorsFile f("/nonexistent/karyon.safetensors");
    FAIL() << "no exception";
  } catch (const core::ModelError& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/karyon.safetensors"), std::string::npos);
  }
}

TEST(Architecture, parameter_counts_match_torchvision) {
  // Counts of state_dict entries of torchvision's MaskRCNN(resnet_fpn_backbone(...)) with
  // FrozenBatchNorm2d (checked with torchvision 0.26: len(model.state_dict())).
  ArchitectureConfig a;
  a.backbone = "resnet18";
  EXPECT_EQ(expected_parameters(a).size(), 142u);
  a.backbone = "resnet50";
  EXPECT_EQ(expected_parameters(a).size(), 307u);
  a.backbone = "resnet34";
  EXPECT_EQ(expected_parameters(a).size(), 222u);
}

}  // namespace
}  // namespace karyon::inference
