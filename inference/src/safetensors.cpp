#include "safetensors.hpp"

#include <algorithm>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <utility>

#include "karyon/core/errors.hpp"
#include "karyon/core/files.hpp"

namespace karyon::inference {
namespace {

[[noreturn]] void fail(const std::string& name, const std::string& why) {
  throw core::ModelError("safetensors file '" + name + "': " + why);
}

}  // namespace

std::size_t safetensors_dtype_size(const std::string& d) {
  if (d == "F64" || d == "I64" || d == "U64") return 8;
  if (d == "F32" || d == "I32" || d == "U32") return 4;
  if (d == "F16" || d == "BF16" || d == "I16" || d == "U16") return 2;
  if (d == "I8" || d == "U8" || d == "BOOL" || d == "F8_E4M3" || d == "F8_E5M2") return 1;
  return 0;
}

SafetensorsFile::SafetensorsFile(const std::string& path) : name_(path) {
  if (const auto problem = core::regular_file_problem(path)) fail(path, "cannot open: " + *problem);
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) fail(path, "cannot open (missing or unreadable)");
  const std::streamoff size = in.tellg();
  if (size < 0) fail(path, "cannot determine size");
  bytes_.resize(static_cast<std::size_t>(size));
  in.seekg(0);
  if (size > 0 && !in.read(reinterpret_cast<char*>(bytes_.data()), size)) fail(path, "read error");
  parse();
}

SafetensorsFile::SafetensorsFile(std::vector<std::uint8_t> bytes, const std::string& name)
    : name_(name), bytes_(std::move(bytes)) {
  parse();
}

void SafetensorsFile::parse() {
  if (bytes_.size() < 8)
    fail(name_, "truncated: " + std::to_string(bytes_.size()) + " bytes, shorter than the 8-byte header length");
  std::uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | bytes_[static_cast<std::size_t>(i)];
  if (n > bytes_.size() - 8)
    fail(name_, "header length " + std::to_string(n) + " runs past the end of the file (" +
                    std::to_string(bytes_.size()) + " bytes): truncated or not a safetensors file");
  if (n > 100u * 1024 * 1024) fail(name_, "header length " + std::to_string(n) + " is implausibly large");
  data_start_ = 8 + static_cast<std::size_t>(n);
  const std::size_t data_size = bytes_.size() - data_start_;
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(bytes_.begin() + 8, bytes_.begin() + static_cast<std::ptrdiff_t>(data_start_));
  } catch (const nlohmann::json::exception& e) {
    fail(name_, std::string("header is not valid JSON: ") + e.what());
  }
  if (!header.is_object()) fail(name_, "header is not a JSON object");
  std::vector<std::pair<std::size_t, std::size_t>> spans;
  for (auto it = header.begin(); it != header.end(); ++it) {
    const std::string& key = it.key();
    const auto& v = it.value();
    if (key == "__metadata__") {
      if (!v.is_object()) fail(name_, "__metadata__ is not an object");
      for (auto m = v.begin(); m != v.end(); ++m)
        metadata_[m.key()] = m.value().is_string() ? m.value().get<std::string>() : m.value().dump();
      continue;
    }
    try {
      TensorRecord r;
      r.dtype = v.at("dtype").get<std::string>();
      const std::size_t esize = safetensors_dtype_size(r.dtype);
      if (esize == 0) fail(name_, "tensor '" + key + "' has unknown dtype '" + r.dtype + "'");
      std::uint64_t numel = 1;
      const auto& shape = v.at("shape");
      if (!shape.is_array()) fail(name_, "tensor '" + key + "' has a malformed header entry: shape is not an array");
      for (const auto& d : shape) {
        // Checked before get<>(): nlohmann casts a JSON float to an integer as is (1e30: undefined behaviour).
        if (d.is_number_integer() && !d.is_number_unsigned() && d.get<std::int64_t>() < 0)
          fail(name_, "tensor '" + key + "' has a negative dimension");
        if (!d.is_number_unsigned() || d.get<std::uint64_t>() > std::uint64_t{std::numeric_limits<std::int64_t>::max()})
          fail(name_, "tensor '" + key + "' has a malformed header entry: shape holds " + d.dump().substr(0, 40) +
                          ", not a dimension (an integer >= 0)");
        const auto s = d.get<std::int64_t>();
        r.shape.push_back(s);
        if (s != 0 && numel > std::numeric_limits<std::uint64_t>::max() / static_cast<std::uint64_t>(s))
          fail(name_, "tensor '" + key + "' shape overflows");
        numel *= static_cast<std::uint64_t>(s);
      }
      const auto& offs = v.at("data_offsets");
      if (!offs.is_array() || offs.size() != 2 || !offs[0].is_number_unsigned() || !offs[1].is_number_unsigned())
        fail(name_, "tensor '" + key + "' has a malformed header entry: data_offsets is not [begin, end] (two integers >= 0)");
      if (numel > std::numeric_limits<std::uint64_t>::max() / esize)
        fail(name_, "tensor '" + key + "' shape overflows");  // numel * esize would wrap and could match e - b
      const auto b = offs[0].get<std::uint64_t>();
      const auto e = offs[1].get<std::uint64_t>();
      if (e < b) fail(name_, "tensor '" + key + "' has end offset before begin offset");
      if (e > data_size)
        fail(name_, "tensor '" + key + "' data [" + std::to_string(b) + ", " + std::to_string(e) +
                        ") runs past the end of the data (" + std::to_string(data_size) +
                        " bytes): the file is truncated");
      if (e - b != numel * esize)
        fail(name_, "tensor '" + key + "' has " + std::to_string(e - b) + " bytes but its shape and dtype " +
                        r.dtype + " need " + std::to_string(numel * esize));
      r.offset = static_cast<std::size_t>(b);
      r.nbytes = static_cast<std::size_t>(e - b);
      if (r.nbytes > 0) spans.emplace_back(r.offset, r.offset + r.nbytes);
      tensors_.emplace(key, std::move(r));
    } catch (const nlohmann::json::exception& e) {
      fail(name_, "tensor '" + key + "' has a malformed header entry: " + e.what());
    }
  }
  std::sort(spans.begin(), spans.end());
  for (std::size_t i = 1; i < spans.size(); ++i)
    if (spans[i].first < spans[i - 1].second) fail(name_, "tensor data regions overlap");
}

void write_safetensors(const std::string& path, const std::vector<TensorToWrite>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  nlohmann::json header = nlohmann::json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::size_t off = 0;
  for (const auto& t : tensors) {
    header[t.name] = {{"dtype", t.dtype}, {"shape", t.shape}, {"data_offsets", {off, off + t.nbytes}}};
    off += t.nbytes;
  }
  std::string h = header.dump();
  while (h.size() % 8 != 0) h.push_back(' ');
  std::ofstream out(path, std::ios::binary);
  if (!out) throw core::Error("cannot write '" + path + "'");
  std::uint64_t n = h.size();
  for (int i = 0; i < 8; ++i) out.put(static_cast<char>((n >> (8 * i)) & 0xff));
  out.write(h.data(), static_cast<std::streamsize>(h.size()));
  for (const auto& t : tensors) out.write(static_cast<const char*>(t.data), static_cast<std::streamsize>(t.nbytes));
  if (!out) throw core::Error("write failed for '" + path + "'");
}

}  // namespace karyon::inference
