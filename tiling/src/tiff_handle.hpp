#pragma once
// libtiff files opened with per-handle error/warning handlers. libtiff's global handlers are
// shared with OpenSlide (which relies on its own), so Karyon never touches them.
#include <tiffio.h>

#include <cstdarg>
#include <cstdio>
#include <memory>
#include <string>

namespace karyon::tiling {

class TiffHandle {
 public:
  TiffHandle(const char* path, const char* mode) {
    TIFFOpenOptions* opts = TIFFOpenOptionsAlloc();
    TIFFOpenOptionsSetErrorHandlerExtR(opts, &TiffHandle::on_error, error_.get());
    TIFFOpenOptionsSetWarningHandlerExtR(opts, &TiffHandle::on_warning, nullptr);
    tif_ = TIFFOpenExt(path, mode, opts);
    TIFFOpenOptionsFree(opts);
  }
  ~TiffHandle() { close(); }
  TiffHandle(const TiffHandle&) = delete;
  TiffHandle& operator=(const TiffHandle&) = delete;

  TIFF* get() const { return tif_; }
  explicit operator bool() const { return tif_ != nullptr; }
  const std::string& last_error() const { return *error_; }
  void close() {
    if (tif_) TIFFClose(tif_);
    tif_ = nullptr;
  }

 private:
  static int on_error(TIFF*, void* user, const char* module, const char* fmt, va_list ap) {
    char buf[512];
    std::vsnprintf(buf, sizeof buf, fmt, ap);
    if (user) *static_cast<std::string*>(user) = std::string(module ? module : "libtiff") + ": " + buf;
    return 1;  // handled: do not call the global handler
  }
  static int on_warning(TIFF*, void*, const char*, const char*, va_list) { return 1; }

  std::unique_ptr<std::string> error_ = std::make_unique<std::string>();  // stable address for the handler
  TIFF* tif_ = nullptr;
};

}  // namespace karyon::tiling
