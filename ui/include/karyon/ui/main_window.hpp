#pragma once
// Karyon's main window: the slide viewer in the centre, the overview and slide facts in a dock,
// the review dock (counts per state, review queue, selected nucleus, heatmap opacity), File (Open,
// Open Recent, Open Results, Import/Export, Close), Edit (undo/redo), View (zoom, fit, overlay
// colouring), Analysis (Run Detection on the slide or a region, Cancel, Model) and Review (accept A,
// reject R, reclassify C, delete Del, draw D, next N / previous P in the queue) menus, and a status
// bar with magnification, cursor position (level-0 px and µm), loading state and detection progress.
//
// Results: opening a slide opens its results store when one exists (DetectionController::
// outputFolderFor()); a detection run shows nuclei as tiles finish and opens its store. Every review
// edit is written to the store at once (see ReviewSession).
//
// The window's parts live in their own files: main_window.cpp (window, menus, slide, status bar,
// layout), main_window_detection.cpp, main_window_review.cpp, main_window_results.cpp (open, export,
// import); RecentFiles, ModelDialog, ReviewPanel, outline filter menus, results export,
// ResultsFolderOutputs and GeoJsonImport are classes and functions of their own.
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
#include <optional>
#include <QRect>
#include <QSize>

#include "karyon/ui/recent_files.hpp"
#include "karyon/ui/results_folder_outputs.hpp"

class QAction;
class QActionGroup;
class QDockWidget;
class QLabel;
class QProgressBar;
class QTimer;
class QToolButton;

namespace karyon::ui {

class DetectionController;
class GeoJsonImport;
class ImageAdjustDialog;
class MeasurementPanel;
class NucleusOverlay;
class ShortcutsDialog;
class OverviewWidget;
class ReviewPanel;
class ReviewSession;
class SlideTileSource;
class SlideViewer;
struct DetectionProgress;

class MainWindow : public QMainWindow {
  Q_OBJECT
 public:
  static constexpr int kMaxRecentFiles = RecentFiles::kMax;
  using ErrorReporter = std::function<void(const QString& title, const QString& message)>;
  // Yes/no question (a message box by default; tests answer it themselves).
  using Confirmer = std::function<bool(const QString& title, const QString& question)>;

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
  void setConfirmer(Confirmer confirmer) { m_confirm = std::move(confirmer); }

  // Detection. The model: setModelPath() (the Model... dialog, --model; remembered in QSettings),
  // else DetectionController::defaultModelPath(); without one Run Detection is disabled and its
  // tooltip says why.
  void setModelPath(const QString& modelCard);
  QString modelPath() const;
  void setScoreThreshold(double threshold) { m_scoreThreshold = threshold; }
  double scoreThreshold() const { return m_scoreThreshold; }
  // "cpu" (default), "cuda:0", "cuda:all" (the pipeline reports a missing GPU as an error).
  void setDevice(const QString& device) { m_device = device; }
  QString device() const { return m_device; }
  // Starts detection on the whole slide or a level-0 region; false (reported) when it cannot start.
  bool runDetection(const std::optional<QRect>& regionLevel0 = std::nullopt);
  void cancelDetection();
  bool isDetecting() const;
  DetectionController* detector() const { return m_detector; }

  // Results: the store shown and edited (nullptr when none).
  ReviewSession* session() const { return m_session; }
  NucleusOverlay* overlay() const { return m_overlay.get(); }
  bool openResults(const QString& storePath);
  void closeResults();
  // Exports of the current results; kind = "geojson", "csv" or "heatmap" (PNG, or JSON grid when the
  // path ends in .json). Run on a worker thread; exportFinished() tells the outcome, and the status
  // bar how many rejected nuclei were left out (File > Export asks whether to keep them when there
  // are any; left out by default).
  void exportResults(const QString& kind, const QString& path, bool includeRejected = false);
  bool isExporting() const { return m_exporting > 0; }
  // Imports a GeoJSON file (ours or QuPath's) into the current results (created when there are
  // none) without blocking: read on a worker, added in slices between events (GeoJsonImport), the
  // status bar showing the progress. importFinished() or importFailed() (reported, the file named)
  // tell the outcome. False, reported, when it cannot start: no slide, another import running, or
  // results that cannot be created.
  bool importGeoJson(const QString& path);
  bool isImporting() const;

  // Review actions on the selected nucleus (the Review menu and its keys).
  void acceptSelected();
  void rejectSelected();
  void deleteSelected();
  void reclassifySelected(const QString& className);
  void nextInQueue();
  void previousInQueue();
  // Centres the view on nucleus `id` (zooming in to outline level) and selects it.
  void jumpTo(qint64 id);
  // Review > Next After Accept/Reject: after A or R the next nucleus of the review queue is
  // selected and shown. Remembered in QSettings ("review/autoAdvance"); off by default.
  void setAutoAdvance(bool on);
  bool autoAdvance() const;
  // The measurement table dock's panel; the image adjustment and shortcut dialogs (made on first use).
  MeasurementPanel* measurementPanel() const { return m_measurements; }
  ImageAdjustDialog* showImageAdjustDialog();
  ShortcutsDialog* showShortcuts();
  // Nothing in flight: no open, detection, export, import, outline query, heatmap or measurement
  // table scan (screenshots, tests).
  bool isBusy() const;
  // The results folder's nuclei.geojson / nuclei.csv (those a detection run wrote) are rewritten
  // from the store kOutputRefreshDelayMs after the last review edit, on a worker thread, and when
  // the results are closed; true while one is due or being written.
  bool outputsPending() const;
  static constexpr int kOutputRefreshDelayMs = ResultsFolderOutputs::kDelayMs;

 signals:
  void slideOpened(QString path);
  void openFailed(QString path, QString message);
  void resultsOpened(QString storePath);
  void detectionFinished(QString outputDir, qint64 nuclei);
  void detectionStopped(QString outputDir, bool cancelled, QString message);
  void exportFinished(QString path, qint64 count, QString error);
  void importFinished(QString path, qint64 count);
  void importFailed(QString path, QString message);

 protected:
  void dragEnterEvent(QDragEnterEvent* event) override;
  void dropEvent(QDropEvent* event) override;
  void closeEvent(QCloseEvent* event) override;
  void resizeEvent(QResizeEvent* event) override;
  void moveEvent(QMoveEvent* event) override;

 public:
  // Window size on first run (no saved geometry) for a screen of `available` geometry.
  static QSize firstRunSize(const QRect& available);
  // How long after a resize, move or dock change the layout is saved (QSettings).
  static constexpr int kLayoutSaveDelayMs = 500;

 private:
  void applyFirstRunGeometry();
  void applyFirstRunDockSizes();
  void scheduleLayoutSave();
  void saveLayout();
  void createActions();
  void createDetector();
  void createImport();
  void loadDetectionSettings();
  void finishOpen(const QString& path, std::shared_ptr<const SlideTileSource> source, const QString& error);
  void showOpenDialog();
  void updateSlideInfo();
  void updateViewStatus();
  void updateCursorStatus(const QPointF& level0);
  void updateLoadingStatus();
  void createReviewDock();
  void createMeasurementsDock();
  void updateDetectionAvailability();
  void updateReviewDock();
  void onDetectionProgress(const DetectionProgress& progress);
  void onDetectionFinished(const QString& outputDir, qint64 nuclei, const QStringList& warnings);
  void onSettingsMismatch(const QString& outputDir, const QString& message);
  void ensureResultsOf(const QString& outputDir);
  void openResultsOfSlide(const QString& slidePath);
  void showModelDialog();
  void showExportDialog(const QString& kind);
  void showImportDialog();
  void onImportFinished(const QString& path, qint64 count);
  void onImportFailed(const QString& path, const QString& message);
  void refreshResultViews();
  void showOpenResultsDialog();
  void reclassifyWithPicker();
  void setSelectedState(int state);
  // True when a nucleus is selected; else says in the status bar why there is nothing to `verb`.
  bool checkSelection(const QString& verb);
  static constexpr int kHintMs = 6000;

  SlideViewer* m_viewer = nullptr;
  OverviewWidget* m_overview = nullptr;
  QDockWidget* m_overviewDock = nullptr;
  QLabel* m_infoLabel = nullptr;
  QLabel* m_magnificationLabel = nullptr;
  QLabel* m_cursorLabel = nullptr;
  QLabel* m_loadingLabel = nullptr;
  RecentFiles* m_recent = nullptr;
  QAction* m_closeAction = nullptr;
  QAction* m_runDetection = nullptr;
  QAction* m_detectRegion = nullptr;
  QAction* m_cancelDetection = nullptr;
  QAction* m_undo = nullptr;
  QAction* m_redo = nullptr;
  QList<QAction*> m_resultActions;  // enabled only with results open
  QActionGroup* m_colorGroup = nullptr;
  QDockWidget* m_reviewDock = nullptr;
  QDockWidget* m_measurementsDock = nullptr;
  MeasurementPanel* m_measurements = nullptr;
  ImageAdjustDialog* m_imageAdjust = nullptr;
  ShortcutsDialog* m_shortcuts = nullptr;
  QAction* m_autoAdvance = nullptr;
  ReviewPanel* m_reviewPanel = nullptr;
  QProgressBar* m_progressBar = nullptr;
  QLabel* m_progressLabel = nullptr;
  QToolButton* m_cancelButton = nullptr;
  QProgressBar* m_importBar = nullptr;
  GeoJsonImport* m_import = nullptr;
  DetectionController* m_detector = nullptr;
  ReviewSession* m_session = nullptr;
  std::shared_ptr<NucleusOverlay> m_overlay;
  QString m_modelPath;  // chosen by the user; empty = default
  double m_scoreThreshold = -1;  // < 0: the model card's
  QString m_device = QStringLiteral("cpu");
  qint64 m_lastHeatmapRefreshMs = 0;
  int m_exporting = 0;
  QString m_currentPath;
  ErrorReporter m_reportError;
  Confirmer m_confirm;
  QObject* m_pendingOpen = nullptr;  // watcher of the open in progress; replaced by a newer open
  QTimer* m_saveLayoutTimer = nullptr;
  ResultsFolderOutputs* m_outputs = nullptr;
};

}  // namespace karyon::ui
