#include "karyon/ui/main_window.hpp"

#include <QAction>
#include <QActionGroup>
#include <QCloseEvent>
#include <QDir>
#include <QDockWidget>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QFileDialog>
#include <QFileInfo>
#include <QFutureWatcher>
#include <QGuiApplication>
#include <QLabel>
#include <QMenu>
#include <QMenuBar>
#include <QMessageBox>
#include <QMimeData>
#include <QProgressBar>
#include <QScreen>
#include <QSettings>
#include <QStatusBar>
#include <QStyle>
#include <QTimer>
#include <QToolBar>
#include <QToolButton>
#include <QUndoStack>
#include <QUrl>
#include <QVBoxLayout>
#include <QtConcurrent/QtConcurrentRun>
#include <algorithm>
#include <cmath>
#include <exception>

#include "karyon/core/errors.hpp"
#include "karyon/tiling/slide.hpp"
#include "karyon/ui/detection_controller.hpp"
#include "karyon/ui/image_adjust_dialog.hpp"
#include "karyon/ui/measurement_panel.hpp"
#include "karyon/ui/nucleus_overlay.hpp"
#include "karyon/ui/outline_filter_menus.hpp"
#include "karyon/ui/overview_widget.hpp"
#include "karyon/ui/review_session.hpp"
#include "karyon/ui/shortcuts_dialog.hpp"
#include "karyon/ui/slide_tile_source.hpp"
#include "karyon/ui/slide_viewer.hpp"

namespace karyon::ui {

namespace {
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
  loadDetectionSettings();
  m_outputs = new ResultsFolderOutputs([this] { return isDetecting(); }, this);
  connect(m_outputs, &ResultsFolderOutputs::failed, this, [this](const QString& error) {
    statusBar()->showMessage(tr("Review saved, but the results folder's GeoJSON/CSV could not be updated: %1").arg(error),
                             15000);
  });

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
  createImport();

  createDetector();
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
  m_recent = new RecentFiles(file->addMenu(tr("Open &Recent")), this);
  connect(m_recent, &RecentFiles::openRequested, this, &MainWindow::openSlide);
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
  addOutlineFilterMenus(view, m_overlay.get(), [this] { return m_session ? m_session->classNames() : QStringList(); });
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
    m_recent->remove(path);
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
  m_recent->add(path);
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

QStringList MainWindow::recentFiles() const { return m_recent->files(); }

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

bool MainWindow::isBusy() const {
  return isOpening() || isDetecting() || isExporting() || isImporting() || outputsPending() ||
         (m_overlay && (m_overlay->queryPending() || m_overlay->heatmapPending())) ||
         (m_session && m_session->statisticsPending()) || (m_measurements && m_measurements->isLoading());
}

}  // namespace karyon::ui
