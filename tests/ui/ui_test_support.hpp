#pragma once
// Helpers for the Qt Test suites of ui/: a synthetic pyramidal slide written once per process into
// a temporary folder (removed at exit), and access to ../shared/data.
#include <QDir>
#include <QString>
#include <QTemporaryDir>
#include <filesystem>

#include "karyon/tiling/synthetic_slide.hpp"

namespace karyon::uitest {

inline QTemporaryDir& scratchDir() {
  static QTemporaryDir dir(QDir::tempPath() + QStringLiteral("/karyon-ui-test-XXXXXX"));
  return dir;
}

// 3072 x 2560 px at 0.25 µm/px, factor-2 pyramid of 256 px JPEG tiles: several display levels,
// several 512 px display tiles per level, written in well under a second.
inline QString syntheticSlidePath() {
  static const QString path = [] {
    const QString tiff = scratchDir().filePath(QStringLiteral("synthetic.tiff"));
    tiling::SynthOptions o;
    o.width = 3072;
    o.height = 2560;
    o.level_factor = 2;
    o.mpp = 0.25;
    tiling::write_synthetic_slide(tiff.toStdString(),
                                  scratchDir().filePath(QStringLiteral("synthetic.geojson")).toStdString(), o);
    return tiff;
  }();
  return path;
}

inline QString sharedFile(const char* relative) {
  return QDir(QStringLiteral(KARYON_SHARED_DATA)).filePath(QString::fromUtf8(relative));
}

}  // namespace karyon::uitest
