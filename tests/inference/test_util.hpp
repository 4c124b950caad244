#pragma once
// Helpers shared by the inference tests: read the fixture's safetensors into ATen tensors.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <map>
#include <string>

#include "safetensors.hpp"

namespace karyon::inference::test {

inline std::string refdata(const std::string& name) {
  return (std::filesystem::path(KARYON_INFERENCE_REFDATA) / name).string();
}

inline at::ScalarType st_dtype(const std::string& d) {
  if (d == "F32") return at::kFloat;
  if (d == "F64") return at::kDouble;
  if (d == "I64") return at::kLong;
  if (d == "I32") return at::kInt;
  if (d == "U8") return at::kByte;
  if (d == "F16") return at::kHalf;
  if (d == "BOOL") return at::kBool;
  throw std::runtime_error("test: unhandled dtype " + d);
}

inline std::map<std::string, at::Tensor> load_tensors(const std::string& path) {
  SafetensorsFile f(path);
  std::map<std::string, at::Tensor> out;
  for (const auto& [name, rec] : f.tensors()) {
    at::Tensor t = at::empty(std::vector<int64_t>(rec.shape.begin(), rec.shape.end()),
                             at::TensorOptions().dtype(st_dtype(rec.dtype)));
    if (rec.nbytes) std::memcpy(t.data_ptr(), f.data(rec), rec.nbytes);
    out[name] = t;
  }
  return out;
}

}  // namespace karyon::inference::test
