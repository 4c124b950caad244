#include "karyon/postprocess/annotations.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <map>
#include <unordered_map>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <pugixml.hpp>

#include "karyon/core/errors.hpp"
#include "karyon/core/files.hpp"
#include "karyon/postprocess/geojson.hpp"
#include "karyon/postprocess/nucleus_builder.hpp"

namespace karyon::postprocess {
namespace fs = std::filesystem;
using core::InvalidArgument;

namespace {

void finish(core::Nucleus& n, const std::string& uuid) {
  n.uuid = uuid;
  set_bounds_and_centroid(n);
}

// One nucleus from a binary mask crop whose pixel (0, 0) is image pixel (ox, oy).
bool nucleus_from_mask(const cv::Mat& binary, int ox, int oy, const std::string& id, core::Nucleus& out) {
  core::Mask m(binary.cols, binary.rows);
  for (int y = 0; y < binary.rows; ++y)
    for (int x = 0; x < binary.cols; ++x) m.at(x, y) = binary.at<std::uint8_t>(y, x) ? 255 : 0;
  out = core::Nucleus{};
  out.polygon = trace_mask(m, ox, oy, 0.0);
  if (out.polygon.outer.size() < 3) return false;
  finish(out, id);
  return true;
}

// Label maps and masks are PNG or TIFF. OpenCV decodes many more formats by content (DICOM through GDCM,
// Radiance HDR, PFM, PxM, ...), whose decoders trust sizes in the file: those are refused before decoding.
bool png_or_tiff_signature(const fs::path& path) {
  const auto signature = core::raster_signature(path);
  return signature == core::RasterSignature::Png || signature == core::RasterSignature::Tiff;
}

cv::Mat read_image(const fs::path& path, int flags) {
  if (const auto problem = core::regular_file_problem(path)) throw InvalidArgument(path.string() + ": " + *problem);
  if (!png_or_tiff_signature(path))
    throw InvalidArgument(path.string() + ": not a PNG or TIFF image (label maps and nucleus masks are PNG or TIFF)");
  cv::Mat img;
  try {
    img = cv::imread(path.string(), flags);
  } catch (const cv::Exception& e) {
    throw InvalidArgument(path.string() + ": cannot decode: " + e.what());
  }
  if (img.empty()) throw InvalidArgument(path.string() + ": cannot read image (missing, corrupt or unsupported)");
  return img;
}

}  // namespace

std::vector<core::Nucleus> read_imagescope_xml(const fs::path& path) {
  if (const auto problem = core::regular_file_problem(path)) throw InvalidArgument(path.string() + ": " + *problem);
  std::ifstream in(path, std::ios::binary);
  const std::string text((std::istreambuf_iterator<char>(in)), {});
  pugi::xml_document doc;
  const auto parsed = doc.load_buffer(text.data(), text.size());
  if (!parsed)
    throw InvalidArgument(path.string() + ": not valid XML (" + parsed.description() + " at byte " +
                          std::to_string(parsed.offset) + ")");
  const auto root = doc.child("Annotations");
  if (!root) throw InvalidArgument(path.string() + ": no <Annotations> element: not an ImageScope annotation file");
  // "FILE: line L, region R, vertex K: ..." for a vertex that cannot be a point of an outline.
  auto bad_vertex = [&](const pugi::xml_node& v, const std::string& region, std::size_t k, const std::string& why) {
    const std::ptrdiff_t at = v.offset_debug();
    const std::string line =
        at >= 0 ? "line " + std::to_string(1 + std::count(text.begin(), text.begin() + at, '\n')) + ", " : "";
    return InvalidArgument(path.string() + ": " + line + "region " + region + ", vertex " + std::to_string(k) + ": " + why);
  };
  auto coordinate = [&](const pugi::xml_node& v, const char* name, const std::string& region, std::size_t k) {
    const auto attr = v.attribute(name);
    if (!attr) throw bad_vertex(v, region, k, std::string("no ") + name + " coordinate");
    const char* s = attr.value();
    char* end = nullptr;
    errno = 0;
    const double value = std::strtod(s, &end);
    while (end && (*end == ' ' || *end == '\t')) ++end;
    if (end == s || *end != '\0' || !std::isfinite(value))
      throw bad_vertex(v, region, k, std::string(name) + "=\"" + s + "\" is not a number");
    if (std::abs(value) > core::kMaxCoordinate)
      throw bad_vertex(v, region, k, std::string(name) + "=" + s + " is beyond ±1e7 px (larger than any slide)");
    return value;
  };
  std::vector<core::Nucleus> out;
  for (const auto& annotation : root.children("Annotation"))
    for (const auto& region : annotation.child("Regions").children("Region")) {
      const std::string id = region.attribute("Id").as_string();
      core::Nucleus n;
      std::size_t k = 1;  // as people count
      for (const auto& v : region.child("Vertices").children("Vertex")) {
        n.polygon.outer.push_back({coordinate(v, "X", id, k), coordinate(v, "Y", id, k)});
        ++k;
      }
      if (n.polygon.outer.size() >= 2 && n.polygon.outer.front() == n.polygon.outer.back()) n.polygon.outer.pop_back();
      if (n.polygon.outer.size() < 3) continue;  // ImageScope keeps stray clicks as 1-2 point regions
      finish(n, path.stem().string() + ":" + id);
      out.push_back(std::move(n));
    }
  return out;
}

namespace {

// Instance labels of a decoded label map: grey values as they are; colours (RGB masks, one colour per
// nucleus) numbered by colour, black (or transparent) as background, so that two nuclei whose colours
// share a grey level stay two.
cv::Mat instance_labels(const cv::Mat& raw, const fs::path& path) {
  cv::Mat labels;
  if (raw.channels() == 1) {
    raw.convertTo(labels, CV_32S);
    return labels;
  }
  if (raw.channels() != 3 && raw.channels() != 4)
    throw InvalidArgument(path.string() + ": " + std::to_string(raw.channels()) + " channels: not a label map");
  cv::Mat wide;
  raw.convertTo(wide, CV_MAKETYPE(CV_16U, raw.channels()));
  labels = cv::Mat::zeros(raw.rows, raw.cols, CV_32S);
  std::unordered_map<std::uint64_t, int> index;
  constexpr std::size_t kMaxColours = 1 << 20;
  const int ch = raw.channels();
  for (int y = 0; y < wide.rows; ++y) {
    const auto* px = wide.ptr<std::uint16_t>(y);
    auto* out = labels.ptr<int>(y);
    for (int x = 0; x < wide.cols; ++x, px += ch) {
      if ((px[0] == 0 && px[1] == 0 && px[2] == 0) || (ch == 4 && px[3] == 0)) continue;
      const std::uint64_t colour = (std::uint64_t{px[0]} << 32) | (std::uint64_t{px[1]} << 16) | px[2];
      const auto [it, fresh] = index.try_emplace(colour, static_cast<int>(index.size()) + 1);
      if (fresh && index.size() > kMaxColours)
        throw InvalidArgument(path.string() + ": more than " + std::to_string(kMaxColours) +
                              " colours: a photograph, not an instance mask (one colour per nucleus)");
      out[x] = it->second;
    }
  }
  return labels;
}

// Whether a decoded mask is black and white (one channel, or channels that agree): 0 and one other value.
bool is_binary_mask(const cv::Mat& m) {
  std::vector<cv::Mat> ch;
  cv::split(m, ch);
  for (std::size_t c = 1; c < ch.size(); ++c)
    if (cv::countNonZero(ch[c] != ch[0]) > 0) return false;
  double lo = 0, hi = 0;
  cv::minMaxLoc(ch[0], &lo, &hi);
  return cv::countNonZero((ch[0] > 0) & (ch[0] < hi)) == 0;
}

}  // namespace

std::vector<core::Nucleus> read_label_map(const fs::path& path) {
  const cv::Mat labels = instance_labels(read_image(path, cv::IMREAD_UNCHANGED), path);
  // Bounding box of each label in one pass, then one crop per label.
  std::map<int, cv::Rect> boxes;
  for (int y = 0; y < labels.rows; ++y)
    for (int x = 0; x < labels.cols; ++x) {
      const int l = labels.at<int>(y, x);
      if (l == 0) continue;
      auto [it, fresh] = boxes.try_emplace(l, x, y, 1, 1);
      if (!fresh) it->second |= cv::Rect(x, y, 1, 1);
    }
  std::vector<core::Nucleus> out;
  for (const auto& [label, box] : boxes) {
    cv::Mat crop = labels(box) == label;
    core::Nucleus n;
    if (nucleus_from_mask(crop, box.x, box.y, path.stem().string() + ":" + std::to_string(label), n))
      out.push_back(std::move(n));
  }
  return out;
}

std::vector<core::Nucleus> read_mask_folder(const fs::path& folder) {
  // An analysis folder holds PNGs too (heatmap.png): scored as masks they would be nonsense.
  for (const char* name : {"results.sqlite", "summary.json", "nuclei.geojson", "nuclei.geojson.gz"})
    if (fs::exists(folder / name))
      throw InvalidArgument(folder.string() + ": a Karyon output folder, not a folder of nucleus masks; pass " +
                            (folder / (fs::exists(folder / "nuclei.geojson.gz") ? "nuclei.geojson.gz" : "nuclei.geojson"))
                                .string());
  const fs::path dir = fs::is_directory(folder / "masks") ? folder / "masks" : folder;
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_regular_file() && e.path().extension() == ".png") files.push_back(e.path());
  if (files.empty()) throw InvalidArgument(dir.string() + ": no PNG masks in this folder");
  std::sort(files.begin(), files.end());
  std::vector<core::Nucleus> out;
  for (const auto& f : files) {
    const cv::Mat m = read_image(f, cv::IMREAD_UNCHANGED | cv::IMREAD_ANYDEPTH);
    if (!is_binary_mask(m))
      throw InvalidArgument(f.string() + ": not a black-and-white mask; a mask folder holds one binary PNG per "
                            "nucleus (Data Science Bowl layout)");
    std::vector<cv::Mat> ch;
    cv::split(m, ch);
    const cv::Mat on = ch[0] > 0;
    const cv::Rect box = cv::boundingRect(on);
    if (box.empty()) continue;
    core::Nucleus n;
    if (nucleus_from_mask(on(box), box.x, box.y, f.stem().string(), n)) out.push_back(std::move(n));
  }
  return out;
}

std::vector<core::Nucleus> read_annotations(const fs::path& path) {
  if (const auto problem = core::input_path_problem(path))
    throw InvalidArgument(path.string() + ": " + (*problem == "no such file" ? "no such file or folder" : *problem));
  if (fs::is_directory(path)) return read_mask_folder(path);
  std::string ext = path.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  if (ext == ".xml") return read_imagescope_xml(path);
  if (ext == ".geojson" || ext == ".json" || ext == ".gz") return read_geojson(path);
  if (ext == ".png" || ext == ".tif" || ext == ".tiff") return read_label_map(path);
  throw InvalidArgument(path.string() + ": unknown annotation format (expected .geojson, .xml, a label-map .png/.tif, "
                        "or a folder of per-nucleus masks)");
}

}  // namespace karyon::postprocess
