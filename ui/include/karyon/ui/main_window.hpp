#pragma once
// Karyon's main window: the slide viewer in the centre, the overview and slide facts in a dock,
// File (Open, Open Recent, Close), View (zoom, fit, overview) and Analysis menus, and a status bar
// with magnification, cursor position (level-0 px and µm) and loading state.
//
// Slides open from File > Open, drag and drop, the recent-files menu (QSettings "recentFiles") or
// openSlide() (the command line). A slide that cannot be opened is reported through the error
// reporter (a message box by default) with karyon::core::SlideError's message; the previous slide,
// if any, stays open. No exception leaves a slot.
#include <QMainWindow>
#include <QStringList>
#include <functional>

class QAction;
class QDockWidget;
class QLabel;
class QMenu;

namespace karyon::ui {

class OverviewWidget;
class SlideViewer;

class MainWindow : public QMainWindow {
  Q_OBJECT
 public:
  static constexpr int kMaxRecentFiles = 10;
  using ErrorReporter = std::function<void(const QString& title, const QString& message)>;

  explicit MainWindow(QWidget* parent = nullptr);
  ~MainWindow() override;

  // Opens `path` in the viewer. Returns false (after reporting why) when it cannot be opened.
  bool openSlide(const QString& path);
  void closeSlide();
  QString currentPath() const { return m_currentPath; }

  SlideViewer* viewer() const { return m_viewer; }
  OverviewWidget* overview() const { return m_overview; }
  QAction* runDetectionAction() const { return m_runDetection; }
  QStringList recentFiles() const;

  // Replaces the message box (tests, headless runs).
  void setErrorReporter(ErrorReporter reporter) { m_reportError = std::move(reporter); }

 protected:
  void dragEnterEvent(QDragEnterEvent* event) override;
  void dropEvent(QDropEvent* event) override;
  void closeEvent(QCloseEvent* event) override;

 private:
  void createActions();
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
};

}  // namespace karyon::ui
