#pragma once
// Karyon's main window: the slide viewer in the centre, the overview and slide facts in a dock,
// File (Open, Open Recent, Close), View (zoom, fit, overview) and Analysis menus, and a status bar
// with magnification, cursor position (level-0 px and µm) and loading state.
//
// Slides open from File > Open, drag and drop, the recent-files menu (QSettings "recentFiles") or
// openSlide() (the command line). Opening runs on a worker thread (OpenSlide may read an index for
// seconds on a network share), so the window stays responsive. A slide that cannot be opened is
// reported through the error reporter (a message box by default) with karyon::core::SlideError's
// message; the previous slide, if any, stays open. No exception leaves a slot.
#include <QMainWindow>
#include <QStringList>
#include <functional>
#include <memory>

class QAction;
class QDockWidget;
class QLabel;
class QMenu;

namespace karyon::ui {

class OverviewWidget;
class SlideTileSource;
class SlideViewer;

class MainWindow : public QMainWindow {
  Q_OBJECT
 public:
  static constexpr int kMaxRecentFiles = 10;
  using ErrorReporter = std::function<void(const QString& title, const QString& message)>;

  explicit MainWindow(QWidget* parent = nullptr);
  ~MainWindow() override;

  // Starts opening `path` in the background; emits slideOpened() when it is shown, or reports the
  // error and emits openFailed(). A later call supersedes one still running (its result is dropped).
  void openSlide(const QString& path);
  bool isOpening() const { return m_pendingOpen != nullptr; }
  void closeSlide();
  QString currentPath() const { return m_currentPath; }

  SlideViewer* viewer() const { return m_viewer; }
  OverviewWidget* overview() const { return m_overview; }
  QAction* runDetectionAction() const { return m_runDetection; }
  QStringList recentFiles() const;

  // Replaces the message box (tests, headless runs).
  void setErrorReporter(ErrorReporter reporter) { m_reportError = std::move(reporter); }

 signals:
  void slideOpened(QString path);
  void openFailed(QString path, QString message);

 protected:
  void dragEnterEvent(QDragEnterEvent* event) override;
  void dropEvent(QDropEvent* event) override;
  void closeEvent(QCloseEvent* event) override;

 private:
  void createActions();
  void finishOpen(const QString& path, std::shared_ptr<const SlideTileSource> source, const QString& error);
  void showOpenDialog();
  void rebuildRecentMenu();
  void addRecentFile(const QString& path);
  void removeRecentFile(const QString& path);
  void updateSlideInfo();
  void updateViewStatus();
  void updateCursorStatus(const QPointF& level0);
  void updateLoadingStatus();

  SlideViewer* m_viewer = nullptr;
  OverviewWidget* m_overview = nullptr;
  QDockWidget* m_overviewDock = nullptr;
  QLabel* m_infoLabel = nullptr;
  QLabel* m_magnificationLabel = nullptr;
  QLabel* m_cursorLabel = nullptr;
  QLabel* m_loadingLabel = nullptr;
  QMenu* m_recentMenu = nullptr;
  QAction* m_closeAction = nullptr;
  QAction* m_runDetection = nullptr;
  QString m_currentPath;
  ErrorReporter m_reportError;
  QObject* m_pendingOpen = nullptr;  // watcher of the open in progress; replaced by a newer open
};

}  // namespace karyon::ui
