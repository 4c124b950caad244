#pragma once
// One CSV field as RFC 4180 writes it: quoted when it holds a comma, a quote or a line break, with quotes
// doubled inside ("Tumor, ""grade 2""" for Tumor, "grade 2"). Every CSV Karyon writes uses this.
#include <string>
#include <string_view>

namespace karyon::core {

inline std::string csv_field(std::string_view s) {
  if (s.find_first_of(",\"\n\r") == std::string_view::npos) return std::string(s);
  std::string q = "\"";
  for (char c : s) {
    if (c == '"') q += '"';
    q += c;
  }
  return q + "\"";
}

}  // namespace karyon::core
