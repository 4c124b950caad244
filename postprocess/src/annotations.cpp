#include "karyon/postprocess/annotations.hpp"

#include <algorithm>
#include <map>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <pugixml.hpp>

#include "karyon/core/errors.hpp"
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

cv::Mat read_image(const fs::path& path, int flags) {
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
  pugi::xml_document doc;
  const auto parsed = doc.load_file(path.c_str());
  if (!parsed)
    throw InvalidArgument(path.string() + ": not valid XML (" + parsed.description() + " at byte " +
                          std::to_string(parsed.offset) + ")");
  const auto root = doc.child("Annotations");
  if (!root) throw InvalidArgument(path.string() + ": no <Annotations> element: not an ImageScope annotation file");
  std::vector<core::Nucleus> out;
  for (const auto& annotation : root.children("Annotation"))
    for (const auto& region : annotation.child("Regions").children("Region")) {
      core::Nucleus n;
      for (const auto& v : region.child("Vertices").children("Vertex"))
        n.polygon.outer.push_back({v.attribute("X").as_double(), v.attribute("Y").as_double()});
      if (n.polygon.outer.size() >= 2 && n.polygon.outer.front() == n.polygon.outer.back()) n.polygon.outer.pop_back();
      if (n.polygon.outer.size() < 3) continue;  // ImageScope keeps stray clicks as 1-2 point regions
      finish(n, path.stem().string() + ":" + region.attribute("Id").as_string());
      out.push_back(std::move(n));
    }
  return out;
}

std::vector<core::Nucleus> read_label_map(const fs::path& path) {
  const cv::Mat raw = read_image(path, cv::IMREAD_ANYDEPTH | cv::IMREAD_GRAYSCALE);
  cv::Mat labels;
  raw.convertTo(labels, CV_32S);
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
  const fs::path dir = fs::is_directory(folder / "masks") ? folder / "masks" : folder;
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_regular_file() && e.path().extension() == ".png") files.push_back(e.path());
  if (files.empty()) throw InvalidArgument(dir.string() + ": no PNG masks in this folder");
  std::sort(files.begin(), files.end());
  std::vector<core::Nucleus> out;
  for (const auto& f : files) {
    const cv::Mat m = read_image(f, cv::IMREAD_GRAYSCALE);
    const cv::Mat on = m > 0;
    const cv::Rect box = cv::boundingRect(on);
    if (box.empty()) continue;
    core::Nucleus n;
    if (nucleus_from_mask(on(box), box.x, box.y, f.stem().string(), n)) out.push_back(std::move(n));
  }
  return out;
}

std::vector<core::Nucleus> read_annotations(const fs::path& path) {
  if (!fs::exists(path)) throw InvalidArgument(path.string() + ": no such file or folder");
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
