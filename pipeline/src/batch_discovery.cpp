// Batch input: the slides of a folder or list, their output folder names, and shards of them.
#include "karyon/pipeline/batch.hpp"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <map>
#include <set>

#include "karyon/core/errors.hpp"
#include "karyon/tiling/slide.hpp"

namespace karyon::pipeline {
namespace fs = std::filesystem;
using core::InvalidArgument;

namespace {

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string extension_of(const fs::path& p) {
  std::string e = lower(p.extension().string());
  return e.empty() ? e : e.substr(1);
}

bool wanted(const fs::path& p, const std::set<std::string>& exts) { return exts.count(extension_of(p)) > 0; }

}  // namespace

const std::vector<std::string>& default_slide_extensions() {
  // The whole-slide formats only; no .png/.jpg: folders of slides often hold thumbnails and label images
  // in those formats. Pass --ext to include them.
  return tiling::whole_slide_extensions();
}

std::vector<std::string> output_names(const std::vector<std::string>& keys) {
  std::map<std::string, int> stem_count;
  for (const auto& k : keys) ++stem_count[fs::path(k).stem().string()];
  std::vector<std::string> names;
  std::set<std::string> used;
  for (const auto& k : keys) {
    std::string name = fs::path(k).stem().string();
    if (stem_count[name] > 1) {
      name = k;
      while (!name.empty() && name.front() == '/') name.erase(0, 1);
      std::string flat;
      for (std::size_t i = 0; i < name.size(); ++i) flat += name[i] == '/' ? std::string("__") : std::string(1, name[i]);
      name = flat;
    }
    if (name.empty() || name == "." || name == "..") name = "slide";
    // Only a pathological mix (a file literally called "a__x.svs.tiff" next to a/x.svs and b/x.svs)
    // can still collide; number those, in key order, so the names stay deterministic.
    const std::string base = name;
    for (int n = 2; used.count(name); ++n) name = base + "~" + std::to_string(n);
    used.insert(name);
    names.push_back(name);
  }
  return names;
}

std::vector<SlideEntry> discover_slides(const DiscoverOptions& o) {
  std::set<std::string> exts;
  for (const auto& e : o.extensions.empty() ? default_slide_extensions() : o.extensions) {
    std::string x = lower(e);
    if (!x.empty() && x.front() == '.') x.erase(0, 1);
    if (!x.empty()) exts.insert(x);
  }
  std::vector<SlideEntry> slides;
  if (!o.list_file.empty()) {
    if (!o.input_dir.empty()) throw InvalidArgument("give either an input folder or --list, not both");
    std::ifstream in(o.list_file);
    if (!in) throw InvalidArgument(o.list_file.string() + ": cannot read the slide list");
    const fs::path base = o.list_file.parent_path();
    std::string line;
    std::set<std::string> seen;
    for (int lineno = 1; std::getline(in, line); ++lineno) {
      while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back()))) line.pop_back();
      std::size_t b = 0;
      while (b < line.size() && std::isspace(static_cast<unsigned char>(line[b]))) ++b;
      line.erase(0, b);
      if (line.empty() || line.front() == '#') continue;
      const fs::path p = fs::path(line).is_absolute() ? fs::path(line) : base / line;
      if (!fs::is_regular_file(p))
        throw InvalidArgument(o.list_file.string() + ":" + std::to_string(lineno) + ": " + p.string() +
                              " is not a file");
      const std::string key = fs::path(line).lexically_normal().generic_string();
      if (!seen.insert(key).second) continue;  // listed twice: analyse once
      slides.push_back({p, key, {}});
    }
  } else {
    if (o.input_dir.empty()) throw InvalidArgument("no input: give a folder of slides or --list FILE");
    if (!fs::is_directory(o.input_dir)) throw InvalidArgument(o.input_dir.string() + ": not a folder");
    auto add = [&](const fs::directory_entry& e) {
      // Folders named like slides (.mrxs companions, .zarr) are not slides; regular files and links to them are.
      if (!e.is_regular_file() || !wanted(e.path(), exts)) return;
      slides.push_back({e.path(), e.path().lexically_relative(o.input_dir).generic_string(), {}});
    };
    std::error_code ec;
    if (o.recursive) {
      for (fs::recursive_directory_iterator it(o.input_dir, fs::directory_options::skip_permission_denied, ec), end;
           !ec && it != end; it.increment(ec))
        add(*it);
    } else {
      for (fs::directory_iterator it(o.input_dir, ec), end; !ec && it != end; it.increment(ec)) add(*it);
    }
    if (ec) throw InvalidArgument(o.input_dir.string() + ": cannot list: " + ec.message());
  }
  std::sort(slides.begin(), slides.end(), [](const auto& a, const auto& b) { return a.key < b.key; });
  std::vector<std::string> keys;
  for (const auto& s : slides) keys.push_back(s.key);
  const auto names = output_names(keys);
  for (std::size_t i = 0; i < slides.size(); ++i) slides[i].name = names[i];
  return slides;
}

Shard parse_shard(const std::string& text) {
  const auto slash = text.find('/');
  Shard s;
  try {
    std::size_t n1 = 0, n2 = 0;
    if (slash == std::string::npos) throw std::invalid_argument("no slash");
    s.index = std::stoi(text.substr(0, slash), &n1);
    s.count = std::stoi(text.substr(slash + 1), &n2);
    if (n1 != slash || n2 != text.size() - slash - 1) throw std::invalid_argument("trailing text");
  } catch (const std::exception&) {
    throw InvalidArgument("--shard \"" + text + "\": expected I/N, e.g. 0/4 (shard I of N, 0-based)");
  }
  if (s.count < 1 || s.index < 0 || s.index >= s.count)
    throw InvalidArgument("--shard \"" + text + "\": need 0 <= I < N (shards are numbered from 0)");
  return s;
}

std::vector<SlideEntry> select_shard(const std::vector<SlideEntry>& slides, const Shard& shard) {
  std::vector<SlideEntry> out;
  for (std::size_t i = 0; i < slides.size(); ++i)
    if (static_cast<int>(i % static_cast<std::size_t>(shard.count)) == shard.index) out.push_back(slides[i]);
  return out;
}

}  // namespace karyon::pipeline
