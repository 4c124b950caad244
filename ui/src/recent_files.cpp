#include "karyon/ui/recent_files.hpp"

#include <QAction>
#include <QFileInfo>
#include <QMenu>
#include <QSettings>

namespace karyon::ui {

namespace {
const QString kRecentKey = QStringLiteral("recentFiles");
}  // namespace

RecentFiles::RecentFiles(QMenu* menu, QObject* parent) : QObject(parent), m_menu(menu) { rebuildMenu(); }

QStringList RecentFiles::files() const { return QSettings().value(kRecentKey).toStringList(); }

void RecentFiles::add(const QString& path) {
  QSettings settings;
  QStringList files = settings.value(kRecentKey).toStringList();
  files.removeAll(path);
  files.prepend(path);
  while (files.size() > kMax) files.removeLast();
  settings.setValue(kRecentKey, files);
  rebuildMenu();
}

void RecentFiles::remove(const QString& path) {
  QSettings settings;
  QStringList files = settings.value(kRecentKey).toStringList();
  if (files.removeAll(path) > 0) {
    settings.setValue(kRecentKey, files);
    rebuildMenu();
  }
}

void RecentFiles::rebuildMenu() {
  m_menu->clear();
  const QStringList list = files();
  for (int i = 0; i < list.size(); ++i) {
    const QString path = list[i];
    QAction* a = m_menu->addAction(QStringLiteral("&%1  %2").arg(i + 1).arg(QFileInfo(path).fileName()));
    a->setToolTip(path);
    a->setStatusTip(path);
    // The window's openSlide() reports its own errors and drops the entry if the file is gone.
    connect(a, &QAction::triggered, this, [this, path] { emit openRequested(path); });
  }
  if (!list.isEmpty()) {
    m_menu->addSeparator();
    m_menu->addAction(tr("Clear Menu"), this, [this] {
      QSettings().remove(kRecentKey);
      rebuildMenu();
    });
  }
  m_menu->setEnabled(!list.isEmpty());
}

}  // namespace karyon::ui
