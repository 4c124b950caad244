// libFuzzer target: postprocess::read_mask_folder (Data Science Bowl layout: one black-and-white PNG per
// nucleus). The input is up to 8 files joined by kFileSeparator; they become mask_0.png, mask_1.png, ... in a
// fresh folder (in its masks/ subfolder when the input starts with "masks/").
#include <filesystem>

#include "fuzz_support.hpp"
#include "karyon/core/errors.hpp"
#include "karyon/postprocess/annotations.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace fs = std::filesystem;
  const fs::path folder = karyon::fuzz::scratch_dir() / "masks_input";
  fs::remove_all(folder);
  std::string_view all(reinterpret_cast<const char*>(data), size);
  const bool nested = all.starts_with("masks/");
  if (nested) all.remove_prefix(6);
  const fs::path dir = nested ? folder / "masks" : folder;
  fs::create_directories(dir);
  const auto parts = karyon::fuzz::split(reinterpret_cast<const std::uint8_t*>(all.data()), all.size(),
                                         karyon::fuzz::kFileSeparator, 8);
  for (std::size_t i = 0; i < parts.size(); ++i)
    karyon::fuzz::write_file(dir / ("mask_" + std::to_string(i) + ".png"),
                             reinterpret_cast<const std::uint8_t*>(parts[i].data()), parts[i].size());
  try {
    (void)karyon::postprocess::read_mask_folder(folder);
  } catch (const karyon::core::Error&) {
  }
  return 0;
}
