// MainWindow's detection: the model and its settings (remembered in QSettings), Run Detection on
// the slide or a region, its progress in the status bar, cancel, and a store of other settings.
#include <QDateTime>
#include <QDir>
#include <QFileInfo>
#include <QLabel>
#include <QProgressBar>
#include <QSettings>
#include <QStatusBar>
#include <QThread>
#include <QToolButton>
#include <algorithm>
#include <cmath>

#include "karyon/ui/detection_controller.hpp"
#include "karyon/ui/main_window.hpp"
#include "karyon/ui/measurement_panel.hpp"
#include "karyon/ui/model_dialog.hpp"
#include "karyon/ui/nucleus_overlay.hpp"
#include "karyon/ui/review_session.hpp"
#include "karyon/ui/slide_viewer.hpp"

namespace karyon::ui {

namespace {
const QString kModelKey = QStringLiteral("detection/model");
const QString kThresholdKey = QStringLiteral("detection/scoreThreshold");
const QString kDeviceKey = QStringLiteral("detection/device");
}  // namespace

void MainWindow::loadDetectionSettings() {
  QSettings settings;
  m_modelPath = settings.value(kModelKey).toString();
  m_scoreThreshold = settings.value(kThresholdKey, -1.0).toDouble();  // < 0: the model card's
  m_device = settings.value(kDeviceKey, QStringLiteral("cpu")).toString();
}

void MainWindow::createDetector() {
  m_detector = new DetectionController(this);
  connect(m_detector, &DetectionController::progress, this, &MainWindow::onDetectionProgress);
  connect(m_detector, &DetectionController::finished, this, &MainWindow::onDetectionFinished);
  connect(m_detector, &DetectionController::cancelled, this, [this](const QString& dir) {
    updateDetectionAvailability();
    statusBar()->showMessage(tr("Detection cancelled; the nuclei found so far are kept, and running it again resumes."), 15000);
    refreshResultViews();
    emit detectionStopped(dir, true, QString());
  });
  connect(m_detector, &DetectionController::failed, this, [this](const QString& message) {
    updateDetectionAvailability();
    statusBar()->showMessage(tr("Detection failed"), 15000);
    m_reportError(tr("Detection failed"), message);
    emit detectionStopped(m_detector->request().outputDir, false, message);
  });
  connect(m_detector, &DetectionController::settingsMismatch, this, &MainWindow::onSettingsMismatch);
}

void MainWindow::setModelPath(const QString& modelCard) {
  m_modelPath = modelCard;
  QSettings().setValue(kModelKey, modelCard);
  updateDetectionAvailability();
}

QString MainWindow::modelPath() const {
  return m_modelPath.isEmpty() ? DetectionController::defaultModelPath() : m_modelPath;
}

bool MainWindow::isDetecting() const { return m_detector && m_detector->isRunning(); }

void MainWindow::updateDetectionAvailability() {
  if (!m_runDetection) return;
  const bool running = isDetecting();
  QString why;
  if (!DetectionController::available())
    why = tr("This build has no detection engine (KARYON_BUILD_INFERENCE=OFF).");
  else if (modelPath().isEmpty())
    why = tr("No model: choose one with Analysis \u2192 Model\u2026 or --model (no default model is installed in "
             "resources/models).");
  else if (!m_viewer->hasSlide())
    why = tr("Open a slide first.");
  else if (running)
    why = tr("Detection is running.");
  const bool can = why.isEmpty();
  m_runDetection->setEnabled(can);
  m_detectRegion->setEnabled(can);
  m_cancelDetection->setEnabled(running);
  const QString tip = can ? tr("Detect nuclei with %1").arg(QFileInfo(modelPath()).absoluteFilePath()) : why;
  m_runDetection->setToolTip(tip);
  m_runDetection->setStatusTip(tip);
  m_detectRegion->setToolTip(can ? tr("Drag a rectangle to detect nuclei in it") : why);
  m_progressLabel->setVisible(running);
  m_progressBar->setVisible(running);
  m_cancelButton->setVisible(running);
}

bool MainWindow::runDetection(const std::optional<QRect>& region) {
  if (!m_viewer->hasSlide()) {
    m_reportError(tr("Run Detection"), tr("Open a slide first."));
    return false;
  }
  if (isDetecting()) {
    m_reportError(tr("Run Detection"), tr("Detection is already running; cancel it first."));
    return false;
  }
  const QString model = modelPath();
  if (model.isEmpty()) {
    m_reportError(tr("Run Detection"), tr("No model is installed or chosen: use Analysis \u2192 Model\u2026"));
    return false;
  }
  DetectionRequest request;
  request.slidePath = m_currentPath;
  request.modelPath = model;
  request.regionLevel0 = region;
  request.scoreThreshold = m_scoreThreshold;
  request.device = m_device;
  // Leave a core for the GUI and the display tile readers.
  request.readerThreads = std::max(1, std::min(4, QThread::idealThreadCount() / 2));
  request.outputDir = DetectionController::outputFolderFor(m_currentPath, region);
  // Show the store the run writes to: a region run next to the whole-slide results would otherwise
  // write nuclei the reviewer cannot see. ensureResultsOf() switches once the store exists.
  if (m_session && m_session->storePath() != DetectionController::storePathIn(request.outputDir)) closeResults();
  if (!m_detector->start(request)) return false;
  m_lastHeatmapRefreshMs = 0;
  m_progressBar->setRange(0, 0);
  m_progressLabel->setText(region ? tr("Detecting in region\u2026") : tr("Detecting\u2026"));
  updateDetectionAvailability();
  statusBar()->showMessage(tr("Results go to %1").arg(QDir::toNativeSeparators(request.outputDir)), 10000);
  return true;
}

void MainWindow::cancelDetection() {
  if (!isDetecting()) return;
  m_detector->cancel();
  m_progressLabel->setText(tr("Cancelling\u2026"));
}

void MainWindow::onDetectionProgress(const DetectionProgress& p) {
  if (!isDetecting()) return;  // a late signal of a finished run
  m_progressBar->setRange(0, static_cast<int>(std::max<qint64>(1, p.tilesTotal)));
  m_progressBar->setValue(static_cast<int>(p.tilesDone));
  const qint64 eta = static_cast<qint64>(std::lround(p.etaSeconds));
  m_progressLabel->setText(tr("Tiles %1/%2 \u00b7 %3 nuclei \u00b7 ETA %4:%5")
                               .arg(p.tilesDone)
                               .arg(p.tilesTotal)
                               .arg(p.nuclei)
                               .arg(eta / 60)
                               .arg(eta % 60, 2, 10, QLatin1Char('0')));
  // The store exists once the first tile is committed: show it, and the new nuclei as they come.
  ensureResultsOf(m_detector->request().outputDir);
  const qint64 now = QDateTime::currentMSecsSinceEpoch();
  // The heatmap and the counts are scans of the whole store: every few seconds is enough while
  // tiles arrive.
  const bool heatmap = now - m_lastHeatmapRefreshMs > 3000;
  if (heatmap) m_lastHeatmapRefreshMs = now;
  if (m_overlay) m_overlay->refresh(heatmap);
  if (heatmap && m_session) m_session->refreshStatistics();
  if (heatmap) m_measurements->reload();
}

void MainWindow::ensureResultsOf(const QString& outputDir) {
  const QString store = DetectionController::storePathIn(outputDir);
  if (m_session && m_session->storePath() == store) return;
  if (QFileInfo::exists(store)) openResults(store);
}

void MainWindow::onDetectionFinished(const QString& outputDir, qint64 nuclei, const QStringList& warnings) {
  updateDetectionAvailability();
  ensureResultsOf(outputDir);
  refreshResultViews();
  statusBar()->showMessage(tr("Detection finished: %1 nuclei%2").arg(nuclei).arg(
                               warnings.isEmpty() ? QString() : QStringLiteral(" (") + warnings.join(QStringLiteral("; ")) + QLatin1Char(')')),
                           20000);
  emit detectionFinished(outputDir, nuclei);
}

void MainWindow::onSettingsMismatch(const QString& outputDir, const QString& message) {
  updateDetectionAvailability();
  const QString aside =
      outputDir + QStringLiteral(".previous-") + QDateTime::currentDateTime().toString(QStringLiteral("yyyyMMdd-HHmmss"));
  const bool restart = m_confirm(
      tr("Earlier results"),
      tr("%1 holds results of a run with other settings (model, score threshold or region), which cannot be "
         "continued.\n\nMove them (with their review edits) to\n%2\nand start a new run?")
          .arg(QDir::toNativeSeparators(outputDir), QDir::toNativeSeparators(aside)));
  if (!restart) {
    emit detectionStopped(outputDir, false, message);
    return;
  }
  if (m_session && m_session->storePath() == DetectionController::storePathIn(outputDir)) closeResults();
  if (!QDir().rename(outputDir, aside)) {
    m_reportError(tr("Run Detection"), tr("Cannot move %1 aside to %2").arg(outputDir, aside));
    emit detectionStopped(outputDir, false, message);
    return;
  }
  runDetection(m_detector->request().regionLevel0);
}

void MainWindow::showModelDialog() {
  ModelDialog dialog(m_modelPath, m_scoreThreshold, m_device, QFileInfo(modelPath()).absolutePath(), this);
  if (dialog.exec() != QDialog::Accepted) return;
  setModelPath(dialog.modelPath());
  m_scoreThreshold = dialog.scoreThreshold();
  m_device = dialog.device();
  QSettings().setValue(kThresholdKey, m_scoreThreshold);
  QSettings().setValue(kDeviceKey, m_device);
}

}  // namespace karyon::ui
