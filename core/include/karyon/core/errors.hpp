#pragma once
// Karyon's exception hierarchy. Each C library boundary (OpenSlide, libtiff, LibTorch, SQLite)
// converts its failures into one of these in exactly one place; messages name the file and the
// problem so that a user can act on them without a debugger.
#include <stdexcept>
#include <string>

namespace karyon::core {

// Base of every error Karyon throws on purpose.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The caller asked for something impossible (bad option, region outside the slide, ...).
class InvalidArgument : public Error {
 public:
  using Error::Error;
};

// --resume found results made with other settings (slide, model, µm/px, tiling, region or threshold): the
// caller may offer to keep them aside and start afresh rather than report a dead end.
class SettingsMismatch : public InvalidArgument {
 public:
  using InvalidArgument::InvalidArgument;
};

// A slide could not be opened or read: missing, unsupported, corrupt, truncated.
class SlideError : public Error {
 public:
  using Error::Error;
};

// One area of a readable slide cannot be decoded (a damaged JPEG tile, ...); the slide stays usable for
// other areas, so a caller may read around it (coarser level, leave the area out) instead of giving up.
class DamagedRegion : public SlideError {
 public:
  using SlideError::SlideError;
};

// A model file or model card is missing, corrupt or inconsistent.
class ModelError : public Error {
 public:
  using Error::Error;
};

// Writing results failed (disk full, read-only folder, ...).
class OutputError : public Error {
 public:
  using Error::Error;
};

// Work stopped because the user (or a signal) asked for it. Not a failure.
class Cancelled : public Error {
 public:
  Cancelled() : Error("cancelled") {}
};

}  // namespace karyon::core
