#pragma once
// A reader for the safetensors format (https://github.com/huggingface/safetensors): 8-byte
// little-endian header length N, N bytes of JSON {name: {dtype, shape, data_offsets:[begin,end]},
// "__metadata__": {str: str}}, then the raw little-endian tensor bytes. Nothing in the file is
// executed. std-only so that it can be tested without LibTorch.
// Thread-safety: a SafetensorsFile is immutable after construction.
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace karyon::inference {

struct TensorRecord {
  std::string dtype;                 // "F32", "F16", "BF16", "F64", "I64", "I32", "U8", "BOOL", ...
  std::vector<std::int64_t> shape;
  std::size_t offset = 0;            // into SafetensorsFile::data()
  std::size_t nbytes = 0;
};

std::size_t safetensors_dtype_size(const std::string& dtype);  // 0 if unknown

class SafetensorsFile {
 public:
  // Reads and validates the whole file. Throws core::ModelError naming `path` for a missing, not regular
  // (folder, FIFO), truncated or corrupt file (bad header length, bad JSON, unknown dtype, offsets that do not
  // match the shape, overlap, or run past the end).
  explicit SafetensorsFile(const std::string& path);
  // Parses an in-memory image of a file (used by the reader and by tests); `name` is for messages.
  SafetensorsFile(std::vector<std::uint8_t> bytes, const std::string& name);

  const std::map<std::string, TensorRecord>& tensors() const { return tensors_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  const std::uint8_t* data(const TensorRecord& r) const { return bytes_.data() + data_start_ + r.offset; }
  const std::string& name() const { return name_; }
  const std::vector<std::uint8_t>& bytes() const { return bytes_; }  // the whole file

 private:
  void parse();
  std::string name_;
  std::vector<std::uint8_t> bytes_;
  std::size_t data_start_ = 0;
  std::map<std::string, TensorRecord> tensors_;
  std::map<std::string, std::string> metadata_;
};

// Writes a safetensors file (F32/U8/I64... raw bytes given by the caller). Used by tests and tools.
struct TensorToWrite {
  std::string name;
  std::string dtype;
  std::vector<std::int64_t> shape;
  const void* data = nullptr;
  std::size_t nbytes = 0;
};
void write_safetensors(const std::string& path, const std::vector<TensorToWrite>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

}  // namespace karyon::inference
