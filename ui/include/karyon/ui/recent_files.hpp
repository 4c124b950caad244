#pragma once
// The recently opened slides (QSettings "recentFiles", newest first, at most kMax) and the File >
// Open Recent menu made from them; choosing an entry emits openRequested(). A slide that no longer
// opens is removed by the window (remove()).
#include <QObject>
#include <QStringList>

class QMenu;

namespace karyon::ui {

class RecentFiles : public QObject {
  Q_OBJECT
 public:
  static constexpr int kMax = 10;

  // Fills `menu` (the caller's) now and after every change.
  explicit RecentFiles(QMenu* menu, QObject* parent = nullptr);

  QStringList files() const;
  void add(const QString& path);
  void remove(const QString& path);

 signals:
  void openRequested(QString path);

 private:
  void rebuildMenu();

  QMenu* m_menu;
};

}  // namespace karyon::ui
