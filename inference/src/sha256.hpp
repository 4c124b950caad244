#pragma once
// SHA-256 (OpenSSL libcrypto) as lowercase hex: what model cards record of their weights
// (provenance.weights_sha256, written by tools/model/convert_torchvision.py).
#include <cstddef>
#include <string>

namespace karyon::inference {

std::string sha256_hex(const void* data, std::size_t size);

}  // namespace karyon::inference
