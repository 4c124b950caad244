// Plain-image fallback (PNG, JPEG, strip TIFF, ...): a single-level slide, decoded into memory on the
// first read (its size comes from the header, so `info` and size checks decode nothing). Images above
// OpenCV's CV_IO_MAX_IMAGE_PIXELS (2^30) are refused at open, which bounds memory.
#include <algorithm>
#include <mutex>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "karyon/core/errors.hpp"
#include "image_header.hpp"
#include "slide_backends.hpp"
#include "tiff_handle.hpp"

namespace karyon::tiling {
namespace fs = std::filesystem;
using core::SlideError;

namespace {

// µm/px of a TIFF read through libtiff; empty for other formats or without resolution tags.
std::optional<double> tiff_mpp(const fs::path& path, std::string& source) {
  const TiffHandle handle(path.c_str(), "r");
  TIFF* tif = handle.get();
  if (!tif) return std::nullopt;
  float xres = 0;
  uint16_t unit = RESUNIT_NONE;
  std::optional<double> mpp;
  if (TIFFGetField(tif, TIFFTAG_XRESOLUTION, &xres) && TIFFGetFieldDefaulted(tif, TIFFTAG_RESOLUTIONUNIT, &unit)) {
    mpp = mpp_from_tiff_resolution(xres, std::to_string(unit));
    if (mpp) source = "tiff.XResolution";
  }
  return mpp;
}

cv::Mat decode_rgb8(const fs::path& path);

class ImageSlide final : public Slide {
 public:
  // `decoded`: the pixels when the size had to be learnt by decoding, else empty (decoded on first read).
  ImageSlide(const fs::path& path, std::int64_t width, std::int64_t height, cv::Mat decoded) : rgb_(std::move(decoded)) {
    metadata_.path = path;
    metadata_.format = "image";
    metadata_.levels.push_back(LevelInfo{width, height, 1.0});
    std::string source;
    if (auto mpp = tiff_mpp(path, source)) {
      metadata_.mpp_x = metadata_.mpp_y = mpp;
      metadata_.mpp_source = source;
    }
  }

  void read_region(int level, std::int64_t x_level0, std::int64_t y_level0, int width, int height,
                   core::RgbImage& out) const override {
    if (level != 0) throw core::InvalidArgument(path().string() + ": plain images have only level 0");
    if (width <= 0 || height <= 0) throw core::InvalidArgument(path().string() + ": empty region requested");
    const cv::Mat& rgb = pixels();
    out.resize(width, height);
    std::fill(out.pixels.begin(), out.pixels.end(), std::uint8_t{255});
    const std::int64_t x0 = std::max<std::int64_t>(x_level0, 0), y0 = std::max<std::int64_t>(y_level0, 0);
    const std::int64_t x1 = std::min<std::int64_t>(x_level0 + width, rgb.cols);
    const std::int64_t y1 = std::min<std::int64_t>(y_level0 + height, rgb.rows);
    for (std::int64_t y = y0; y < y1; ++y) {
      const std::uint8_t* src = rgb.ptr<std::uint8_t>(static_cast<int>(y)) + x0 * 3;
      std::copy(src, src + (x1 - x0) * 3, out.row(static_cast<int>(y - y_level0)) + (x0 - x_level0) * 3);
    }
  }

 private:
  // Decoded once, by whichever reader thread comes first; a failure is kept and rethrown to every reader.
  const cv::Mat& pixels() const {
    std::call_once(decoded_, [this] {
      try {
        if (rgb_.empty()) rgb_ = decode_rgb8(path());
        if (rgb_.cols != metadata_.width() || rgb_.rows != metadata_.height())
          throw SlideError(path().string() + ": decodes to " + std::to_string(rgb_.cols) + " x " +
                           std::to_string(rgb_.rows) + " px but its header says " + std::to_string(metadata_.width()) +
                           " x " + std::to_string(metadata_.height()) + " (damaged?)");
      } catch (...) {
        decode_error_ = std::current_exception();
      }
    });
    if (decode_error_) std::rethrow_exception(decode_error_);
    return rgb_;
  }

  mutable std::once_flag decoded_;
  mutable cv::Mat rgb_;  // CV_8UC3 in RGB order
  mutable std::exception_ptr decode_error_;
};

// In place where it can: a whole image is decoded, and a second copy of it is what would not fit.
cv::Mat to_rgb8(cv::Mat img8) {
  if (img8.depth() == CV_16U) img8.convertTo(img8, CV_8U, 1.0 / 257.0);
  else if (img8.depth() != CV_8U) img8.convertTo(img8, CV_8U);
  cv::Mat rgb;
  switch (img8.channels()) {
    case 1: cv::cvtColor(img8, rgb, cv::COLOR_GRAY2RGB); break;
    case 3: cv::cvtColor(img8, img8, cv::COLOR_BGR2RGB); return img8;
    case 4: {  // composite straight alpha on white, like the OpenSlide path
      rgb.create(img8.rows, img8.cols, CV_8UC3);
      for (int y = 0; y < img8.rows; ++y) {
        const auto* s = img8.ptr<std::uint8_t>(y);
        auto* d = rgb.ptr<std::uint8_t>(y);
        for (int x = 0; x < img8.cols; ++x, s += 4, d += 3) {
          const int a = s[3];
          for (int c = 0; c < 3; ++c) d[c] = static_cast<std::uint8_t>((s[2 - c] * a + 255 * (255 - a) + 127) / 255);
        }
      }
      break;
    }
    default: throw SlideError("unsupported channel count " + std::to_string(img8.channels()));
  }
  return rgb;
}

cv::Mat decode_rgb8(const fs::path& path) {
  cv::Mat decoded;
  try {
    decoded = cv::imread(path.string(), cv::IMREAD_UNCHANGED);
  } catch (const cv::Exception& e) {
    throw SlideError(path.string() + ": cannot decode image: " + e.what());
  }
  if (decoded.empty()) throw SlideError(path.string() + ": cannot decode image (corrupt or truncated?)");
  try {
    return to_rgb8(std::move(decoded));
  } catch (const std::exception& e) {
    throw SlideError(path.string() + ": " + e.what());
  }
}

}  // namespace

std::unique_ptr<Slide> open_plain_image(const fs::path& path) {
  if (!has_plain_image_signature(path) || !cv::haveImageReader(path.string()))
    throw SlideError(path.string() +
                     ": unsupported format (neither a whole-slide format OpenSlide knows nor a plain image)");
  if (const auto size = image_size_from_header(path)) {
    const auto [w, h] = *size;
    // OpenCV's own bound (CV_IO_MAX_IMAGE_PIXELS), said at open rather than at the first read.
    constexpr std::int64_t kMaxPixels = std::int64_t{1} << 30;
    if (w > 0 && h > 0 && w <= kMaxSlideDimension && h <= kMaxSlideDimension && w * h > kMaxPixels)
      throw SlideError(path.string() + ": " + std::to_string(w) + " x " + std::to_string(h) +
                       " px is too large for a plain image (at most 2^30 px); convert it to a pyramidal TIFF");
    return std::make_unique<ImageSlide>(path, w, h, cv::Mat());
  }
  cv::Mat rgb = decode_rgb8(path);
  const std::int64_t w = rgb.cols, h = rgb.rows;
  return std::make_unique<ImageSlide>(path, w, h, std::move(rgb));
}

}  // namespace karyon::tiling
