#include "karyon/ui/main_window.hpp"

#include <QAction>
#include <QActionGroup>
#include <QApplication>
#include <QComboBox>
#include <QDateTime>
#include <QDebug>
#include <QPointer>
#include <QDialog>
#include <QDialogButtonBox>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QInputDialog>
#include <QLineEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QSlider>
#include <QThread>
#include <QToolButton>
#include <QUndoStack>
#include <QCloseEvent>
#include <QDir>
#include <QDockWidget>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QGuiApplication>
#include <QScreen>
#include <QStyle>
#include <algorithm>
#include <QFileDialog>
#include <QFileInfo>
#include <QFutureWatcher>
#include <QLabel>
#include <QMenu>
#include <QMenuBar>
#include <QMessageBox>
#include <QMimeData>
#include <QSettings>
#include <QStatusBar>
#include <QTimer>
#include <QToolBar>
#include <QUrl>
#include <QVBoxLayout>
#include <QtConcurrent/QtConcurrentRun>
#include <cmath>
#include <exception>
#include <tuple>

#include "karyon/core/errors.hpp"
#include "karyon/postprocess/geojson.hpp"
#include "karyon/postprocess/heatmap.hpp"
#include "karyon/postprocess/nucleus_statistics.hpp"
#include "karyon/tiling/slide.hpp"
#include "karyon/ui/detection_controller.hpp"
#include "karyon/ui/image_adjust_dialog.hpp"
#include "karyon/ui/measurement_panel.hpp"
#include "karyon/ui/nucleus_overlay.hpp"
#include "karyon/ui/overview_widget.hpp"
#include "karyon/ui/review_session.hpp"
#include "karyon/ui/shortcuts_dialog.hpp"
#include "karyon/ui/slide_tile_source.hpp"
#include "karyon/ui/slide_viewer.hpp"

namespace karyon::ui {

namespace {
const QString kRecentKey = QStringLiteral("recentFiles");
const QString kModelKey = QStringLiteral("detection/model");
const QString kThresholdKey = QStringLiteral("detection/scoreThreshold");
const QString kDeviceKey = QStringLiteral("detection/device");
const QString kGeometryKey = QStringLiteral("mainWindow/geometry");
const QString kStateKey = QStringLiteral("mainWindow/state");
const QString kAutoAdvanceKey = QStringLiteral("review/autoAdvance");
// The whole-slide formats plus the plain images of the fallback (tiling's lists, as batch uses).
QString slideFileFilter() {
  QStringList patterns;
  for (const auto* list : {&tiling::whole_slide_extensions(), &tiling::plain_image_extensions()})
    for (const auto& e : *list) patterns << QStringLiteral("*.") + QString::fromStdString(e);
  return MainWindow::tr("Slides (%1);;All files (*)").arg(patterns.join(QLatin1Char(' ')));
}
}  // namespace

MainWindow::MainWindow(QWidget* parent) : QMainWindow(parent) {
  setWindowTitle(tr("Karyon"));
  setAcceptDrops(true);
  m_reportError = [this](const QString& title, const QString& message) {
    QMessageBox::critical(this, title, message);
  };
  m_confirm = [this](const QString& title, const QString& question) {
    return QMessageBox::question(this, title, question) == QMessageBox::Yes;
  };
  {
    QSettings settings;
    m_modelPath = settings.value(kModelKey).toString();
    m_scoreThreshold = settings.value(kThresholdKey, -1.0).toDouble();  // < 0: the model card's
    m_device = settings.value(kDeviceKey, QStringLiteral("cpu")).toString();
  }

  m_viewer = new SlideViewer(this);
  setCentralWidget(m_viewer);

  auto* panel = new QWidget(this);
  auto* layout = new QVBoxLayout(panel);
  layout->setContentsMargins(4, 4, 4, 4);
  m_overview = new OverviewWidget(m_viewer, panel);
  m_infoLabel = new QLabel(panel);
  m_infoLabel->setTextFormat(Qt::RichText);
  m_infoLabel->setAlignment(Qt::AlignTop | Qt::AlignLeft);
  m_infoLabel->setWordWrap(true);
  m_infoLabel->setTextInteractionFlags(Qt::TextSelectableByMouse);
  layout->addWidget(m_overview, 3);
  layout->addWidget(m_infoLabel, 2);
  m_overviewDock = new QDockWidget(tr("Overview"), this);
  m_overviewDock->setObjectName(QStringLiteral("overviewDock"));
  m_overviewDock->setWidget(panel);
  addDockWidget(Qt::RightDockWidgetArea, m_overviewDock);

  m_magnificationLabel = new QLabel(this);
  m_cursorLabel = new QLabel(this);
  m_loadingLabel = new QLabel(this);
  m_magnificationLabel->setMinimumWidth(170);
  m_cursorLabel->setMinimumWidth(260);
  m_progressLabel = new QLabel(this);
  m_progressBar = new QProgressBar(this);
  m_progressBar->setMaximumWidth(160);
  m_cancelButton = new QToolButton(this);
  m_cancelButton->setText(tr("Cancel"));
  m_progressLabel->hide();
  m_progressBar->hide();
  m_cancelButton->hide();
  statusBar()->addPermanentWidget(m_progressLabel);
  statusBar()->addPermanentWidget(m_progressBar);
  statusBar()->addPermanentWidget(m_cancelButton);
  statusBar()->addPermanentWidget(m_loadingLabel);
  statusBar()->addPermanentWidget(m_cursorLabel);
  statusBar()->addPermanentWidget(m_magnificationLabel);

  m_detector = new DetectionController(this);
  connect(m_detector, &DetectionController::progress, this, &MainWindow::onDetectionProgress);
  connect(m_detector, &DetectionController::finished, this, &MainWindow::onDetectionFinished);
  connect(m_detector, &DetectionController::cancelled, this, [this](const QString& dir) {
    updateDetectionAvailability();
    statusBar()->showMessage(tr("Detection cancelled; the nuclei found so far are kept, and running it again resumes."), 15000);
    if (m_overlay) m_overlay->refresh(true);
    if (m_session) m_session->refreshStatistics();
    m_measurements->reload();
    emit detectionStopped(dir, true, QString());
  });
  connect(m_detector, &DetectionController::failed, this, [this](const QString& message) {
    updateDetectionAvailability();
    statusBar()->showMessage(tr("Detection failed"), 15000);
    m_reportError(tr("Detection failed"), message);
    emit detectionStopped(m_detector->request().outputDir, false, message);
  });
  connect(m_detector, &DetectionController::settingsMismatch, this, &MainWindow::onSettingsMismatch);
  connect(m_cancelButton, &QToolButton::clicked, this, &MainWindow::cancelDetection);

  m_overlay = std::make_shared<NucleusOverlay>(m_viewer);
  m_viewer->addOverlay(m_overlay);
  connect(m_overlay.get(), &NucleusOverlay::selectionChanged, this, &MainWindow::updateReviewDock);
  connect(m_overlay.get(), &NucleusOverlay::regionChosen, this, [this](const QRect& r) { runDetection(r); });

  createReviewDock();
  createMeasurementsDock();
  createActions();

  connect(m_viewer, &SlideViewer::viewChanged, this, &MainWindow::updateViewStatus);
  connect(m_viewer, &SlideViewer::cursorMoved, this, &MainWindow::updateCursorStatus);
  connect(m_viewer, &SlideViewer::idle, this, &MainWindow::updateLoadingStatus);
  connect(m_viewer, &SlideViewer::loadError, this, [this](const QString& message) {
    statusBar()->showMessage(tr("Read error: %1").arg(message), 15000);
  });
  // Polling the outstanding count is cheaper than a signal per tile and good enough for a label.
  auto* loadingTimer = new QTimer(this);
  connect(loadingTimer, &QTimer::timeout, this, &MainWindow::updateLoadingStatus);
  loadingTimer->start(200);

  QSettings settings;
  // First run (or settings from elsewhere that do not fit): a window sized for the screen, not the
  // widgets' size hints (which gave a 474 x 544 window with a 170 px slide view).
  const bool restored = restoreGeometry(settings.value(kGeometryKey).toByteArray());
  if (!restored) applyFirstRunGeometry();
  if (!restoreState(settings.value(kStateKey).toByteArray()) || !restored) applyFirstRunDockSizes();
  // The layout is saved a moment after every change, not only on a clean quit, so that a crash or
  // a kill keeps it.
  m_saveLayoutTimer = new QTimer(this);
  m_saveLayoutTimer->setSingleShot(true);
  m_saveLayoutTimer->setInterval(kLayoutSaveDelayMs);
  connect(m_saveLayoutTimer, &QTimer::timeout, this, &MainWindow::saveLayout);
  for (QDockWidget* dock : {m_overviewDock, m_reviewDock, m_measurementsDock}) {
    connect(dock, &QDockWidget::dockLocationChanged, this, &MainWindow::scheduleLayoutSave);
    connect(dock, &QDockWidget::topLevelChanged, this, &MainWindow::scheduleLayoutSave);
    connect(dock, &QDockWidget::visibilityChanged, this, &MainWindow::scheduleLayoutSave);
  }
  rebuildRecentMenu();
  updateSlideInfo();
  updateViewStatus();
}

MainWindow::~MainWindow() {
  // The detection thread first (it may still be writing the store), then the overlay's session.
  delete m_detector;
  m_detector = nullptr;
  closeResults();
  m_viewer->removeOverlay(m_overlay);
}

void MainWindow::createActions() {
  QMenu* file = menuBar()->addMenu(tr("&File"));
  QAction* open = file->addAction(tr("&Open Slide\u2026"), this, &MainWindow::showOpenDialog);
  open->setShortcut(QKeySequence::Open);
  m_recentMenu = file->addMenu(tr("Open &Recent"));
  m_closeAction = file->addAction(tr("&Close Slide"), this, &MainWindow::closeSlide);
  m_closeAction->setShortcut(QKeySequence::Close);
  file->addSeparator();
  QAction* quit = file->addAction(tr("&Quit"), this, &QWidget::close);
  quit->setShortcut(QKeySequence::Quit);

  // Plain + - arrows Home are handled by the viewer itself; the menu gets the Ctrl variants.
  QMenu* view = menuBar()->addMenu(tr("&View"));
  QAction* zoomIn = view->addAction(tr("Zoom &In  (+, wheel)"), m_viewer, &SlideViewer::zoomIn);
  zoomIn->setShortcut(QKeySequence::ZoomIn);
  QAction* zoomOut = view->addAction(tr("Zoom &Out  (-, wheel)"), m_viewer, &SlideViewer::zoomOut);
  zoomOut->setShortcut(QKeySequence::ZoomOut);
  QAction* fit = view->addAction(tr("&Fit Slide  (Home)"), m_viewer, &SlideViewer::fitToWindow);
  fit->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_0));
  view->addSeparator();
  view->addAction(m_overviewDock->toggleViewAction());

  QMenu* edit = new QMenu(tr("&Edit"), this);
  menuBar()->insertMenu(view->menuAction(), edit);
  m_undo = edit->addAction(tr("&Undo"), this, [this] {
    if (m_session) m_session->undoStack()->undo();
  });
  m_undo->setShortcut(QKeySequence::Undo);
  m_redo = edit->addAction(tr("&Redo"), this, [this] {
    if (m_session) m_session->undoStack()->redo();
  });
  m_redo->setShortcut(QKeySequence::Redo);

  view->addSeparator();
  QAction* showNuclei = view->addAction(tr("Show &Nuclei"));
  showNuclei->setCheckable(true);
  showNuclei->setChecked(true);
  showNuclei->setShortcut(QKeySequence(Qt::Key_H));
  connect(showNuclei, &QAction::toggled, this, [this](bool on) { m_overlay->setVisible(on); });
  QMenu* colorBy = view->addMenu(tr("&Colour Outlines By"));
  m_colorGroup = new QActionGroup(this);
  const std::pair<QString, NucleusOverlay::ColorMode> modes[] = {
      {tr("Review &State"), NucleusOverlay::ColorMode::ReviewState},
      {tr("&Class"), NucleusOverlay::ColorMode::Class},
      {tr("S&core"), NucleusOverlay::ColorMode::Score}};
  for (const auto& [label, mode] : modes) {
    QAction* a = colorBy->addAction(label);
    a->setCheckable(true);
    a->setChecked(mode == m_overlay->colorMode());
    a->setData(static_cast<int>(mode));
    m_colorGroup->addAction(a);
    connect(a, &QAction::triggered, this, [this, mode = mode] { m_overlay->setColorMode(mode); });
  }
  view->addAction(m_reviewDock->toggleViewAction());
  view->addAction(m_measurementsDock->toggleViewAction());
  createOutlineFilterMenus(view);
  view->addSeparator();
  QAction* adjust = view->addAction(tr("&Adjust Image (Brightness, Contrast, Gamma)\u2026"), this,
                                    [this] { showImageAdjustDialog(); });
  adjust->setObjectName(QStringLiteral("adjustImageAction"));
  adjust->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_C));

  QMenu* analysis = menuBar()->addMenu(tr("&Analysis"));
  analysis->setToolTipsVisible(true);
  m_runDetection = analysis->addAction(tr("&Run Detection"), this, [this] { runDetection(); });
  m_runDetection->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_R));
  m_detectRegion = analysis->addAction(tr("Detect in &Region\u2026"), this, [this] {
    m_overlay->setTool(NucleusOverlay::Tool::Region);
    statusBar()->showMessage(tr("Drag a rectangle over the slide to detect nuclei in it (Esc cancels)."), 10000);
  });
  m_detectRegion->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_R));
  m_cancelDetection = analysis->addAction(tr("&Cancel Detection"), this, &MainWindow::cancelDetection);
  analysis->addSeparator();
  analysis->addAction(tr("&Model\u2026"), this, &MainWindow::showModelDialog);

  QMenu* review = menuBar()->addMenu(tr("Re&view"));
  // All of them need results (a slide with detections or drawn nuclei): disabled without. Those
  // acting on the selected nucleus stay enabled with nothing selected and say so in the status bar
  // (a key that does nothing silently looks broken).
  auto reviewAction = [&](const QString& name, const QString& text, const QKeySequence& key, auto slot) {
    QAction* a = review->addAction(text, this, slot);
    a->setObjectName(name);
    a->setShortcut(key);
    m_resultActions << a;
    return a;
  };
  reviewAction(QStringLiteral("acceptAction"), tr("&Accept"), QKeySequence(Qt::Key_A), &MainWindow::acceptSelected);
  reviewAction(QStringLiteral("rejectAction"), tr("&Reject"), QKeySequence(Qt::Key_R), &MainWindow::rejectSelected);
  reviewAction(QStringLiteral("reclassifyAction"), tr("Re&classify\u2026"), QKeySequence(Qt::Key_C),
               &MainWindow::reclassifyWithPicker);
  reviewAction(QStringLiteral("deleteAction"), tr("&Delete"), QKeySequence(QKeySequence::Delete), &MainWindow::deleteSelected);
  review->addSeparator();
  reviewAction(QStringLiteral("nextAction"), tr("&Next in Queue (least certain first)"), QKeySequence(Qt::Key_N),
               &MainWindow::nextInQueue);
  reviewAction(QStringLiteral("previousAction"), tr("&Previous in Queue"), QKeySequence(Qt::Key_P),
               &MainWindow::previousInQueue);
  review->addSeparator();
  QAction* draw = reviewAction(QStringLiteral("drawAction"), tr("Dra&w Nucleus"), QKeySequence(Qt::Key_D), [this] {
    m_overlay->setTool(NucleusOverlay::Tool::Draw);
    statusBar()->showMessage(tr("Click the outline's points; double-click or Enter closes it, Backspace removes the last "
                                "point, Esc cancels."), 15000);
  });
  draw->setStatusTip(tr("Draw a nucleus the detector missed"));
  review->addSeparator();
  m_autoAdvance = review->addAction(tr("Next After Accept/Reject"));
  m_autoAdvance->setObjectName(QStringLiteral("autoAdvanceAction"));
  m_autoAdvance->setCheckable(true);
  m_autoAdvance->setChecked(QSettings().value(kAutoAdvanceKey, false).toBool());
  m_autoAdvance->setStatusTip(tr("After Accept (A) or Reject (R), go to the next nucleus of the review queue"));
  connect(m_autoAdvance, &QAction::toggled, this, [](bool on) { QSettings().setValue(kAutoAdvanceKey, on); });

  QMenu* help = menuBar()->addMenu(tr("&Help"));
  QAction* keys = help->addAction(tr("&Keyboard Shortcuts"), this, [this] { showShortcuts(); });
  keys->setObjectName(QStringLiteral("shortcutsAction"));
  // F1 is Help everywhere; ? is what a keyboard user tries first (with or without the Shift that
  // types it).
  keys->setShortcuts({QKeySequence(Qt::Key_F1), QKeySequence(Qt::Key_Question),
                      QKeySequence(Qt::SHIFT | Qt::Key_Question)});

  QMenu* fileMenu = file;
  QAction* quitAction = quit;
  QAction* openResults = new QAction(tr("Open &Results\u2026"), this);
  connect(openResults, &QAction::triggered, this, &MainWindow::showOpenResultsDialog);
  QAction* importAction = new QAction(tr("&Import GeoJSON\u2026"), this);
  importAction->setStatusTip(tr("Add nuclei from a GeoJSON file (QuPath's or Karyon's) to the results as drawn nuclei"));
  connect(importAction, &QAction::triggered, this, &MainWindow::showImportDialog);
  QMenu* exportMenu = new QMenu(tr("&Export"), this);
  m_resultActions << exportMenu->addAction(tr("Nuclei as &GeoJSON (QuPath)\u2026"), this, [this] { showExportDialog(QStringLiteral("geojson")); });
  m_resultActions << exportMenu->addAction(tr("Measurements as &CSV\u2026"), this, [this] { showExportDialog(QStringLiteral("csv")); });
  m_resultActions << exportMenu->addAction(tr("&Heatmap (PNG or JSON)\u2026"), this, [this] { showExportDialog(QStringLiteral("heatmap")); });
  QAction* beforeClose = m_closeAction;
  fileMenu->insertAction(beforeClose, openResults);
  fileMenu->insertAction(beforeClose, importAction);
  fileMenu->insertMenu(beforeClose, exportMenu);
  fileMenu->insertSeparator(beforeClose);
  Q_UNUSED(quitAction);
  m_resultActions << importAction;

  QToolBar* bar = addToolBar(tr("Main"));
  bar->setObjectName(QStringLiteral("mainToolBar"));
  bar->setMovable(false);
  bar->addAction(open);
  bar->addSeparator();
  bar->addAction(zoomOut);
  bar->addAction(zoomIn);
  bar->addAction(fit);
  bar->addSeparator();
  bar->addAction(m_runDetection);
  bar->addAction(m_detectRegion);
  bar->addAction(draw);
  m_detectRegion->setIconText(tr("Region"));
  draw->setIconText(tr("Draw"));
  updateDetectionAvailability();
  updateReviewDock();
  zoomIn->setIconText(tr("Zoom In"));
  zoomOut->setIconText(tr("Zoom Out"));
  fit->setIconText(tr("Fit"));
  open->setIconText(tr("Open"));
}

namespace {
struct OpenResult {
  std::shared_ptr<const SlideTileSource> source;
  QString error;
};
}  // namespace

void MainWindow::openSlide(const QString& path) {
  const QString absolute = QFileInfo(path).absoluteFilePath();
  // Dropping the previous watcher disconnects its result; its task still finishes on the pool (it
  // owns copies of everything it touches) and the slide it opened is closed with the future.
  delete m_pendingOpen;
  auto* watcher = new QFutureWatcher<OpenResult>(this);
  m_pendingOpen = watcher;
  connect(watcher, &QFutureWatcher<OpenResult>::finished, this, [this, watcher, absolute] {
    const OpenResult result = watcher->result();
    watcher->deleteLater();
    m_pendingOpen = nullptr;
    finishOpen(absolute, result.source, result.error);
  });
  statusBar()->showMessage(tr("Opening %1\u2026").arg(QFileInfo(absolute).fileName()));
  watcher->setFuture(QtConcurrent::run([absolute]() -> OpenResult {
    // Nothing may escape into QtConcurrent (it would rethrow in result(), on the GUI thread).
    try {
      return {SlideTileSource::open(absolute), {}};
    } catch (const core::SlideError& e) {
      return {nullptr, QString::fromUtf8(e.what())};
    } catch (const std::exception& e) {
      return {nullptr, QStringLiteral("%1: %2").arg(absolute, QString::fromUtf8(e.what()))};
    } catch (...) {
      return {nullptr, QStringLiteral("%1: unknown error").arg(absolute)};
    }
  }));
}

void MainWindow::finishOpen(const QString& path, std::shared_ptr<const SlideTileSource> source, const QString& error) {
  if (!source) {
    removeRecentFile(path);
    statusBar()->showMessage(tr("Could not open %1").arg(QFileInfo(path).fileName()), 10000);
    m_reportError(tr("Cannot open slide"), error);
    emit openFailed(path, error);
    return;
  }
  statusBar()->clearMessage();
  m_cursorLabel->clear();
  closeResults();
  m_viewer->setSource(std::move(source));
  m_currentPath = path;
  setWindowTitle(tr("%1 \u2014 Karyon").arg(QFileInfo(path).fileName()));
  addRecentFile(path);
  updateSlideInfo();
  updateViewStatus();
  m_viewer->setFocus();
  openResultsOfSlide(path);
  updateDetectionAvailability();
  emit slideOpened(path);
}

void MainWindow::closeSlide() {
  if (isDetecting()) cancelDetection();
  closeResults();
  m_viewer->setSource(nullptr);
  m_currentPath.clear();
  setWindowTitle(tr("Karyon"));
  updateSlideInfo();
  updateViewStatus();
  updateDetectionAvailability();
}

void MainWindow::showOpenDialog() {
  const QString dir = m_currentPath.isEmpty() ? QDir::homePath() : QFileInfo(m_currentPath).absolutePath();
  const QString path = QFileDialog::getOpenFileName(this, tr("Open Slide"), dir, slideFileFilter());
  if (!path.isEmpty()) openSlide(path);
}

QStringList MainWindow::recentFiles() const {
  return QSettings().value(kRecentKey).toStringList();
}

void MainWindow::addRecentFile(const QString& path) {
  QSettings settings;
  QStringList files = settings.value(kRecentKey).toStringList();
  files.removeAll(path);
  files.prepend(path);
  while (files.size() > kMaxRecentFiles) files.removeLast();
  settings.setValue(kRecentKey, files);
  rebuildRecentMenu();
}

void MainWindow::removeRecentFile(const QString& path) {
  QSettings settings;
  QStringList files = settings.value(kRecentKey).toStringList();
  if (files.removeAll(path) > 0) {
    settings.setValue(kRecentKey, files);
    rebuildRecentMenu();
  }
}

void MainWindow::rebuildRecentMenu() {
  m_recentMenu->clear();
  const QStringList files = recentFiles();
  for (int i = 0; i < files.size(); ++i) {
    const QString path = files[i];
    QAction* a = m_recentMenu->addAction(QStringLiteral("&%1  %2").arg(i + 1).arg(QFileInfo(path).fileName()));
    a->setToolTip(path);
    a->setStatusTip(path);
    // openSlide() reports its own errors and drops the entry if the file is gone.
    connect(a, &QAction::triggered, this, [this, path] { openSlide(path); });
  }
  if (!files.isEmpty()) {
    m_recentMenu->addSeparator();
    m_recentMenu->addAction(tr("Clear Menu"), this, [this] {
      QSettings().remove(kRecentKey);
      rebuildRecentMenu();
    });
  }
  m_recentMenu->setEnabled(!files.isEmpty());
}

void MainWindow::updateSlideInfo() {
  const SlideTileSource* s = m_viewer->source();
  m_closeAction->setEnabled(s != nullptr);
  if (!s) {
    m_infoLabel->setText(tr("<i>No slide open.</i>"));
    return;
  }
  const auto& m = s->metadata();
  QString levels;
  for (std::size_t i = 0; i < m.levels.size(); ++i)
    levels += QStringLiteral("<br>&nbsp;&nbsp;%1: %2 \u00d7 %3 (\u00f7%4)")
                  .arg(i)
                  .arg(m.levels[i].width)
                  .arg(m.levels[i].height)
                  .arg(m.levels[i].downsample, 0, 'g', 4);
  const QString mpp = m.mpp_x ? QStringLiteral("%1 \u00d7 %2 (%3)")
                                    .arg(*m.mpp_x, 0, 'f', 4)
                                    .arg(m.mpp_y ? *m.mpp_y : *m.mpp_x, 0, 'f', 4)
                                    .arg(QString::fromStdString(m.mpp_source).toHtmlEscaped())
                              : tr("unknown");
  const QString objective = m.objective_power ? QStringLiteral("%1x").arg(*m.objective_power) : tr("unknown");
  m_infoLabel->setText(tr("<b>%1</b><br>Format: %2<br>Size: %3 \u00d7 %4 px<br>Levels:%5<br>"
                          "\u00b5m/px: %6<br>Objective: %7")
                           .arg(QFileInfo(m_currentPath).fileName().toHtmlEscaped(),
                                QString::fromStdString(m.format).toHtmlEscaped())
                           .arg(m.width())
                           .arg(m.height())
                           .arg(levels, mpp, objective));
}

void MainWindow::updateViewStatus() {
  if (!m_viewer->hasSlide()) {
    m_magnificationLabel->clear();
    m_cursorLabel->clear();
    return;
  }
  const int level = m_viewer->displayLevel();
  m_magnificationLabel->setText(tr("%1   level %2").arg(m_viewer->magnificationText()).arg(level));
}

void MainWindow::updateCursorStatus(const QPointF& level0) {
  const SlideTileSource* s = m_viewer->source();
  if (!s) return;
  const auto& m = s->metadata();
  QString text = tr("x %1, y %2 px").arg(std::floor(level0.x()), 0, 'f', 0).arg(std::floor(level0.y()), 0, 'f', 0);
  if (m.mpp_x && m.mpp_y)
    text += tr("  (%1, %2 \u00b5m)").arg(level0.x() * *m.mpp_x, 0, 'f', 1).arg(level0.y() * *m.mpp_y, 0, 'f', 1);
  m_cursorLabel->setText(text);
}

void MainWindow::updateLoadingStatus() {
  const int n = m_viewer->outstandingRequests();
  m_loadingLabel->setText(n == 0 ? QString() : n == 1 ? tr("Loading 1 tile\u2026") : tr("Loading %1 tiles\u2026").arg(n));
}

void MainWindow::dragEnterEvent(QDragEnterEvent* event) {
  const QMimeData* mime = event->mimeData();
  if (mime->hasUrls() && !mime->urls().isEmpty() && mime->urls().first().isLocalFile())
    event->acceptProposedAction();
}

void MainWindow::dropEvent(QDropEvent* event) {
  const QList<QUrl> urls = event->mimeData()->urls();
  if (urls.isEmpty() || !urls.first().isLocalFile()) return;
  event->acceptProposedAction();
  // Asynchronous: a possible message box comes after the drop has finished, so the drag source is
  // not left waiting on a modal dialog.
  openSlide(urls.first().toLocalFile());
}

void MainWindow::closeEvent(QCloseEvent* event) {
  // Every edit is already in the store; a running detection is cancelled (it resumes next time).
  if (isDetecting()) cancelDetection();
  saveLayout();
  QMainWindow::closeEvent(event);
}

void MainWindow::resizeEvent(QResizeEvent* event) {
  QMainWindow::resizeEvent(event);
  scheduleLayoutSave();
}

void MainWindow::moveEvent(QMoveEvent* event) {
  QMainWindow::moveEvent(event);
  scheduleLayoutSave();
}

void MainWindow::scheduleLayoutSave() {
  // Only a window the user can see has a layout worth keeping (not one being built or torn down).
  if (m_saveLayoutTimer && isVisible()) m_saveLayoutTimer->start();
}

void MainWindow::saveLayout() {
  if (m_saveLayoutTimer) m_saveLayoutTimer->stop();
  QSettings settings;
  settings.setValue(kGeometryKey, saveGeometry());
  settings.setValue(kStateKey, saveState());
}

QSize MainWindow::firstRunSize(const QRect& available) {
  // Most of the screen, as a pathologist would size it themselves; never more than it.
  return QSize(std::max(1, static_cast<int>(available.width() * 0.85)),
               std::max(1, static_cast<int>(available.height() * 0.85)));
}

void MainWindow::applyFirstRunGeometry() {
  const QScreen* screen = QGuiApplication::primaryScreen();
  if (!screen) {
    resize(1400, 900);
    return;
  }
  const QRect available = screen->availableGeometry();
  setGeometry(QStyle::alignedRect(Qt::LeftToRight, Qt::AlignCenter, firstRunSize(available), available));
}

void MainWindow::applyFirstRunDockSizes() {
  // The docks as wide as their contents need and no wider: the slide view gets the rest. The
  // Review dock gets the height its counts, queue and selection need; the Overview the remainder.
  const int dockWidth = std::clamp(width() / 5, 300, 420);
  resizeDocks({m_overviewDock, m_reviewDock}, {dockWidth, dockWidth}, Qt::Horizontal);
  const int review = std::max(m_reviewDock->widget()->sizeHint().height() + 40, height() * 11 / 20);
  resizeDocks({m_overviewDock, m_reviewDock}, {std::max(150, height() - review), review}, Qt::Vertical);
  // The measurement table under the slide view: a few rows and the histogram, the view keeps most.
  resizeDocks({m_measurementsDock}, {std::max(180, height() * 27 / 100)}, Qt::Vertical);
}

// ---- Review dock ---------------------------------------------------------------------------

void MainWindow::createReviewDock() {
  auto* panel = new QWidget(this);
  auto* layout = new QVBoxLayout(panel);
  layout->setContentsMargins(6, 6, 6, 6);
  m_resultsLabel = new QLabel(panel);
  m_resultsLabel->setWordWrap(true);
  m_resultsLabel->setTextInteractionFlags(Qt::TextSelectableByMouse);
  m_countsLabel = new QLabel(panel);
  m_countsLabel->setObjectName(QStringLiteral("reviewCounts"));
  m_countsLabel->setTextFormat(Qt::RichText);
  m_queueLabel = new QLabel(panel);
  m_queueLabel->setObjectName(QStringLiteral("reviewQueue"));
  m_queueLabel->setWordWrap(true);
  auto* queueButtons = new QHBoxLayout;
  auto* prev = new QPushButton(tr("\u2190 Previous (P)"), panel);
  auto* next = new QPushButton(tr("Next (N) \u2192"), panel);
  // Buttons must not take the keyboard focus: A/R/N/P go to the window's shortcuts either way, but
  // arrows and +/- should keep reaching the viewer.
  prev->setFocusPolicy(Qt::NoFocus);
  next->setFocusPolicy(Qt::NoFocus);
  prev->setObjectName(QStringLiteral("previousButton"));
  next->setObjectName(QStringLiteral("nextButton"));
  m_reviewButtons << prev << next;
  connect(prev, &QPushButton::clicked, this, &MainWindow::previousInQueue);
  connect(next, &QPushButton::clicked, this, &MainWindow::nextInQueue);
  queueButtons->addWidget(prev);
  queueButtons->addWidget(next);
  m_selectionLabel = new QLabel(panel);
  m_selectionLabel->setTextFormat(Qt::RichText);
  m_selectionLabel->setWordWrap(true);
  auto* decide = new QHBoxLayout;
  const std::tuple<QString, QString, core::ReviewState> buttons[] = {
      {QStringLiteral("acceptButton"), tr("Accept (A)"), core::ReviewState::Accepted},
      {QStringLiteral("rejectButton"), tr("Reject (R)"), core::ReviewState::Rejected},
      {QStringLiteral("deleteButton"), tr("Delete"), core::ReviewState::Deleted}};
  for (const auto& [name, text, state] : buttons) {
    auto* b = new QPushButton(text, panel);
    b->setObjectName(name);
    b->setFocusPolicy(Qt::NoFocus);
    m_reviewButtons << b;
    connect(b, &QPushButton::clicked, this, [this, state = state] { setSelectedState(static_cast<int>(state)); });
    decide->addWidget(b);
  }
  m_opacitySlider = new QSlider(Qt::Horizontal, panel);
  m_opacitySlider->setRange(0, 100);
  m_opacitySlider->setValue(static_cast<int>(m_overlay->heatmapOpacity() * 100));
  m_opacitySlider->setFocusPolicy(Qt::NoFocus);
  m_opacitySlider->setToolTip(tr("Opacity of the density heatmap shown at low zoom"));
  connect(m_opacitySlider, &QSlider::valueChanged, this, [this](int v) { m_overlay->setHeatmapOpacity(v / 100.0); });
  auto* opacityRow = new QHBoxLayout;
  opacityRow->addWidget(new QLabel(tr("Heatmap opacity"), panel));
  opacityRow->addWidget(m_opacitySlider);

  layout->addWidget(m_resultsLabel);
  layout->addWidget(m_countsLabel);
  layout->addWidget(m_queueLabel);
  layout->addLayout(queueButtons);
  layout->addWidget(m_selectionLabel);
  layout->addLayout(decide);
  layout->addLayout(opacityRow);
  layout->addStretch(1);
  m_reviewDock = new QDockWidget(tr("Review"), this);
  m_reviewDock->setObjectName(QStringLiteral("reviewDock"));
  m_reviewDock->setWidget(panel);
  addDockWidget(Qt::RightDockWidgetArea, m_reviewDock);
}

void MainWindow::createMeasurementsDock() {
  m_measurements = new MeasurementPanel(this);
  connect(m_measurements, &MeasurementPanel::nucleusActivated, this, &MainWindow::jumpTo);
  connect(m_overlay.get(), &NucleusOverlay::selectionChanged, m_measurements, &MeasurementPanel::showNucleus);
  m_measurementsDock = new QDockWidget(tr("Measurements"), this);
  m_measurementsDock->setObjectName(QStringLiteral("measurementsDock"));
  m_measurementsDock->setWidget(m_measurements);
  // The right-hand docks keep the full height (the Review panel's counts stay whole); the table
  // sits under the slide view only.
  setCorner(Qt::BottomRightCorner, Qt::RightDockWidgetArea);
  addDockWidget(Qt::BottomDockWidgetArea, m_measurementsDock);
}

void MainWindow::createOutlineFilterMenus(QMenu* view) {
  QMenu* byState = view->addMenu(tr("Show Outlines by &State"));
  const std::pair<QString, core::ReviewState> states[] = {{tr("&Unreviewed"), core::ReviewState::Unreviewed},
                                                          {tr("&Accepted"), core::ReviewState::Accepted},
                                                          {tr("&Rejected"), core::ReviewState::Rejected},
                                                          {tr("&Drawn"), core::ReviewState::Drawn}};
  for (const auto& [label, state] : states) {
    QAction* a = byState->addAction(label);
    a->setObjectName(QStringLiteral("showState_%1").arg(QString::fromUtf8(core::to_string(state))));
    a->setCheckable(true);
    a->setChecked(m_overlay->isStateShown(state));
    connect(a, &QAction::toggled, this, [this, state = state](bool on) { m_overlay->setStateShown(state, on); });
  }
  m_classFilterMenu = view->addMenu(tr("Show Outlines by C&lass"));
  // The classes change with reclassification and imports: the menu is rebuilt when opened.
  connect(m_classFilterMenu, &QMenu::aboutToShow, this, &MainWindow::rebuildClassFilterMenu);
  rebuildClassFilterMenu();
}

void MainWindow::rebuildClassFilterMenu() {
  m_classFilterMenu->clear();
  QStringList classes = m_session ? m_session->classNames() : QStringList();
  if (classes.isEmpty()) classes << QStringLiteral("Nucleus");
  for (const QString& name : classes) {
    QAction* a = m_classFilterMenu->addAction(QString(name).replace(QLatin1Char('&'), QStringLiteral("&&")));
    a->setObjectName(QStringLiteral("showClass_%1").arg(name));
    a->setCheckable(true);
    a->setChecked(m_overlay->isClassShown(name));
    connect(a, &QAction::toggled, this, [this, name](bool on) { m_overlay->setClassShown(name, on); });
  }
}

void MainWindow::setAutoAdvance(bool on) { m_autoAdvance->setChecked(on); }
bool MainWindow::autoAdvance() const { return m_autoAdvance->isChecked(); }

ImageAdjustDialog* MainWindow::showImageAdjustDialog() {
  if (!m_imageAdjust) m_imageAdjust = new ImageAdjustDialog(m_viewer, this);
  m_imageAdjust->show();
  m_imageAdjust->raise();
  return m_imageAdjust;
}

ShortcutsDialog* MainWindow::showShortcuts() {
  if (!m_shortcuts) m_shortcuts = new ShortcutsDialog(menuBar(), this);
  m_shortcuts->show();
  m_shortcuts->raise();
  return m_shortcuts;
}

void MainWindow::updateReviewDock() {
  const bool has = m_session != nullptr;
  for (QAction* a : m_resultActions) a->setEnabled(has);
  for (QPushButton* b : m_reviewButtons) b->setEnabled(has);
  const qint64 selected = m_overlay ? m_overlay->selected() : 0;
  if (m_undo) {
    m_undo->setEnabled(has && m_session->undoStack()->canUndo());
    m_redo->setEnabled(has && m_session->undoStack()->canRedo());
    m_undo->setText(has && m_session->undoStack()->canUndo() ? tr("&Undo %1").arg(m_session->undoStack()->undoText())
                                                               : tr("&Undo"));
    m_redo->setText(has && m_session->undoStack()->canRedo() ? tr("&Redo %1").arg(m_session->undoStack()->redoText())
                                                               : tr("&Redo"));
  }
  if (!m_countsLabel) return;
  if (!has) {
    m_resultsLabel->setText(tr("<i>No results. Run detection (Analysis menu) or open results.</i>"));
    m_countsLabel->clear();
    m_queueLabel->clear();
    m_selectionLabel->clear();
    return;
  }
  m_resultsLabel->setText(tr("Results: %1").arg(QDir::toNativeSeparators(m_session->storePath())));
  using S = core::ReviewState;
  const auto c = m_session->counts();
  qint64 total = 0;
  for (qint64 v : c) total += v;
  m_countsLabel->setText(
      tr("<table><tr><td>Unreviewed&nbsp;</td><td align=right>%1</td></tr><tr><td>Accepted</td><td align=right>%2</td></tr>"
         "<tr><td>Rejected</td><td align=right>%3</td></tr><tr><td>Deleted</td><td align=right>%4</td></tr>"
         "<tr><td>Drawn</td><td align=right>%5</td></tr><tr><td><b>Total</b></td><td align=right><b>%6</b></td></tr></table>%7")
          .arg(c[int(S::Unreviewed)]).arg(c[int(S::Accepted)]).arg(c[int(S::Rejected)]).arg(c[int(S::Deleted)])
          .arg(c[int(S::Drawn)]).arg(total)
          .arg(m_session->statisticsPending() ? tr("<i>counting\u2026</i>") : QString()));
  // One number that means the same in a session and after a restart: the detections still
  // unreviewed now (not the length of the queue as scanned when the results were opened).
  const qint64 left = m_session->queueRemaining();
  m_queueLabel->setText(left == 0 ? tr("Review queue: no unreviewed nuclei left")
                                  : tr("Review queue (lowest score first): %n unreviewed left", nullptr, static_cast<int>(left)));
  if (selected == 0) {
    m_selectionLabel->setText(tr("<i>Click a nucleus to select it.</i>"));
    return;
  }
  const auto n = m_session->nucleus(selected);
  if (!n) {
    m_selectionLabel->clear();
    return;
  }
  m_selectionLabel->setText(tr("<b>Nucleus %1</b><br>State: %2<br>Class: %3<br>Score: %4<br>Area: %5 \u00b5m\u00b2")
                                .arg(n->id)
                                .arg(QString::fromUtf8(core::to_string(n->state)))
                                .arg(QString::fromStdString(n->class_name).toHtmlEscaped())
                                .arg(n->score, 0, 'f', 3)
                                .arg(n->measurements.area_um2, 0, 'f', 1));
}

// ---- Detection -------------------------------------------------------------------------------

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
  if (m_overlay) m_overlay->refresh(true);
  if (m_session) m_session->refreshStatistics();
  m_measurements->reload();
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
  QDialog dialog(this);
  dialog.setWindowTitle(tr("Detection Model"));
  auto* form = new QFormLayout(&dialog);
  auto* path = new QLineEdit(m_modelPath, &dialog);
  path->setPlaceholderText(DetectionController::defaultModelPath().isEmpty()
                               ? tr("no default model installed")
                               : tr("default: %1").arg(DetectionController::defaultModelPath()));
  auto* browse = new QPushButton(tr("Browse\u2026"), &dialog);
  connect(browse, &QPushButton::clicked, &dialog, [&] {
    const QString f = QFileDialog::getOpenFileName(&dialog, tr("Model card"), QFileInfo(modelPath()).absolutePath(),
                                                   tr("Model cards (*.json)"));
    if (!f.isEmpty()) path->setText(f);
  });
  auto* row = new QHBoxLayout;
  row->addWidget(path);
  row->addWidget(browse);
  form->addRow(tr("Model card:"), row);
  auto* threshold = new QDoubleSpinBox(&dialog);
  threshold->setRange(-0.05, 0.99);  // the minimum stands for "the model card's threshold"
  threshold->setSingleStep(0.05);
  threshold->setSpecialValueText(tr("model card's"));
  threshold->setValue(m_scoreThreshold < 0 ? -0.05 : m_scoreThreshold);
  form->addRow(tr("Score threshold:"), threshold);
  auto* device = new QComboBox(&dialog);
  device->setEditable(true);
  device->addItems({QStringLiteral("cpu"), QStringLiteral("cuda:0"), QStringLiteral("cuda:all")});
  device->setCurrentText(m_device);
  form->addRow(tr("Device:"), device);
  auto* buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, &dialog);
  connect(buttons, &QDialogButtonBox::accepted, &dialog, &QDialog::accept);
  connect(buttons, &QDialogButtonBox::rejected, &dialog, &QDialog::reject);
  form->addRow(buttons);
  if (dialog.exec() != QDialog::Accepted) return;
  setModelPath(path->text().trimmed());
  m_scoreThreshold = threshold->value() < 0 ? -1.0 : threshold->value();
  m_device = device->currentText().trimmed().isEmpty() ? QStringLiteral("cpu") : device->currentText().trimmed();
  QSettings().setValue(kThresholdKey, m_scoreThreshold);
  QSettings().setValue(kDeviceKey, m_device);
}

// ---- Results --------------------------------------------------------------------------------

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
  connect(m_session, &ReviewSession::edited, this, &MainWindow::scheduleOutputRefresh);
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
  finishOutputRefresh();
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
  struct Outcome {
    qint64 count = 0;
    qint64 rejectedLeftOut = 0;
    QString error;
  };
  auto* watcher = new QFutureWatcher<Outcome>(this);
  connect(watcher, &QFutureWatcher<Outcome>::finished, this, [this, watcher, path] {
    watcher->deleteLater();
    --m_exporting;
    const Outcome o = watcher->result();
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
  watcher->setFuture(QtConcurrent::run([=]() -> Outcome {
    Outcome o;
    try {
      // Own connection on the worker: millions of nuclei stream out while the reviewer keeps working.
      postprocess::ResultStore s(store);
      if (kind == QLatin1String("geojson") || kind == QLatin1String("csv")) {
        o.count = kind == QLatin1String("csv") ? postprocess::export_csv(s, target, options)
                                               : postprocess::export_geojson(s, target, options);
        // Counted on the same connection as the export, so the two numbers agree.
        if (!options.include_rejected)
          o.rejectedLeftOut = postprocess::count_by_class_and_state(s).per_state[static_cast<int>(core::ReviewState::Rejected)];
      } else {
        if (width <= 0) throw core::InvalidArgument("the heatmap needs the slide open (its size)");
        const auto grid = postprocess::compute_heatmap(s, width, height, mx, my, 100);
        if (target.extension() == ".json")
          postprocess::write_heatmap_json(grid, target);
        else
          postprocess::write_heatmap_png(grid, target);
        o.count = static_cast<qint64>(grid.cols) * grid.rows;
      }
    } catch (const std::exception& e) {
      o.error = QString::fromUtf8(e.what());
    }
    return o;
  }));
}

void MainWindow::showImportDialog() {
  const QString dir = m_currentPath.isEmpty() ? QDir::homePath() : QFileInfo(m_currentPath).absolutePath();
  const QString path = QFileDialog::getOpenFileName(this, tr("Import GeoJSON"), dir,
                                                    tr("GeoJSON (*.geojson *.json *.geojson.gz);;All files (*)"));
  if (!path.isEmpty()) importGeoJson(path);
}

qint64 MainWindow::importGeoJson(const QString& path) {
  if (!m_session) {
    if (m_currentPath.isEmpty()) {
      m_reportError(tr("Import GeoJSON"), tr("Open a slide first."));
      return -1;
    }
    // No results yet: the imported nuclei start the slide's store (a later detection run on the
    // whole slide then offers to keep them aside, as for any store it cannot continue).
    const QString dir = DetectionController::outputFolderFor(m_currentPath);
    QDir().mkpath(dir);
    if (!openResults(DetectionController::storePathIn(dir))) return -1;
  }
  try {
    const qint64 n = postprocess::import_geojson(m_session->store(), path.toStdString(), m_session->mppX(),
                                                 m_session->user().toStdString());
    scheduleOutputRefresh();
    m_overlay->refresh(true);
    m_session->refreshStatistics();
    m_measurements->reload();
    statusBar()->showMessage(tr("Imported %1 nuclei from %2").arg(n).arg(QFileInfo(path).fileName()), 15000);
    return n;
  } catch (const std::exception& e) {
    m_reportError(tr("Import failed"), QString::fromUtf8(e.what()));
    return -1;
  }
}

// ---- Review ---------------------------------------------------------------------------------

bool MainWindow::checkSelection(const QString& verb) {
  if (!m_session) {
    statusBar()->showMessage(tr("Nothing to %1: open a slide with results first.").arg(verb), kHintMs);
    return false;
  }
  if (!m_overlay->selected()) {
    statusBar()->showMessage(
        tr("Nothing to %1: no nucleus is selected. Click one, or press N for the next in the review queue.").arg(verb),
        kHintMs);
    return false;
  }
  return true;
}

void MainWindow::setSelectedState(int state) {
  const auto s = static_cast<core::ReviewState>(state);
  if (!checkSelection(s == core::ReviewState::Accepted ? tr("accept")
                      : s == core::ReviewState::Rejected ? tr("reject")
                                                          : tr("delete")))
    return;
  const bool saved = m_session->setState(m_overlay->selected(), s);
  // A reviewer walking the queue decides and moves on with one key.
  if (saved && autoAdvance() && (s == core::ReviewState::Accepted || s == core::ReviewState::Rejected)) nextInQueue();
  updateReviewDock();
}

void MainWindow::acceptSelected() { setSelectedState(static_cast<int>(core::ReviewState::Accepted)); }
void MainWindow::rejectSelected() { setSelectedState(static_cast<int>(core::ReviewState::Rejected)); }
void MainWindow::deleteSelected() { setSelectedState(static_cast<int>(core::ReviewState::Deleted)); }

void MainWindow::reclassifySelected(const QString& className) {
  if (!checkSelection(tr("reclassify"))) return;
  m_session->setClass(m_overlay->selected(), className);
  updateReviewDock();
}

void MainWindow::reclassifyWithPicker() {
  if (!checkSelection(tr("reclassify"))) return;
  const auto n = m_session->nucleus(m_overlay->selected());
  if (!n) return;
  const QStringList classes = m_session->classNames();
  bool ok = false;
  const QString chosen = QInputDialog::getItem(this, tr("Reclassify"), tr("Class (type a new one if needed):"), classes,
                                               std::max(0, static_cast<int>(classes.indexOf(QString::fromStdString(n->class_name)))),
                                               true, &ok);
  if (ok && !chosen.trimmed().isEmpty()) reclassifySelected(chosen);
}

void MainWindow::jumpTo(qint64 id) {
  if (!m_session || !id) return;
  const auto n = m_session->nucleus(id);
  if (!n) return;
  // Close enough to judge a nucleus: a ~10 µm nucleus spans ~40 screen pixels at 0.25 µm/px.
  if (m_viewer->downsample() > 1.0) m_viewer->setDownsample(1.0);
  m_viewer->centerOn(QPointF(n->centroid.x, n->centroid.y));
  m_overlay->select(id);
  updateReviewDock();
}

void MainWindow::nextInQueue() {
  if (!m_session) return;
  const qint64 id = m_session->nextInQueue();
  if (id)
    jumpTo(id);
  else
    statusBar()->showMessage(tr("No more unreviewed nuclei in the queue."), 5000);
  updateReviewDock();
}

void MainWindow::previousInQueue() {
  if (!m_session) return;
  if (const qint64 id = m_session->previousInQueue()) jumpTo(id);
  updateReviewDock();
}

bool MainWindow::isBusy() const {
  return isOpening() || isDetecting() || isExporting() || outputsPending() ||
         (m_overlay && (m_overlay->queryPending() || m_overlay->heatmapPending())) ||
         (m_session && m_session->statisticsPending()) || (m_measurements && m_measurements->isLoading());
}

// ---- The results folder's exports, kept in step with the store ------------------------------

namespace {
// The per-nucleus files a detection run writes next to its store (analyze_slide): those present
// are rewritten after review edits. Each export goes to PATH.partial and is renamed, so a reader
// (QuPath, a script) never sees half a file.
std::vector<std::filesystem::path> nucleusOutputsNextTo(const std::filesystem::path& store) {
  std::vector<std::filesystem::path> out;
  for (const char* name : {"nuclei.geojson", "nuclei.geojson.gz", "nuclei.csv"}) {
    const auto p = store.parent_path() / name;
    std::error_code ec;
    if (std::filesystem::is_regular_file(p, ec)) out.push_back(p);
  }
  return out;
}

QString writeNucleusOutputs(const std::filesystem::path& store) {
  try {
    const postprocess::ResultStore s(store);  // its own connection: this runs on a pool thread
    for (const auto& p : nucleusOutputsNextTo(store)) {
      if (p.extension() == ".csv")
        postprocess::export_csv(s, p);
      else
        postprocess::export_geojson(s, p);
    }
    return {};
  } catch (const std::exception& e) {
    return QString::fromUtf8(e.what());
  }
}
}  // namespace

void MainWindow::scheduleOutputRefresh() {
  if (!m_session) return;
  if (!m_outputsTimer) {
    m_outputsTimer = new QTimer(this);
    m_outputsTimer->setSingleShot(true);
    m_outputsTimer->setInterval(kOutputRefreshDelayMs);
    connect(m_outputsTimer, &QTimer::timeout, this, &MainWindow::startOutputRefresh);
  }
  m_outputsDirty = true;
  m_outputsTimer->start();  // a burst of edits (A, N, A, N, ...) is written once
}

void MainWindow::startOutputRefresh() {
  if (!m_session || !m_outputsDirty) return;
  // A running detection writes these files itself when it finishes, with every edit in them.
  if (isDetecting()) {
    m_outputsDirty = false;
    return;
  }
  if (m_outputsWatcher) return;  // one at a time; the one running starts the next when dirty
  m_outputsDirty = false;
  const std::filesystem::path store = m_session->storePath().toStdString();
  auto* watcher = new QFutureWatcher<QString>(this);
  m_outputsWatcher = watcher;
  connect(watcher, &QFutureWatcher<QString>::finished, this, [this, watcher] {
    const QString error = watcher->result();
    watcher->deleteLater();
    m_outputsWatcher = nullptr;
    if (!error.isEmpty())
      statusBar()->showMessage(tr("Review saved, but the results folder's GeoJSON/CSV could not be updated: %1").arg(error),
                               15000);
    if (m_outputsDirty && !(m_outputsTimer && m_outputsTimer->isActive())) startOutputRefresh();
  });
  watcher->setFuture(QtConcurrent::run([store] { return writeNucleusOutputs(store); }));
}

void MainWindow::finishOutputRefresh() {
  if (m_outputsWatcher) m_outputsWatcher->waitForFinished();
  if (m_outputsTimer) m_outputsTimer->stop();
  if (m_outputsDirty && m_session && !isDetecting()) {
    m_outputsDirty = false;
    const QString error = writeNucleusOutputs(m_session->storePath().toStdString());
    if (!error.isEmpty()) qWarning().noquote() << "results folder's GeoJSON/CSV not updated:" << error;
  }
  m_outputsDirty = false;
}

bool MainWindow::outputsPending() const {
  return m_outputsWatcher != nullptr || (m_outputsTimer && m_outputsTimer->isActive());
}

}  // namespace karyon::ui
