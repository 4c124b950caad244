#include "karyon/ui/geojson_import.hpp"

#include <QElapsedTimer>
#include <QFileInfo>
#include <QTimer>
#include <QtConcurrent/QtConcurrentRun>
#include <exception>

#include "karyon/postprocess/geojson.hpp"
#include "karyon/ui/review_session.hpp"

namespace karyon::ui {

GeoJsonImport::GeoJsonImport(QObject* parent) : QObject(parent) {}

// A parse still running finishes on the pool (it owns copies of what it reads); its result is
// dropped with the watcher.
GeoJsonImport::~GeoJsonImport() = default;

bool GeoJsonImport::start(const QString& path, ReviewSession* session) {
  if (m_running || !session) return false;
  m_running = true;
  m_path = path;
  m_session = session;
  m_nuclei.clear();
  m_added = 0;
  const std::filesystem::path file = path.toStdString();
  const double mpp = session->mppX();
  m_watcher = new QFutureWatcher<Parsed>(this);
  connect(m_watcher, &QFutureWatcher<Parsed>::finished, this, &GeoJsonImport::onParsed);
  m_watcher->setFuture(QtConcurrent::run([file, mpp]() -> Parsed {
    // Nothing may escape into QtConcurrent (it would rethrow on the GUI thread).
    Parsed p;
    try {
      p.nuclei = postprocess::read_geojson(file, mpp);
    } catch (const std::exception& e) {
      p.error = QString::fromUtf8(e.what());
    }
    return p;
  }));
  return true;
}

void GeoJsonImport::onParsed() {
  Parsed p = m_watcher->future().takeResult();
  m_watcher->deleteLater();
  m_watcher = nullptr;
  if (!p.error.isEmpty()) return fail(p.error);
  m_nuclei = std::move(p.nuclei);
  emit parsed(static_cast<qint64>(m_nuclei.size()));
  addSlice();
}

void GeoJsonImport::addSlice() {
  if (!m_session) return fail(tr("the results were closed before the import finished (%1 of %2 nuclei imported)")
                                  .arg(m_added)
                                  .arg(m_nuclei.size()));
  QElapsedTimer clock;
  clock.start();
  auto& store = m_session->store();
  const std::string user = m_session->user().toStdString();
  try {
    while (m_added < m_nuclei.size() && clock.elapsed() < kSliceMs) {
      postprocess::add_imported(store, std::move(m_nuclei[m_added]), user);
      ++m_added;
    }
  } catch (const std::exception& e) {
    return fail(tr("%1 (%2 of %3 nuclei imported)").arg(QString::fromUtf8(e.what())).arg(m_added).arg(m_nuclei.size()));
  }
  const auto count = static_cast<qint64>(m_nuclei.size());
  emit progress(static_cast<qint64>(m_added), count);
  if (m_added < m_nuclei.size()) {
    QTimer::singleShot(0, this, &GeoJsonImport::addSlice);
    return;
  }
  m_nuclei.clear();
  m_running = false;
  emit finished(m_path, count);
}

void GeoJsonImport::fail(const QString& message) {
  m_nuclei.clear();
  m_running = false;
  // The file's name in every message, as the reader's own errors give it.
  const QString name = QFileInfo(m_path).fileName();
  emit failed(m_path, message.contains(name) ? message : QStringLiteral("%1: %2").arg(m_path, message));
}

}  // namespace karyon::ui
