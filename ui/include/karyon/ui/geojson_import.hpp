#pragma once
// File > Import GeoJSON without blocking the GUI thread. The file (ours or QuPath's, plain or .gz)
// is read and parsed by postprocess::read_geojson on QtConcurrent's pool; its nuclei are then added
// to the review session's store on the GUI thread (where the session's connection lives), in slices
// of at most kSliceMs between events, so the window keeps painting and taking review edits. Each is
// added as postprocess::import_geojson adds it: a drawn nucleus, or a rejected one when an export
// kept it rejected.
//
// A file that cannot be read or parsed changes nothing. A store write failing part-way keeps the
// nuclei added so far and every edit; so does closing the results during the import (it stops).
// Errors name the file. One import at a time.
#include <QFutureWatcher>
#include <QObject>
#include <QPointer>
#include <QString>
#include <vector>

#include "karyon/core/nucleus.hpp"

namespace karyon::ui {

class ReviewSession;

class GeoJsonImport : public QObject {
  Q_OBJECT
 public:
  static constexpr int kSliceMs = 30;

  explicit GeoJsonImport(QObject* parent = nullptr);
  ~GeoJsonImport() override;

  // Starts importing `path` into `session` (its µm/px fills the area and perimeter of nuclei the
  // file has no measurements for); false (nothing started) while another import runs.
  bool start(const QString& path, ReviewSession* session);
  bool isRunning() const { return m_running; }
  QString path() const { return m_path; }

 signals:
  void parsed(qint64 count);  // the file is read; its nuclei are being added
  void progress(qint64 added, qint64 count);
  void finished(QString path, qint64 count);
  void failed(QString path, QString message);

 private:
  struct Parsed {
    std::vector<core::Nucleus> nuclei;
    QString error;
  };
  void onParsed();
  void addSlice();
  void fail(const QString& message);

  QString m_path;
  bool m_running = false;
  QPointer<ReviewSession> m_session;
  QFutureWatcher<Parsed>* m_watcher = nullptr;
  std::vector<core::Nucleus> m_nuclei;
  std::size_t m_added = 0;
};

}  // namespace karyon::ui
