#pragma once
// The results folder's nuclei.geojson / nuclei.csv (those a detection run wrote next to its store)
// kept in step with the store: rewritten kDelayMs after the last review edit on a worker thread
// (a burst of edits is written once), one write at a time, and at once when the results close.
// Each file goes to PATH.partial first and is renamed, so a reader (QuPath, a script) never sees
// half a file. Not while a detection runs: it writes these files itself when it finishes.
#include <QFutureWatcher>
#include <QObject>
#include <QString>
#include <functional>

class QTimer;

namespace karyon::ui {

class ResultsFolderOutputs : public QObject {
  Q_OBJECT
 public:
  static constexpr int kDelayMs = 1500;

  explicit ResultsFolderOutputs(std::function<bool()> detecting, QObject* parent = nullptr);

  // The store whose folder is kept (empty: none; nothing is scheduled then).
  void setStore(const QString& storePath) { m_store = storePath; }
  // After an edit, undo or redo.
  void schedule();
  // Results closing: waits for a write in progress and writes what is still due, on this thread.
  void flush();
  // True while a write is due or running.
  bool pending() const;

 signals:
  void failed(QString message);  // a write on the worker failed (the store has the edits)

 private:
  void start();

  std::function<bool()> m_detecting;
  QString m_store;
  QTimer* m_timer = nullptr;
  QFutureWatcher<QString>* m_watcher = nullptr;
  bool m_dirty = false;
};

}  // namespace karyon::ui
