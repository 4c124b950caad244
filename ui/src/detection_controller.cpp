#include "karyon/ui/detection_controller.hpp"

#include <QDir>
#include <QFileInfo>
#include <QStandardPaths>
#include <QThread>
#include <exception>
#include <filesystem>
#include <mutex>

#include "karyon/core/errors.hpp"
#include "karyon/core/progress.hpp"
#include "karyon/core/resources.hpp"
#include "karyon/postprocess/results_folder.hpp"
#if KARYON_UI_HAS_PIPELINE
#include "karyon/pipeline/analyze.hpp"
#endif

namespace karyon::ui {

namespace {
enum class Outcome { None, Finished, Cancelled, Failed, Mismatch };
}

struct DetectionController::Shared {
  core::CancelToken cancel;
  std::mutex mutex;  // guards the outcome fields between the worker and the GUI thread
  Outcome outcome = Outcome::None;
  QString message;
  qint64 nuclei = 0;
  QStringList warnings;
};

DetectionController::DetectionController(QObject* parent) : QObject(parent) {
  qRegisterMetaType<karyon::ui::DetectionProgress>();
}

DetectionController::~DetectionController() {
  if (m_thread) {
    m_shared->cancel.cancel();
    m_thread->wait();
    delete m_thread;
    m_thread = nullptr;
  }
}

bool DetectionController::available() { return KARYON_UI_HAS_PIPELINE != 0; }

QString DetectionController::defaultModelPath() {
#if KARYON_UI_HAS_PIPELINE
  try {
    const auto p = pipeline::default_model_path();
    if (!p.empty()) return QString::fromStdString(p.string());
  } catch (...) {
  }
#endif
  const auto synthetic = core::shipped_model_card(core::synthetic_test_model_name);
  return synthetic.empty() ? QString() : QString::fromStdString(synthetic.string());
}

QString DetectionController::outputFolderFor(const QString& slidePath, const std::optional<QRect>& region) {
  std::optional<core::Level0Rect> r;
  if (region) r = core::Level0Rect{region->x(), region->y(), region->width(), region->height()};
  const auto perUser = QStandardPaths::writableLocation(QStandardPaths::AppDataLocation).toStdString();
  return QString::fromStdString(
      postprocess::default_results_folder(slidePath.toStdString(), r, perUser).string());
}

QString DetectionController::storePathIn(const QString& outputDir) {
  return QDir(outputDir).filePath(QStringLiteral("results.sqlite"));
}

bool DetectionController::start(DetectionRequest request) {
  if (m_thread) return false;
  if (request.outputDir.isEmpty()) request.outputDir = outputFolderFor(request.slidePath, request.regionLevel0);
  m_request = request;
  m_shared = std::make_shared<Shared>();
  auto shared = m_shared;
  m_thread = QThread::create([this, shared, request] {
    // Nothing may leave this function: an exception in a QThread's run() terminates the process.
    auto fail = [&](Outcome o, const QString& message) {
      std::lock_guard lock(shared->mutex);
      shared->outcome = o;
      shared->message = message;
    };
    try {
#if KARYON_UI_HAS_PIPELINE
      pipeline::AnalyzeOptions o;
      o.slide = request.slidePath.toStdString();
      o.out_dir = request.outputDir.toStdString();
      o.model = request.modelPath.toStdString();
      o.device = request.device.toStdString();
      o.batch_size = request.batchSize;
      o.reader_threads = request.readerThreads;
      o.tile_size = request.tileSize;
      o.score_threshold = request.scoreThreshold;
      if (request.regionLevel0) {
        const QRect r = *request.regionLevel0;
        o.region = core::Level0Rect{r.x(), r.y(), r.width(), r.height()};
      }
      const bool existing = QFileInfo::exists(storePathIn(request.outputDir));
      o.resume = existing;
      // The progress callback runs here, on the worker; the signal is queued to the GUI thread.
      auto onProgress = [this](const pipeline::AnalyzeProgress& p) {
        emit progress(DetectionProgress{p.tiles_done, p.tiles_total, p.nuclei, p.seconds, p.eta_seconds});
      };
      try {
        const auto summary = pipeline::analyze_slide(o, onProgress, &shared->cancel);
        std::lock_guard lock(shared->mutex);
        shared->outcome = Outcome::Finished;
        shared->nuclei = summary.nuclei;
        for (const auto& w : summary.warnings) shared->warnings << QString::fromStdString(w);
      } catch (const core::SettingsMismatch& e) {
        // analyze_slide refuses to resume a store made with other settings (model, threshold, ...):
        // the window offers to keep it aside rather than showing a dead end.
        fail(Outcome::Mismatch, QString::fromUtf8(e.what()));
      }
#else
      fail(Outcome::Failed, tr("This build of Karyon has no detection engine (built with KARYON_BUILD_INFERENCE=OFF)."));
#endif
    } catch (const core::Cancelled&) {
      fail(Outcome::Cancelled, {});
    } catch (const std::exception& e) {
      fail(Outcome::Failed, QString::fromUtf8(e.what()));
    } catch (...) {
      fail(Outcome::Failed, tr("unknown error during detection"));
    }
  });
  connect(m_thread, &QThread::finished, this, &DetectionController::onThreadFinished, Qt::QueuedConnection);
  m_thread->start();
  return true;
}

void DetectionController::cancel() {
  if (m_shared) m_shared->cancel.cancel();
}

void DetectionController::onThreadFinished() {
  if (!m_thread) return;
  m_thread->wait();
  delete m_thread;
  m_thread = nullptr;
  Outcome outcome;
  QString message;
  qint64 nuclei;
  QStringList warnings;
  {
    std::lock_guard lock(m_shared->mutex);
    outcome = m_shared->outcome;
    message = m_shared->message;
    nuclei = m_shared->nuclei;
    warnings = m_shared->warnings;
  }
  switch (outcome) {
    case Outcome::Finished:
      emit finished(m_request.outputDir, nuclei, warnings);
      break;
    case Outcome::Cancelled:
      emit cancelled(m_request.outputDir);
      break;
    case Outcome::Mismatch:
      emit settingsMismatch(m_request.outputDir, message);
      break;
    case Outcome::Failed:
    case Outcome::None:
      emit failed(message.isEmpty() ? tr("detection stopped without a result") : message);
      break;
  }
}

}  // namespace karyon::ui
