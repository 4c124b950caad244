#include "karyon/ui/results_folder_outputs.hpp"

#include <QDebug>
#include <QTimer>
#include <QtConcurrent/QtConcurrentRun>
#include <exception>
#include <filesystem>
#include <vector>

#include "karyon/postprocess/geojson.hpp"
#include "karyon/postprocess/result_store.hpp"

namespace karyon::ui {

namespace {
// The per-nucleus files a detection run writes next to its store (analyze_slide): those present
// are rewritten.
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

ResultsFolderOutputs::ResultsFolderOutputs(std::function<bool()> detecting, QObject* parent)
    : QObject(parent), m_detecting(std::move(detecting)) {}

void ResultsFolderOutputs::schedule() {
  if (m_store.isEmpty()) return;
  if (!m_timer) {
    m_timer = new QTimer(this);
    m_timer->setSingleShot(true);
    m_timer->setInterval(kDelayMs);
    connect(m_timer, &QTimer::timeout, this, &ResultsFolderOutputs::start);
  }
  m_dirty = true;
  m_timer->start();  // a burst of edits (A, N, A, N, ...) is written once
}

void ResultsFolderOutputs::start() {
  if (m_store.isEmpty() || !m_dirty) return;
  // A running detection writes these files itself when it finishes, with every edit in them.
  if (m_detecting()) {
    m_dirty = false;
    return;
  }
  if (m_watcher) return;  // one at a time; the one running starts the next when dirty
  m_dirty = false;
  const std::filesystem::path store = m_store.toStdString();
  auto* watcher = new QFutureWatcher<QString>(this);
  m_watcher = watcher;
  connect(watcher, &QFutureWatcher<QString>::finished, this, [this, watcher] {
    const QString error = watcher->result();
    watcher->deleteLater();
    m_watcher = nullptr;
    if (!error.isEmpty()) emit failed(error);
    if (m_dirty && !(m_timer && m_timer->isActive())) start();
  });
  watcher->setFuture(QtConcurrent::run([store] { return writeNucleusOutputs(store); }));
}

void ResultsFolderOutputs::flush() {
  if (m_watcher) m_watcher->waitForFinished();
  if (m_timer) m_timer->stop();
  if (m_dirty && !m_store.isEmpty() && !m_detecting()) {
    m_dirty = false;
    const QString error = writeNucleusOutputs(m_store.toStdString());
    if (!error.isEmpty()) qWarning().noquote() << "results folder's GeoJSON/CSV not updated:" << error;
  }
  m_dirty = false;
}

bool ResultsFolderOutputs::pending() const { return m_watcher != nullptr || (m_timer && m_timer->isActive()); }

}  // namespace karyon::ui
