#include "karyon/ui/main_window.hpp"

#include <QAction>
#include <QApplication>
#include <QCloseEvent>
#include <QDir>
#include <QDockWidget>
#include <QDragEnterEvent>
#include <QDropEvent>
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

#include "karyon/core/errors.hpp"
#include "karyon/ui/overview_widget.hpp"
#include "karyon/ui/slide_tile_source.hpp"
#include "karyon/ui/slide_viewer.hpp"

namespace karyon::ui {

namespace {
const QString kRecentKey = QStringLiteral("recentFiles");
// OpenSlide's formats plus the plain images of the fallback.
const char* const kSlideFilter =
    QT_TRANSLATE_NOOP("MainWindow", "Slides (*.svs *.tif *.tiff *.ndpi *.vms *.vmu *.scn *.mrxs *.svslide *.bif "
                                    "*.dcm *.png *.jpg *.jpeg);;All files (*)");
}  // namespace

MainWindow::MainWindow(QWidget* parent) : QMainWindow(parent) {
  setWindowTitle(tr("Karyon"));
  setAcceptDrops(true);
  m_reportError = [this](const QString& title, const QString& message) {
    QMessageBox::critical(this, title, message);
  };

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
  statusBar()->addPermanentWidget(m_loadingLabel);
  statusBar()->addPermanentWidget(m_cursorLabel);
  statusBar()->addPermanentWidget(m_magnificationLabel);

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
  restoreGeometry(settings.value(QStringLiteral("mainWindow/geometry")).toByteArray());
  restoreState(settings.value(QStringLiteral("mainWindow/state")).toByteArray());
  rebuildRecentMenu();
  updateSlideInfo();
  updateViewStatus();
}

MainWindow::~MainWindow() = default;

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

  // EXTENSION POINT (issue 7): detection runs the whole-slide pipeline on a worker thread through a
  // controller in ui/. The pipeline does not exist yet, so the action is visible but disabled.
  QMenu* analysis = menuBar()->addMenu(tr("&Analysis"));
  analysis->setToolTipsVisible(true);
  m_runDetection = analysis->addAction(tr("&Run Detection"));
  m_runDetection->setEnabled(false);
  m_runDetection->setToolTip(tr("needs the whole-slide pipeline (issue 5)"));
  m_runDetection->setStatusTip(tr("Run Detection needs the whole-slide pipeline (issue 5)"));

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
  m_viewer->setSource(std::move(source));
  m_currentPath = path;
  setWindowTitle(tr("%1 \u2014 Karyon").arg(QFileInfo(path).fileName()));
  addRecentFile(path);
  updateSlideInfo();
  updateViewStatus();
  m_viewer->setFocus();
  emit slideOpened(path);
}

void MainWindow::closeSlide() {
  m_viewer->setSource(nullptr);
  m_currentPath.clear();
  setWindowTitle(tr("Karyon"));
  updateSlideInfo();
  updateViewStatus();
}

void MainWindow::showOpenDialog() {
  const QString dir = m_currentPath.isEmpty() ? QDir::homePath() : QFileInfo(m_currentPath).absolutePath();
  const QString path = QFileDialog::getOpenFileName(this, tr("Open Slide"), dir, tr(kSlideFilter));
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
  QSettings settings;
  settings.setValue(QStringLiteral("mainWindow/geometry"), saveGeometry());
  settings.setValue(QStringLiteral("mainWindow/state"), saveState());
  QMainWindow::closeEvent(event);
}

}  // namespace karyon::ui
