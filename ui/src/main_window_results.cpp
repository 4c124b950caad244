// MainWindow's results: open and close a store (the slide's own, or one chosen), the exports of
// File > Export (on a worker, results_export.hpp), File > Import GeoJSON (GeoJsonImport) and the
// results folder's files kept in step with the store (ResultsFolderOutputs).
#include <QDateTime>
#include <QDebug>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QFutureWatcher>
#include <QMessageBox>
#include <QPointer>
#include <QProgressBar>
#include <QStatusBar>
#include <QUndoStack>
#include <QtConcurrent/QtConcurrentRun>
#include <algorithm>
#include <exception>

#include "karyon/ui/detection_controller.hpp"
#include "karyon/ui/geojson_import.hpp"
#include "karyon/ui/main_window.hpp"
#include "karyon/ui/measurement_panel.hpp"
#include "karyon/ui/nucleus_overlay.hpp"
#include "karyon/ui/results_export.hpp"
#include "karyon/ui/review_session.hpp"
#include "karyon/ui/slide_tile_source.hpp"
#include "karyon/ui/slide_viewer.hpp"

namespace karyon::ui {

bool MainWindow::openResults(const QString& storePath) {
  closeResults();
  double mx = 0, my = 0;
  if (const SlideTileSource* s = m_viewer->source()) {
    mx = s->metadata().mpp_x.value_or(0);
    my = s->metadata().mpp_y.value_or(mx);
  }
  try {
    m_session = new ReviewSession(storePath, mx, my, this);
  } catch (const std::exception& e) {
    m_reportError(tr("Cannot open results"), QString::fromUtf8(e.what()));
    return false;
  }
  // Drawn and reshaped nuclei are measured on the slide's own pixels (stain densities), read at
  // level 0 from the slide shown (the one whose results these are).
  m_session->setPixelReader([viewer = QPointer<SlideViewer>(m_viewer)](const QRect& want) {
    ReviewSession::Level0Pixels out;
    const SlideTileSource* s = viewer ? viewer->source() : nullptr;
    if (!s) return out;
    const QRect r = want.intersected(QRect(0, 0, static_cast<int>(s->metadata().width()),
                                           static_cast<int>(s->metadata().height())));
    if (r.isEmpty()) return out;
    try {
      s->slide().read_region(0, r.x(), r.y(), r.width(), r.height(), out.image);
      out.x = r.x();
      out.y = r.y();
    } catch (const std::exception& e) {
      qWarning().noquote() << "stain densities left 0: cannot read the slide under the outline:" << e.what();
      out.image = {};
    }
    return out;
  });
  connect(m_session, &ReviewSession::statisticsChanged, this, &MainWindow::updateReviewDock);
  connect(m_session, &ReviewSession::edited, this, &MainWindow::updateReviewDock);
  connect(m_session->undoStack(), &QUndoStack::indexChanged, this, &MainWindow::updateReviewDock);
  // The results folder's nuclei.geojson / nuclei.csv follow the store (every edit, undo and redo).
  m_outputs->setStore(storePath);
  connect(m_session, &ReviewSession::edited, m_outputs, &ResultsFolderOutputs::schedule);
  connect(m_session, &ReviewSession::editFailed, this, [this](const QString& message) {
    m_reportError(tr("Review edit not saved"), message);
  });
  m_overlay->setSession(m_session);
  m_measurements->setSession(m_session);
  updateReviewDock();
  emit resultsOpened(storePath);
  return true;
}

void MainWindow::closeResults() {
  if (!m_session) return;
  // Edits not yet in the folder's nuclei.geojson / nuclei.csv go there now (a kill can still lose
  // the last second of them there, never in the store).
  m_outputs->flush();
  m_outputs->setStore({});
  m_overlay->setSession(nullptr);
  m_measurements->setSession(nullptr);
  // Disconnect before deleting: the session's undo stack signals while it is torn down.
  ReviewSession* session = m_session;
  m_session = nullptr;
  disconnect(session, nullptr, this, nullptr);
  disconnect(session->undoStack(), nullptr, this, nullptr);
  delete session;
  updateReviewDock();
}

void MainWindow::openResultsOfSlide(const QString& slidePath) {
  const QString dir = DetectionController::outputFolderFor(slidePath);
  QString store = DetectionController::storePathIn(dir);
  if (!QFileInfo::exists(store)) {
    // No whole-slide results: the most recent region run, if any.
    store.clear();
    QDateTime newest;
    const QDir regions(QDir(dir).filePath(QStringLiteral("regions")));
    for (const QFileInfo& r : regions.entryInfoList(QDir::Dirs | QDir::NoDotAndDotDot)) {
      const QFileInfo candidate(DetectionController::storePathIn(r.absoluteFilePath()));
      if (candidate.exists() && (store.isEmpty() || candidate.lastModified() > newest)) {
        store = candidate.absoluteFilePath();
        newest = candidate.lastModified();
      }
    }
  }
  if (!store.isEmpty()) openResults(store);
}

void MainWindow::showOpenResultsDialog() {
  const QString dir = m_currentPath.isEmpty() ? QDir::homePath() : DetectionController::outputFolderFor(m_currentPath);
  const QString path = QFileDialog::getOpenFileName(this, tr("Open Results"), dir, tr("Karyon results (results.sqlite)"));
  if (!path.isEmpty()) openResults(path);
}

void MainWindow::showExportDialog(const QString& kind) {
  if (!m_session) return;
  const QDir out = QFileInfo(m_session->storePath()).dir();
  const QString base = QFileInfo(m_currentPath).completeBaseName();
  QString suggested, filter;
  if (kind == QLatin1String("geojson")) {
    suggested = base + QStringLiteral(".geojson");
    filter = tr("GeoJSON (*.geojson *.json *.geojson.gz)");
  } else if (kind == QLatin1String("csv")) {
    suggested = base + QStringLiteral(".csv");
    filter = tr("CSV (*.csv)");
  } else {
    suggested = base + QStringLiteral("-heatmap.png");
    filter = tr("Heatmap image (*.png);;Heatmap grid (*.json)");
  }
  const QString path = QFileDialog::getSaveFileName(this, tr("Export"), out.filePath(suggested), filter);
  if (path.isEmpty()) return;
  // Rejected nuclei are left out unless the reviewer keeps them (QuPath then shows them as
  // "<class>: Rejected"); asked only when there are some. No is the default.
  bool includeRejected = false;
  const qint64 rejected = m_session->count(core::ReviewState::Rejected);
  if (kind != QLatin1String("heatmap") && rejected > 0) {
    QMessageBox box(QMessageBox::Question, tr("Export"),
                    (rejected == 1 ? tr("1 nucleus was rejected in review.")
                                   : tr("%1 nuclei were rejected in review.").arg(rejected)) +
                        tr(" Keep them in the export (class \"\u2026: Rejected\" in QuPath)? If not, they are left out."),
                    QMessageBox::Yes | QMessageBox::No, this);
    box.setDefaultButton(QMessageBox::No);
    includeRejected = box.exec() == QMessageBox::Yes;
  }
  exportResults(kind, path, includeRejected);
}

void MainWindow::exportResults(const QString& kind, const QString& path, bool includeRejected) {
  if (!m_session) {
    m_reportError(tr("Export"), tr("No results to export."));
    return;
  }
  const std::filesystem::path store = m_session->storePath().toStdString();
  const std::filesystem::path target = path.toStdString();
  std::int64_t width = 0, height = 0;
  double mx = m_session->mppX(), my = m_session->mppY();
  if (const SlideTileSource* s = m_viewer->source()) width = s->metadata().width(), height = s->metadata().height();
  if (!(mx > 0)) mx = my = 0.5;  // as the on-screen heatmap: relative density when µm/px is unknown
  const postprocess::ExportOptions options{.include_rejected = includeRejected};
  ++m_exporting;
  statusBar()->showMessage(tr("Exporting %1\u2026").arg(QFileInfo(path).fileName()));
  auto* watcher = new QFutureWatcher<ExportOutcome>(this);
  connect(watcher, &QFutureWatcher<ExportOutcome>::finished, this, [this, watcher, path] {
    watcher->deleteLater();
    --m_exporting;
    const ExportOutcome o = watcher->result();
    if (o.error.isEmpty() && o.rejectedLeftOut > 0)
      statusBar()->showMessage(tr("Exported %1 (%2 nuclei); %3 rejected left out").arg(QDir::toNativeSeparators(path)).arg(o.count)
                                   .arg(o.rejectedLeftOut),
                               15000);
    else if (o.error.isEmpty())
      statusBar()->showMessage(tr("Exported %1 (%2)").arg(QDir::toNativeSeparators(path)).arg(o.count), 15000);
    else
      m_reportError(tr("Export failed"), o.error);
    emit exportFinished(path, o.count, o.error);
  });
  watcher->setFuture(QtConcurrent::run(
      [=] { return runExport(store, kind, target, width, height, mx, my, options); }));
}

void MainWindow::showImportDialog() {
  const QString dir = m_currentPath.isEmpty() ? QDir::homePath() : QFileInfo(m_currentPath).absolutePath();
  const QString path = QFileDialog::getOpenFileName(this, tr("Import GeoJSON"), dir,
                                                    tr("GeoJSON (*.geojson *.json *.geojson.gz);;All files (*)"));
  if (!path.isEmpty()) importGeoJson(path);
}

bool MainWindow::importGeoJson(const QString& path) {
  if (m_import->isRunning()) {
    m_reportError(tr("Import GeoJSON"),
                  tr("%1 is still being imported; import %2 when it has finished.")
                      .arg(QFileInfo(m_import->path()).fileName(), QFileInfo(path).fileName()));
    return false;
  }
  if (!m_session) {
    if (m_currentPath.isEmpty()) {
      m_reportError(tr("Import GeoJSON"), tr("Open a slide first."));
      return false;
    }
    // No results yet: the imported nuclei start the slide's store (a later detection run on the
    // whole slide then offers to keep them aside, as for any store it cannot continue).
    const QString dir = DetectionController::outputFolderFor(m_currentPath);
    QDir().mkpath(dir);
    if (!openResults(DetectionController::storePathIn(dir))) return false;
  }
  m_import->start(path, m_session);
  m_importBar->setRange(0, 0);  // busy until the file is read, then the nuclei added
  m_importBar->show();
  statusBar()->showMessage(tr("Importing %1\u2026").arg(QFileInfo(path).fileName()));
  return true;
}

bool MainWindow::isImporting() const { return m_import && m_import->isRunning(); }

void MainWindow::createImport() {
  m_importBar = new QProgressBar(this);
  m_importBar->setMaximumWidth(160);
  m_importBar->setToolTip(tr("Importing GeoJSON"));
  m_importBar->hide();
  statusBar()->addPermanentWidget(m_importBar);
  m_import = new GeoJsonImport(this);
  connect(m_import, &GeoJsonImport::parsed, this, [this](qint64 count) {
    m_importBar->setRange(0, static_cast<int>(std::max<qint64>(1, count)));
    m_importBar->setValue(0);
  });
  connect(m_import, &GeoJsonImport::progress, this, [this](qint64 added, qint64) {
    m_importBar->setValue(static_cast<int>(added));
  });
  connect(m_import, &GeoJsonImport::finished, this, &MainWindow::onImportFinished);
  connect(m_import, &GeoJsonImport::failed, this, &MainWindow::onImportFailed);
}

void MainWindow::onImportFinished(const QString& path, qint64 count) {
  m_importBar->hide();
  m_outputs->schedule();
  refreshResultViews();
  statusBar()->showMessage(tr("Imported %1 nuclei from %2").arg(count).arg(QFileInfo(path).fileName()), 15000);
  emit importFinished(path, count);
}

void MainWindow::onImportFailed(const QString& path, const QString& message) {
  m_importBar->hide();
  // Nuclei added before a store write failed are shown and go to the results folder's files.
  if (m_session) {
    m_outputs->schedule();
    refreshResultViews();
  }
  statusBar()->showMessage(tr("Could not import %1").arg(QFileInfo(path).fileName()), 10000);
  m_reportError(tr("Import failed"), message);
  emit importFailed(path, message);
}

void MainWindow::refreshResultViews() {
  if (m_overlay) m_overlay->refresh(true);
  if (m_session) m_session->refreshStatistics();
  m_measurements->reload();
}

bool MainWindow::outputsPending() const { return m_outputs->pending(); }

}  // namespace karyon::ui
