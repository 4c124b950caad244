#pragma once
// Runs karyon::pipeline::analyze_slide for the GUI: on its own QThread, with progress, cancel and
// errors forwarded to the GUI thread as queued signals (the pipeline reports progress on the thread
// that calls it, i.e. the worker; emitting there to receivers on the GUI thread queues the call).
//
// One run at a time. Exactly one of finished(), cancelled() or failed() follows every accepted
// start(). No exception leaves the worker or a slot: engine errors become failed() with the
// engine's message (it names the file and what was wrong).
//
// Output folders (see outputFolderFor()): SLIDE.karyon/ next to the slide, or a folder under
// QStandardPaths::AppDataLocation when the slide's folder is not writable; a region run goes to
// regions/x<X>_y<Y>_w<W>_h<H>/ inside it, so running the same region again resumes it. An existing
// store is resumed (analyze_slide checks that the settings are identical); a store made with other
// settings is reported through settingsMismatch() instead of failed(), so the window can offer to
// keep it aside and start over.
//
// Thread-safety: construct, call and destroy on the GUI thread. Destroying a running controller
// cancels the run and waits for it (the pipeline stops within about one tile).
#include <QObject>
#include <QRect>
#include <QString>
#include <QStringList>
#include <atomic>
#include <memory>
#include <optional>

class QThread;

namespace karyon::ui {

struct DetectionRequest {
  QString slidePath;
  QString outputDir;                // empty: outputFolderFor(slidePath, region)
  QString modelPath;                // model card (JSON)
  std::optional<QRect> regionLevel0;  // level-0 pixels; nullopt = whole slide
  double scoreThreshold = -1;  // < 0: the model card's
  QString device = QStringLiteral("cpu");
  int batchSize = 2;
  int readerThreads = 2;
  int tileSize = 512;
};

struct DetectionProgress {
  qint64 tilesDone = 0;
  qint64 tilesTotal = 0;
  qint64 nuclei = 0;
  double seconds = 0;
  double etaSeconds = 0;
};

class DetectionController : public QObject {
  Q_OBJECT
 public:
  explicit DetectionController(QObject* parent = nullptr);
  ~DetectionController() override;

  // False when this build has no pipeline (KARYON_BUILD_INFERENCE=OFF).
  static bool available();
  // Model to use when the user chose none: $KARYON_MODEL, else the shipped nuclei-default, else the
  // shipped synthetic-test (core::shipped_model_card: found relative to the executable), else empty.
  static QString defaultModelPath();
  // Where results of `slidePath` (and of a region of it) go; see the header comment.
  static QString outputFolderFor(const QString& slidePath, const std::optional<QRect>& regionLevel0 = std::nullopt);
  // The store of a folder from outputFolderFor().
  static QString storePathIn(const QString& outputDir);

  // Starts a run; false (and failed() is NOT emitted) when one is already running.
  bool start(DetectionRequest request);
  void cancel();
  bool isRunning() const { return m_thread != nullptr; }
  const DetectionRequest& request() const { return m_request; }

 signals:
  void progress(karyon::ui::DetectionProgress progress);
  void finished(QString outputDir, qint64 nuclei, QStringList warnings);
  void cancelled(QString outputDir);
  void failed(QString message);
  void settingsMismatch(QString outputDir, QString message);

 private:
  void onThreadFinished();

  DetectionRequest m_request;
  QThread* m_thread = nullptr;
  struct Shared;
  std::shared_ptr<Shared> m_shared;  // cancel token + outcome, shared with the worker
};

}  // namespace karyon::ui

Q_DECLARE_METATYPE(karyon::ui::DetectionProgress)
