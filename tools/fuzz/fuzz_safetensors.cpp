// libFuzzer target: inference::SafetensorsFile (the weights format; nothing in it is executed), then what
// Model::load does with an accepted file before handing bytes to LibTorch: every tensor's bytes are read
// through data() (ASan checks they lie inside the file) and looked up against the expected names and
// shapes of the default architecture. std-only (no LibTorch).
#include "fuzz_support.hpp"
#include "karyon/core/errors.hpp"
#include "karyon/inference/model_card.hpp"
#include "safetensors.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const auto expected = [] {
    karyon::inference::ArchitectureConfig a;
    a.backbone = "resnet18";
    return karyon::inference::expected_parameters(a);
  }();
  try {
    const karyon::inference::SafetensorsFile f(std::vector<std::uint8_t>(data, data + size), "fuzz.safetensors");
    unsigned sum = 0;
    for (const auto& [name, rec] : f.tensors()) {
      // What parse() promises for an accepted tensor, recomputed without overflow: a known dtype, and exactly
      // numel x element size bytes (an accepted shape whose byte count wraps around 2^64 is a bug).
      const std::size_t esize = karyon::inference::safetensors_dtype_size(rec.dtype);
      if (esize == 0) __builtin_trap();
      constexpr unsigned __int128 kHuge = static_cast<unsigned __int128>(1) << 64;  // beyond any size_t
      unsigned __int128 bytes = esize;
      for (const std::int64_t d : rec.shape) {
        if (d < 0) __builtin_trap();
        bytes = d == 0 ? 0 : bytes > kHuge ? bytes : bytes * static_cast<unsigned __int128>(d);  // saturates
      }
      if (bytes != rec.nbytes) __builtin_trap();
      const std::uint8_t* p = f.data(rec);
      for (std::size_t i = 0; i < rec.nbytes; ++i) sum += p[i];
    }
    for (const auto& spec : expected) {
      const auto it = f.tensors().find(spec.name);
      if (it != f.tensors().end()) sum += it->second.shape.size() == spec.shape.size();
    }
    for (const auto& [k, v] : f.metadata()) sum += static_cast<unsigned>(k.size() + v.size());
    (void)sum;
  } catch (const karyon::core::Error&) {
  }
  return 0;
}
