#include <gtest/gtest.h>
#include <unistd.h>

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

// Found with tools/fuzz (fuzz_safetensors, under UBSan): JSON floats and negative numbers went through
// nlohmann's get<integer>(), a plain cast (1e30 or -1.5 as an integer is undefined behaviour), and a shape
// whose byte count wraps around 2^64 was accepted with 0 bytes.
TEST(Safetensors, non_integer_shapes_and_offsets_and_wrapping_byte_counts_are_refused) {
  for (const char* header : {R"({"a":{"dtype":"F32","shape":[1e30],"data_offsets":[0,4]}})",
                             R"({"a":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}})",
                             R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[-1.5,4]}})",
                             R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4.0e30]}})"})
    EXPECT_NE(error_of(file_with_header(header, 4)).find("malformed"), std::string::npos) << header;
  // 2^61 F64 elements are 2^64 bytes: 0 after wrapping around.
  EXPECT_NE(error_of(file_with_header(R"({"a":{"dtype":"F64","shape":[2305843009213693952],"data_offsets":[0,0]}})", 0))
                .find("overflows"),
            std::string::npos);
  EXPECT_NE(error_of(file_with_header(R"({"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,0]}})", 0))
                .find("negative dimension"),
            std::string::npos);
}

// Found with tools/fuzz (fuzz_model_card, under UBSan): integer keys went through get<int>(), which casts a
// JSON float as is: 1e30 is undefined behaviour, 2.5 silently became 2.
TEST(ModelCard, integer_keys_refuse_non_integers) {
  const auto dir = std::filesystem::temp_directory_path() / ("karyon-card-test-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto error_of_card = [&](const std::string& architecture) {
    const auto path = (dir / "card.json").string();
    std::ofstream(path) << R"({"format":"karyon-maskrcnn/1","architecture":{"backbone":"resnet18",)" << architecture << "}}";
    try {
      (void)read_model_card(path);
    } catch (const core::ModelError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  for (const char* bad : {R"("num_classes": 1e30)", R"("num_classes": 2.5)", R"("rpn_pre_nms_top_n": -3e12)",
                          R"("mask_layers": [256, 1e30, 256, 256])", R"("fpn_out_channels": 4294967296)"}) {
    const std::string e = error_of_card(bad);
    EXPECT_NE(e.find("must be an integer"), std::string::npos) << bad << ": " << e;
  }
  EXPECT_EQ(error_of_card(R"("num_classes": 2.0)"), "");  // an integral float is an integer
  std::filesystem::remove_all(dir);
}

TEST(ModelCard, min_tile_size_is_read_and_checked) {
  const auto dir = std::filesystem::temp_directory_path() / ("karyon-card-min-tile-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto path = (dir / "card.json").string();
  auto card_with = [&](const std::string& input) {
    std::ofstream(path) << R"({"format":"karyon-maskrcnn/1","input":{"mpp":0.5)" << input << "}}";
  };
  card_with("");
  EXPECT_EQ(read_model_card(path).min_tile_size, 0);  // absent: no minimum
  card_with(R"(,"min_tile_size":512)");
  EXPECT_EQ(read_model_card(path).min_tile_size, 512);
  for (const char* bad : {R"(,"min_tile_size":32)", R"(,"min_tile_size":9000)", R"(,"min_tile_size":-512)",
                          R"(,"min_tile_size":512.5)", R"(,"min_tile_size":"512")"}) {
    card_with(bad);
    EXPECT_THROW((void)read_model_card(path), core::ModelError) << bad;
  }
  card_with(R"(,"min_tile_size":32)");
  try {
    (void)read_model_card(path);
  } catch (const core::ModelError& e) {
    EXPECT_NE(std::string(e.what()).find("input.min_tile_size 32"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
  std::filesystem::remove_all(dir);
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
