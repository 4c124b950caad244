// OpenSlide backend. OpenSlide errors are sticky: once a handle reports an error every later call
// fails, so each call is followed by openslide_get_error() and the first message is kept. A read that
// fails reopens the handle so that one damaged tile does not make the rest of the slide unreadable.
#include <openslide.h>

#include <cmath>
#include <cstring>
#include <mutex>
#include <shared_mutex>

#include "karyon/core/errors.hpp"
#include "slide_backends.hpp"

namespace karyon::tiling {
namespace fs = std::filesystem;
using core::SlideError;

namespace {

std::optional<double> parse_double(const char* s) {
  if (s == nullptr || *s == '\0') return std::nullopt;
  char* end = nullptr;
  const double v = std::strtod(s, &end);
  if (end == s || !std::isfinite(v)) return std::nullopt;
  return v;
}

class OpenSlideSlide final : public Slide {
 public:
  explicit OpenSlideSlide(const fs::path& path) {
    osr_ = openslide_open(path.c_str());
    if (osr_ == nullptr) throw SlideError(path.string() + ": not a slide format OpenSlide can read");
    throw_if_error(path, "open");
    metadata_.path = path;
    const char* vendor = openslide_get_property_value(osr_, OPENSLIDE_PROPERTY_NAME_VENDOR);
    metadata_.format = vendor ? vendor : "unknown";

    const int32_t level_count = openslide_get_level_count(osr_);
    throw_if_error(path, "read level count");
    for (int32_t i = 0; i < level_count; ++i) {
      LevelInfo level;
      openslide_get_level_dimensions(osr_, i, &level.width, &level.height);
      level.downsample = openslide_get_level_downsample(osr_, i);
      metadata_.levels.push_back(level);
    }
    throw_if_error(path, "read level dimensions");

    for (const char* const* name = openslide_get_property_names(osr_); name && *name; ++name) {
      const char* value = openslide_get_property_value(osr_, *name);
      metadata_.properties[*name] = value ? value : "";
    }
    for (const char* const* name = openslide_get_associated_image_names(osr_); name && *name; ++name)
      metadata_.associated_images.emplace_back(*name);
    throw_if_error(path, "read properties");

    read_mpp();
    metadata_.objective_power = parse_double(property(OPENSLIDE_PROPERTY_NAME_OBJECTIVE_POWER));
  }

  ~OpenSlideSlide() override {
    if (osr_) openslide_close(osr_);
  }

  void read_region(int level, std::int64_t x_level0, std::int64_t y_level0, int width, int height,
                   core::RgbImage& out) const override {
    if (level < 0 || level >= static_cast<int>(metadata_.levels.size()))
      throw core::InvalidArgument(path().string() + ": no level " + std::to_string(level));
    if (width <= 0 || height <= 0 || static_cast<std::int64_t>(width) * height > (std::int64_t{1} << 28))
      throw core::InvalidArgument(path().string() + ": region size " + std::to_string(width) + " x " +
                                  std::to_string(height) + " is empty or too large for one read");
    // One ARGB scratch buffer per thread: OpenSlide handles are thread-safe, the buffer is not.
    thread_local std::vector<std::uint32_t> argb;
    auto read_into_argb = [&] {
      // Zeroed: OpenSlide 3.4 leaves some areas it cannot decode untouched instead of transparent.
      argb.assign(static_cast<std::size_t>(width) * height, 0);
      openslide_read_region(osr_, argb.data(), x_level0, y_level0, level, width, height);
      const char* err = openslide_get_error(osr_);
      return err ? std::optional<std::string>(err) : std::nullopt;
    };
    std::optional<std::string> error;
    {
      std::shared_lock lock(handle_mutex_);
      error = read_into_argb();
    }
    if (error) {
      // The error may be another thread's (it is sticky on the shared handle): alone on a fresh handle,
      // read again. Failing again means this region itself cannot be decoded.
      std::unique_lock lock(handle_mutex_);
      reopen();
      error = read_into_argb();
      if (error) {
        reopen();  // leave a clean handle for the other areas
        throw core::DamagedRegion(path().string() + ": read failed at level " + std::to_string(level) + " (" +
                                  std::to_string(x_level0) + ", " + std::to_string(y_level0) + ") " +
                                  std::to_string(width) + "x" + std::to_string(height) + ": " + *error);
      }
    }
    out.resize(width, height);
    std::uint8_t* dst = out.pixels.data();
    for (const std::uint32_t v : argb) {
      // Premultiplied ARGB over white: c + (255 - a).
      const std::uint32_t a = v >> 24, inv = 255 - a;
      dst[0] = static_cast<std::uint8_t>(((v >> 16) & 0xff) + inv);
      dst[1] = static_cast<std::uint8_t>(((v >> 8) & 0xff) + inv);
      dst[2] = static_cast<std::uint8_t>((v & 0xff) + inv);
      dst += 3;
    }
  }

 private:
  const char* property(const char* name) const {
    auto it = metadata_.properties.find(name);
    return it == metadata_.properties.end() ? nullptr : it->second.c_str();
  }

  void read_mpp() {
    metadata_.mpp_x = parse_double(property(OPENSLIDE_PROPERTY_NAME_MPP_X));
    metadata_.mpp_y = parse_double(property(OPENSLIDE_PROPERTY_NAME_MPP_Y));
    if (metadata_.mpp_x && metadata_.mpp_y && *metadata_.mpp_x > 0 && *metadata_.mpp_y > 0) {
      metadata_.mpp_source = "openslide.mpp-x/y";
      return;
    }
    metadata_.mpp_x.reset();
    metadata_.mpp_y.reset();
    // OpenSlide 3.4 leaves mpp unset for generic TIFF; converted slides often carry it in the
    // resolution tags (e.g. libvips writes 0.25 µm/px as XResolution=40000 per centimeter).
    const char* unit = property("tiff.ResolutionUnit");
    const auto xres = parse_double(property("tiff.XResolution"));
    const auto yres = parse_double(property("tiff.YResolution"));
    if (unit && xres && yres) {
      metadata_.mpp_x = mpp_from_tiff_resolution(*xres, unit);
      metadata_.mpp_y = mpp_from_tiff_resolution(*yres, unit);
      if (metadata_.mpp_x && metadata_.mpp_y) {
        metadata_.mpp_source = "tiff.XResolution/YResolution";
        return;
      }
    }
    metadata_.mpp_x.reset();
    metadata_.mpp_y.reset();
  }

  // Replaces the handle by a fresh one (caller holds handle_mutex_ exclusively). A file that no longer
  // opens is a fatal error for the whole slide.
  void reopen() const {
    openslide_t* fresh = openslide_open(path().c_str());
    if (fresh == nullptr || openslide_get_error(fresh) != nullptr) {
      if (fresh) openslide_close(fresh);
      throw SlideError(path().string() + ": cannot reopen after a read error (file changed or removed?)");
    }
    openslide_close(osr_);
    osr_ = fresh;
  }

  void throw_if_error(const fs::path& path, const char* what) const {
    if (const char* err = openslide_get_error(osr_))
      throw SlideError(path.string() + ": cannot " + what + ": " + err);
  }

  mutable openslide_t* osr_ = nullptr;
  mutable std::shared_mutex handle_mutex_;  // shared: reads; exclusive: reopening after an error
};

}  // namespace

std::optional<double> mpp_from_tiff_resolution(double x_resolution, const std::string& unit) {
  if (!(x_resolution > 0)) return std::nullopt;
  double mpp = 0;
  if (unit == "centimeter" || unit == "3") mpp = 1e4 / x_resolution;
  else if (unit == "inch" || unit == "2") mpp = 25400.0 / x_resolution;
  else return std::nullopt;  // "none": the numbers carry no physical size
  // Writers that know nothing of microscopy leave 72 or 96 dpi (~350 µm/px) in these tags: a value
  // outside any scanner's range is such a default, not a resolution.
  if (mpp < 0.05 || mpp > 50) return std::nullopt;
  return mpp;
}

std::unique_ptr<Slide> open_with_openslide(const fs::path& path) { return std::make_unique<OpenSlideSlide>(path); }

}  // namespace karyon::tiling
